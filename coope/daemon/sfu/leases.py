"""Which daemon a room's call lives on: a lease per room, held by one daemon at a time.

The daemon that holds a room's lease runs its call (its SFU forwards the media); the others
relay their participants' signalling to it (`routing`). A lease lapses `ttl_s` after its
holder last kept it, so the calls of a daemon that died are free again within that time. One
daemon alone (`MemoryCallLeases`) holds every lease; daemons serving as one share them in Redis
(`shared_redis.RedisCallLeases`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable


class CallLeases(ABC):
    # This daemon's name among those serving as one (what a lease it holds says).
    node: str
    ttl_s: float

    @abstractmethod
    async def claim(self, room_id: int) -> str:
        """The daemon the room's call lives on: this one if the lease was free (it holds it
        from now on) or already its own, else the holder. Raises `Unavailable`."""

    @abstractmethod
    async def holders(self, room_ids: Iterable[int]) -> dict[int, str]:
        """Who holds each of these rooms' leases (rooms nobody holds are left out). Raises
        `Unavailable`."""

    @abstractmethod
    async def keep(self, room_ids: Iterable[int]) -> set[int]:
        """Keep this daemon's leases of these rooms for another `ttl_s`; the rooms whose lease
        it no longer holds. Raises `Unavailable`."""

    @abstractmethod
    async def release(self, room_id: int) -> None:
        """Give up the lease, if this daemon holds it."""

    @abstractmethod
    async def aclose(self) -> None: ...


class MemoryCallLeases(CallLeases):
    """One daemon: every call lives here."""

    node = "local"
    ttl_s = 3.0

    async def claim(self, room_id: int) -> str:
        return self.node

    async def holders(self, room_ids: Iterable[int]) -> dict[int, str]:
        return {}  # every call is this daemon's own: nothing to look up elsewhere

    async def keep(self, room_ids: Iterable[int]) -> set[int]:
        return set()

    async def release(self, room_id: int) -> None:
        pass

    async def aclose(self) -> None:
        pass  # nothing held outside this process
