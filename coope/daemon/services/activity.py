"""When each user was last active: any authenticated request, or a live connection.

Every request with a valid credential counts, so a person who only uses the CLI reads as
"active 2 min ago" to their friends. A request must not cost a database write: the time is
kept in memory and written at most once a minute per user, so a daemon that stops loses at
most the last minute of it. The transport tells it which user a request was authenticated as.
"""

from __future__ import annotations

from coope.daemon.clock import Clock
from coope.daemon.storage import Storage

PERSIST_EVERY_S = 60.0
"""At most one write of a user's last activity per this many seconds."""


class Activity:
    def __init__(self, storage: Storage, clock: Clock) -> None:
        self._storage = storage
        self._clock = clock
        self._last: dict[int, float] = {}
        self._persisted: dict[int, float] = {}

    def last(self, user_id: int, stored: float | None) -> float | None:
        """The user's last activity: what this daemon saw, or else what was stored."""
        seen = self._last.get(user_id)
        if seen is None or (stored is not None and stored > seen):
            return stored
        return seen

    async def touch(self, user_id: int) -> None:
        """The user is active now."""
        now = self._clock.now()
        self._last[user_id] = max(now, self._last.get(user_id, now))
        if now - self._persisted.get(user_id, float("-inf")) >= PERSIST_EVERY_S:
            self._persisted[user_id] = now
            await self._storage.set_last_active(user_id, now)

    def forget(self, user_id: int) -> None:
        """Drop what is held of a deleted account."""
        self._last.pop(user_id, None)
        self._persisted.pop(user_id, None)

    async def flush(self) -> None:
        """Write every last activity not written yet (when the daemon stops)."""
        for user_id, when in list(self._last.items()):
            if self._persisted.get(user_id) != when:
                self._persisted[user_id] = when
                await self._storage.set_last_active(user_id, when)
