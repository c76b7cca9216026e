"""Live presence: online / away / offline, aggregated over a user's connections.

A user is online while any of their connections is active, away when every connection reports
idle or they set `away` by hand, and offline with no connection at all. Friends (and the user's
own other devices) get a `presence` event whenever that aggregate or the status text changes.
Connection state lives in memory: presence is about this daemon's live sockets.
"""

from __future__ import annotations

import asyncio

from coope.core.events import PresenceEvent
from coope.core.models import PresenceState, Principal, UserStatus
from coope.core.schemas import to_datetime
from coope.core.social_schemas import STATUS_TEXT_MAX, PresenceOut
from coope.daemon.bus import EventBus, user_topic
from coope.daemon.clock import Clock
from coope.daemon.storage import Storage


class PresenceService:
    def __init__(self, storage: Storage, bus: EventBus, clock: Clock) -> None:
        self._storage = storage
        self._bus = bus
        self._clock = clock
        self._connections: dict[int, dict[str, PresenceState]] = {}
        self._status: dict[int, UserStatus] = {}
        self._usernames: dict[int, str] = {}
        self._announce_locks: dict[int, asyncio.Lock] = {}

    def state_of(self, user_id: int) -> PresenceState:
        connections = self._connections.get(user_id)
        if not connections:
            return PresenceState.OFFLINE
        status = self._status.get(user_id, UserStatus())
        if status.away or PresenceState.ONLINE not in connections.values():
            return PresenceState.AWAY
        return PresenceState.ONLINE

    async def presence_of(self, users: dict[int, str]) -> dict[int, PresenceOut]:
        """Presence of the given users (id -> username), as their friends see it."""
        statuses = await self._storage.get_statuses(list(users))
        return {uid: self._out(uid, name, statuses[uid]) for uid, name in users.items()}

    def _out(self, user_id: int, username: str, status: UserStatus) -> PresenceOut:
        state = self.state_of(user_id)
        last_seen = self._clock.now() if state is not PresenceState.OFFLINE else status.last_seen_at
        return PresenceOut(
            username=username, state=state, text=status.text, last_seen_at=to_datetime(last_seen)
        )

    # --- connections -----------------------------------------------------------------------

    async def connected(self, principal: Principal, connection_id: str) -> None:
        user = principal.user
        if user.id not in self._status:
            self._status[user.id] = (await self._storage.get_statuses([user.id]))[user.id]
        self._usernames[user.id] = user.username
        before = self.state_of(user.id)
        self._connections.setdefault(user.id, {})[connection_id] = PresenceState.ONLINE
        await self._announce_if_changed(user.id, before)

    async def disconnected(self, principal: Principal, connection_id: str) -> None:
        user_id = principal.user.id
        before = self.state_of(user_id)
        connections = self._connections.get(user_id, {})
        connections.pop(connection_id, None)
        if not connections:
            self._connections.pop(user_id, None)
            now = self._clock.now()
            self._status[user_id] = _with_last_seen(self._status.get(user_id), now)
            await self._storage.set_last_seen(user_id, now)
        await self._announce_if_changed(user_id, before)

    async def connection_state(
        self, principal: Principal, connection_id: str, state: PresenceState
    ) -> None:
        """One connection reports itself active (online) or idle (away)."""
        connections = self._connections.get(principal.user.id)
        if connections is None or connection_id not in connections:
            return
        before = self.state_of(principal.user.id)
        connections[connection_id] = state
        await self._announce_if_changed(principal.user.id, before)

    # --- chosen status ---------------------------------------------------------------------

    async def set_status(
        self, principal: Principal, state: str | None, text: str | None
    ) -> PresenceOut:
        user = principal.user
        current = (
            self._status.get(user.id) or (await self._storage.get_statuses([user.id]))[user.id]
        )
        away = current.away if state is None else state == "away"
        new_text = current.text if text is None else text.strip()[:STATUS_TEXT_MAX]
        stored = await self._storage.set_status(user.id, away, new_text)
        self._status[user.id] = stored
        await self._announce(user.id, user.username, stored)
        return self._out(user.id, user.username, stored)

    async def _announce_if_changed(self, user_id: int, before: PresenceState) -> None:
        if self.state_of(user_id) is not before:
            await self._announce(user_id, self._usernames.get(user_id, ""), UserStatus())

    async def _announce(self, user_id: int, username: str, fallback: UserStatus) -> None:
        # One announcement per user at a time, each built from the state at the moment it is
        # sent: a disconnect racing a reconnect can never leave friends with the older state.
        lock = self._announce_locks.setdefault(user_id, asyncio.Lock())
        async with lock:
            friend_ids = await self._storage.friend_ids(user_id)
            status = self._status.get(user_id, fallback)
            event = PresenceEvent(data=self._out(user_id, username, status))
            for friend_id in [user_id, *friend_ids]:
                await self._bus.publish(user_topic(friend_id), event)
        if not lock.locked() and user_id not in self._connections:
            self._announce_locks.pop(user_id, None)


def _with_last_seen(status: UserStatus | None, when: float) -> UserStatus:
    status = status or UserStatus()
    return UserStatus(away=status.away, text=status.text, last_seen_at=when)
