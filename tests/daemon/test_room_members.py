"""The cache of room members (`services/room_members.py`) on real storage and the in-process
bus: what another daemon changed reaches it even when the bus lost the word of it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from coope.core.events import GenericEvent
from coope.core.models import Role
from coope.daemon.bus import InProcessBus
from coope.daemon.clock import ManualClock
from coope.daemon.services import room_members
from coope.daemon.services.room_members import RoomMembers
from coope.daemon.storage import NewUser
from coope.daemon.storage.sqlite import SqliteStorage
from tests.helpers import assert_eventually


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[SqliteStorage]:
    store = SqliteStorage(tmp_path / "c.db")
    await store.start()
    yield store
    await store.aclose()


async def _users(storage: SqliteStorage, *names: str) -> list[int]:
    new = [NewUser(n, n, "x", Role.USER, created_at=1.0) for n in names]
    return [(await storage.create_user(user)).id for user in new]


async def test_a_change_whose_word_the_bus_lost_is_seen_once_listening_again(
    storage: SqliteStorage,
) -> None:
    bus, clock = InProcessBus(max_pending=3), ManualClock()
    ann, ben, cat = await _users(storage, "ann", "ben", "cat")
    room = await storage.create_group(ann, "team", [ben], 1.0)
    members = RoomMembers(storage, bus, clock)
    members.start()
    try:

        async def cached() -> bool:
            await members.get(room.id)
            return await members.get(room.id) is members._rooms.get(room.id, (None,))[0]

        await assert_eventually(cached, what="the members cached once listening")
        # Another daemon adds cat; its word is lost (the listener, flooded, is ended by the bus
        # before it reads any of it).
        await storage.add_member(room.id, cat, 2.0)
        for _ in range(4):
            await bus.publish([room_members.TOPIC], GenericEvent(type="unrelated", data={}))

        async def cat_seen() -> bool:
            state = await members.get(room.id)
            return state is not None and cat in state.members

        await assert_eventually(cat_seen, what="cat, once listening again")
    finally:
        await members.aclose()
        await bus.aclose()


async def test_a_list_is_read_again_after_a_while_whatever_the_bus_said(
    storage: SqliteStorage,
) -> None:
    bus, clock = InProcessBus(), ManualClock()
    ann, ben = await _users(storage, "ann", "ben")
    room = await storage.create_group(ann, "team", [], 1.0)
    members = RoomMembers(storage, bus, clock)
    members.start()
    try:
        await assert_eventually(lambda: members._listening, what="listening")
        assert ben not in (await members.get(room.id) or pytest.fail("no room")).members
        await storage.add_member(room.id, ben, 2.0)  # and nobody tells
        assert ben not in (await members.get(room.id) or pytest.fail("no room")).members
        clock.advance(room_members.CACHE_FOR_S)
        assert ben in (await members.get(room.id) or pytest.fail("no room")).members
    finally:
        await members.aclose()
        await bus.aclose()
