"""Login failure limiting: a sliding window of failures per key (username, client address)."""

from __future__ import annotations

import math
from collections import deque

from coope.core.errors import RateLimited
from coope.daemon.clock import Clock

_SWEEP_ABOVE = 10_000


class FailureLimiter:
    """Allows `max_failures` failures per key within `window_s`; after that, refuses until the
    oldest failure leaves the window."""

    def __init__(self, clock: Clock, max_failures: int, window_s: float) -> None:
        self._clock = clock
        self._max = max_failures
        self._window = window_s
        self._failures: dict[str, deque[float]] = {}

    def check(self, *keys: str) -> None:
        """Raise `RateLimited` with a Retry-After if any key is over its limit."""
        now = self._clock.now()
        wait = max((self._wait(key, now) for key in keys), default=0.0)
        if wait > 0:
            raise RateLimited(
                "too many failed logins: try again later", retry_after=max(1, math.ceil(wait))
            )

    def fail(self, *keys: str) -> None:
        now = self._clock.now()
        if len(self._failures) > _SWEEP_ABOVE:
            # Guessing many different usernames must not grow memory without bound.
            for key in list(self._failures):
                self._wait(key, now)
        for key in keys:
            self._failures.setdefault(key, deque()).append(now)

    def clear(self, key: str) -> None:
        self._failures.pop(key, None)

    def _wait(self, key: str, now: float) -> float:
        failures = self._failures.get(key)
        if not failures:
            return 0.0
        while failures and failures[0] <= now - self._window:
            failures.popleft()
        if not failures:
            del self._failures[key]
            return 0.0
        if len(failures) < self._max:
            return 0.0
        return failures[-self._max] + self._window - now
