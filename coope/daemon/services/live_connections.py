"""Who is connected: every live events socket and the state it reports, by user.

One daemon knows its own sockets (`MemoryLiveConnections`). Daemons serving as one share them
(`coope/daemon/shared_redis.py`): each keeps its own alive there with `refresh`, so that the
sockets of a daemon that died lapse by themselves, and one of the others, whichever claims a
lapsed socket in `lapsed`, tells the user's friends.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from coope.core.models import PresenceState


class LiveConnections(ABC):
    """Keeps this daemon's own sockets (`own`: user -> socket id -> state) in memory; what it
    shares of them, and how, is the subclass's."""

    # How often `refresh` and `lapsed` are called (by `PresenceService`), in seconds.
    beat_s: float = 1.0
    # Whether other daemons change what this one reads (announcements then check themselves).
    shared: bool = False

    def __init__(self) -> None:
        self.own: dict[int, dict[str, PresenceState]] = {}

    @abstractmethod
    async def put(self, user_id: int, connection_id: str, state: PresenceState) -> None:
        """A socket of this daemon opened, or reports a state."""

    @abstractmethod
    async def drop(self, user_id: int, connection_id: str) -> None:
        """A socket of this daemon closed. Never raises: one that cannot be dropped from what
        daemons share is no longer kept alive there, and lapses."""

    @abstractmethod
    async def states(self, user_ids: list[int]) -> dict[int, list[PresenceState]]:
        """The state of each live socket of each user, on any daemon (none: offline)."""

    def holds(self, user_id: int, connection_id: str | None = None) -> bool:
        """Whether this daemon has a socket of the user (that one, if named)."""
        sockets = self.own.get(user_id)
        return sockets is not None and (connection_id is None or connection_id in sockets)

    def forget(self, user_id: int) -> None:
        """Drop what this daemon holds of a deleted account (its sockets are closing)."""
        self.own.pop(user_id, None)

    def release(self, user_id: int, connection_id: str) -> None:
        """Stop keeping a closed socket alive without removing it from what daemons share (it
        could not be read): it lapses, and whoever claims it announces it."""
        sockets = self.own.get(user_id, {})
        sockets.pop(connection_id, None)
        if not sockets:
            self.own.pop(user_id, None)

    @abstractmethod
    async def refresh(self) -> list[int]:
        """Keep this daemon's sockets alive for the others; returns the users some socket of
        whom had to be put back (another daemon had taken it for lapsed, or Redis lost it):
        they are announced again."""

    @abstractmethod
    async def lapsed(self) -> list[int]:
        """Users of which a socket lapsed (its daemon stopped keeping it alive) and this daemon
        claimed it: it announces them. Each lapse is claimed by one daemon."""

    @abstractmethod
    async def aclose(self) -> None: ...


class MemoryLiveConnections(LiveConnections):
    """The sockets of this daemon alone, in memory: nothing lapses."""

    beat_s = 60.0

    async def put(self, user_id: int, connection_id: str, state: PresenceState) -> None:
        self.own.setdefault(user_id, {})[connection_id] = state

    async def drop(self, user_id: int, connection_id: str) -> None:
        self.release(user_id, connection_id)  # no one else reads them: the same

    async def states(self, user_ids: list[int]) -> dict[int, list[PresenceState]]:
        return {uid: list(self.own.get(uid, {}).values()) for uid in user_ids}

    async def refresh(self) -> list[int]:
        """Nothing to keep alive: no other daemon reads these."""
        return []

    async def lapsed(self) -> list[int]:
        return []

    async def aclose(self) -> None:
        """Memory holds nothing open."""
