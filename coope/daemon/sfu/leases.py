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
from dataclasses import dataclass


@dataclass(frozen=True)
class NodeLoad:
    """What a daemon reports of itself, so that new calls go to the least loaded."""

    node: str
    calls: int
    participants: int
    cpu: float  # its process's share of one core over the last report's time
    draining: bool  # taking no new calls


class CallLeases(ABC):
    # This daemon's name among those serving as one (what a lease it holds says).
    node: str
    ttl_s: float
    shared: bool  # with other daemons

    @abstractmethod
    async def claim(self, room_id: int, holder: str | None = None) -> str:
        """The daemon the room's call lives on: `holder` (default this one) if the lease was
        free (it holds it from now on), else who holds it (renewed if this one). Raises
        `Unavailable`."""

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
    async def report(self, load: NodeLoad) -> None:
        """Say how loaded this daemon is (it counts as alive for `ttl_s` after)."""

    @abstractmethod
    async def loads(self) -> list[NodeLoad]:
        """The last reports of the daemons alive. Raises `Unavailable`."""

    @abstractmethod
    async def aclose(self) -> None: ...


class MemoryCallLeases(CallLeases):
    """One daemon: every call lives here."""

    node = "local"
    ttl_s = 3.0
    shared = False

    def __init__(self) -> None:
        self._load: NodeLoad | None = None

    async def claim(self, room_id: int, holder: str | None = None) -> str:
        return self.node

    async def holders(self, room_ids: Iterable[int]) -> dict[int, str]:
        return {}  # every call is this daemon's own: nothing to look up elsewhere

    async def keep(self, room_ids: Iterable[int]) -> set[int]:
        return set()

    async def release(self, room_id: int) -> None:
        pass

    async def report(self, load: NodeLoad) -> None:
        self._load = load

    async def loads(self) -> list[NodeLoad]:
        return [] if self._load is None else [self._load]

    async def aclose(self) -> None:
        pass  # nothing held outside this process
