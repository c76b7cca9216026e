"""The members of the rooms this daemon serves, cached: every message, typing notice and call
announcement needs them.

Several daemons may serve one service, each with a cache of its own: a change of a room's
members drops that room's list here and, told over the bus, on every other daemon. The bus may
lose what it carries (an overflow, a lost Redis), so three more rules keep a list from going
stale: nothing is cached while this daemon is not listening, everything is dropped when it
listens again, and a list is read anew after `CACHE_FOR_S` whatever the bus said.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from dataclasses import dataclass

from coope.core.errors import Unavailable
from coope.core.events import GenericEvent
from coope.core.models import RoomKind, RoomRole
from coope.daemon.bus import EventBus, Subscription
from coope.daemon.clock import Clock
from coope.daemon.storage import Storage

log = logging.getLogger(__name__)

TOPIC = "service:room-members"
CHANGED = "internal.room_members_changed"  # not a public event: it never reaches a socket
CACHE_FOR_S = 30.0


@dataclass
class RoomState:
    kind: RoomKind
    members: dict[int, RoomRole]


class RoomMembers:
    def __init__(self, storage: Storage, bus: EventBus, clock: Clock) -> None:
        self._storage = storage
        self._bus = bus
        self._clock = clock
        self._rooms: dict[int, tuple[RoomState, float]] = {}  # room id -> (state, read at)
        # Bumped by every change of a room (`_versions`) or of everything (`_generation`): a
        # list read from storage before a change must not be cached after it.
        self._versions: dict[int, int] = {}
        self._generation = 0
        self._listening = False
        self._listener: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Listen for the other daemons' changes (until then, nothing is cached)."""
        self._listener = asyncio.create_task(self._listen(), name="room-members")

    async def aclose(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener

    async def get(self, room_id: int) -> RoomState | None:
        """The room's kind and members, or None if there is no such room."""
        cached = self._rooms.get(room_id)
        if cached is not None and self._clock.now() - cached[1] < CACHE_FOR_S:
            return cached[0]
        version, generation = self._versions.get(room_id, 0), self._generation
        room = await self._storage.get_room(room_id)
        if room is None:
            return None
        members = await self._storage.room_members(room_id)
        state = RoomState(room.kind, {m.user_id: m.role for m in members})
        current = self._versions.get(room_id, 0) == version and self._generation == generation
        if current and self._listening:
            self._rooms[room_id] = (state, self._clock.now())
        return state

    async def changed(self, room_id: int) -> None:
        """The room's members changed (already stored): drop its list here and everywhere."""
        self._drop(room_id)
        await self._bus.publish([TOPIC], GenericEvent(type=CHANGED, data={"room_id": room_id}))

    def _drop(self, room_id: int) -> None:
        self._rooms.pop(room_id, None)
        self._versions[room_id] = self._versions.get(room_id, 0) + 1

    def _drop_all(self) -> None:
        self._rooms.clear()
        self._generation += 1

    async def _listen(self) -> None:
        while True:
            try:
                changes = await self._subscribe()
            except Exception:  # a bug of ours: tried again, and said
                log.exception("room members: subscribing failed")
                await asyncio.sleep(2.0)
                continue
            # What changed before this subscription was not heard: nothing cached before counts.
            self._drop_all()
            self._listening = True
            try:
                async for event in changes:
                    room_id = event.data.get("room_id") if isinstance(event.data, dict) else None
                    if event.type == CHANGED and isinstance(room_id, int):
                        self._drop(room_id)
            except Exception:  # a bug of ours: listening starts again, and says so
                log.exception("room members: listening failed")
            finally:
                # The bus ended it (an overflow, a lost Redis) or it failed: what comes next
                # will not be heard until listening again.
                self._listening = False
                self._drop_all()
                await changes.aclose()

    async def _subscribe(self) -> Subscription:
        for attempt in itertools.count():
            try:
                return await self._bus.subscribe([TOPIC])
            except Unavailable:
                await asyncio.sleep(min(2.0, 0.1 * 2**attempt))
        raise AssertionError("unreachable")
