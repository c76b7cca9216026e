"""Calls through the SFU with real aiortc peers on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from coope.client import CoopeClient
from tests.daemon.callclient import CallClient
from tests.helpers import RunningDaemon, assert_eventually


@pytest.fixture
async def call_daemon(start_daemon) -> RunningDaemon:  # type: ignore[no-untyped-def]
    return await start_daemon(ice_hosts=("127.0.0.1",))


@pytest.fixture
async def people(call_daemon: RunningDaemon) -> AsyncIterator[tuple[CoopeClient, ...]]:
    clients = [await call_daemon.user(n) for n in ("root", "alice", "bob", "carol")]
    yield tuple(clients)
    for c in clients:
        await c.aclose()


async def _call(client: CoopeClient, room_id: int) -> CallClient:
    call = CallClient(client, room_id)
    await call.connect()
    return call


async def test_two_participants_receive_each_others_audio_and_video(
    people: tuple[CoopeClient, ...],
) -> None:
    _, alice, bob, _ = people
    room = await alice.chat.create_room("standup", ["bob"])
    a, b = await _call(alice, room.id), await _call(bob, room.id)
    try:
        assert (await a.join()).type == "call.joined"
        await a.start_media()
        assert (await b.join()).data["participants"] == ["alice", "bob"]
        await b.start_media()
        await assert_eventually(
            lambda: (
                a.frames_from("bob", "video") > 10
                and b.frames_from("alice", "video") > 10
                and a.frames_from("bob", "audio") > 10
                and b.frames_from("alice", "audio") > 10
            ),
            timeout=20,
        )
    finally:
        for c in (a, b):
            await c.leave()
            await c.aclose()
