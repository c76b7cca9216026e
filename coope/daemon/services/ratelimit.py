"""Login failure limiting: sliding windows of failures per account and per client address.

The two are counted separately, with different limits. An account locks after a few failures
from anywhere, so guessing one password spread over many addresses is stopped, and it locks only
that account: other people behind the same address (a NAT, a reverse proxy) still log in. An
address locks only after many failures across any accounts, which stops one source from trying
a few passwords on each of many names.

A locked account stays locked for the addresses its failures came from. Any other address gets
one try per window: its owner, typing the right password, is not locked out by someone else's
guessing, while a guesser gains one guess per address (and each address has its own limit).
Unknown usernames are counted and locked exactly like real ones, so the answer never tells
whether an account exists.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections import deque

from coope.core.errors import RateLimited
from coope.daemon.clock import Clock

_SWEEP_ABOVE = 10_000
# Without a configured address limit: this many accounts' worth of failures.
_ADDRESS_FACTOR = 10


class FailureLog(ABC):
    """When each key failed lately: in this process, or where every daemon of a service sees
    it (`coope/daemon/shared_redis.py`), so that guesses spread over the daemons add up."""

    @abstractmethod
    async def since(self, key: str, start: float) -> list[float]:
        """The key's failures after `start`, oldest first (older ones are forgotten)."""

    @abstractmethod
    async def add(self, key: str, when: float, keep_s: float) -> None:
        """Record a failure, kept at least `keep_s` seconds."""

    @abstractmethod
    async def clear(self, key: str) -> None: ...

    @abstractmethod
    async def aclose(self) -> None:
        """Let go of what the log holds open."""


class MemoryFailureLog(FailureLog):
    """The failures this daemon saw, in its memory."""

    def __init__(self) -> None:
        self._failures: dict[str, deque[float]] = {}

    async def since(self, key: str, start: float) -> list[float]:
        failures = self._failures.get(key)
        if failures is None:
            return []
        while failures and failures[0] <= start:
            failures.popleft()
        if not failures:
            del self._failures[key]
        return list(failures)

    async def add(self, key: str, when: float, keep_s: float) -> None:
        if len(self._failures) > _SWEEP_ABOVE:
            # Guessing many different usernames must not grow memory without bound.
            for old in list(self._failures):
                await self.since(old, when - keep_s)
        self._failures.setdefault(key, deque()).append(when)

    async def clear(self, key: str) -> None:
        self._failures.pop(key, None)

    async def aclose(self) -> None:
        """Memory holds nothing open."""


class _Window:
    """At most `max_failures` failures per key within `window_s`, under keys `kind:key`."""

    def __init__(self, log: FailureLog, kind: str, max_failures: int, window_s: float) -> None:
        self._log = log
        self._kind = kind
        self._max = max_failures
        self._window = window_s

    async def wait(self, key: str, now: float) -> float:
        """Seconds until `key` may try again (0 if it may now)."""
        failures = await self._log.since(f"{self._kind}:{key}", now - self._window)
        if len(failures) < self._max:
            return 0.0
        return failures[-self._max] + self._window - now

    async def fail(self, key: str, now: float) -> None:
        await self._log.add(f"{self._kind}:{key}", now, self._window)

    async def clear(self, key: str) -> None:
        await self._log.clear(f"{self._kind}:{key}")

    async def failed_lately(self, key: str, now: float) -> bool:
        """Any failure of `key` still in the window?"""
        return bool(await self._log.since(f"{self._kind}:{key}", now - self._window))


class FailureLimiter:
    """Allows `max_failures` failed logins per account and `address_max_failures` per client
    address within `window_s`; over either, refuses until the oldest failure leaves the window."""

    def __init__(
        self,
        clock: Clock,
        max_failures: int,
        window_s: float,
        *,
        address_max_failures: int | None = None,
        log: FailureLog | None = None,
    ) -> None:
        self._clock = clock
        log = log or MemoryFailureLog()
        self._accounts = _Window(log, "account", max_failures, window_s)
        self._addresses = _Window(
            log, "address", address_max_failures or _ADDRESS_FACTOR * max_failures, window_s
        )
        self._pairs = _Window(log, "pair", max_failures, window_s)  # one account, one address

    async def check(self, account: str, address: str) -> None:
        """Raise `RateLimited` with a Retry-After if the address is locked, or the account is
        and this address is one of those that failed on it."""
        now = self._clock.now()
        account_wait = await self._accounts.wait(account, now)
        if not await self._pairs.failed_lately(_pair(account, address), now):
            account_wait = 0.0  # a try from an address that has not failed on this account
        address_wait = await self._addresses.wait(address, now)
        if account_wait <= 0 and address_wait <= 0:
            return
        if account_wait >= address_wait:
            message = "too many failed logins for this account: try again later"
        else:
            message = "too many failed logins from your address: try again later"
        wait = max(account_wait, address_wait)
        raise RateLimited(message, retry_after=max(1, math.ceil(wait)))

    async def fail(self, account: str, address: str) -> None:
        now = self._clock.now()
        await self._accounts.fail(account, now)
        await self._addresses.fail(address, now)
        await self._pairs.fail(_pair(account, address), now)

    async def succeeded(self, account: str, address: str) -> None:
        """A correct password forgives the account's earlier failures (not the address's)."""
        await self._accounts.clear(account)
        await self._pairs.clear(_pair(account, address))


def _pair(account: str, address: str) -> str:
    return f"{account}\x00{address}"  # NUL: in neither a username nor an address
