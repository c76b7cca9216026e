"""Calls through the SFU with real aiortc peers on loopback."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import pytest

from coope.client import CoopeClient
from coope.client.calls import list_calls
from coope.daemon.http.keys import CALLS
from tests.daemon.callclient import CallClient
from tests.helpers import PASSWORD, RunningDaemon, assert_eventually, next_event

# join/leave cycles; COOPE_CALL_CYCLES=200 for the long run
CYCLES = int(os.environ.get("COOPE_CALL_CYCLES", "25"))


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


async def test_members_see_the_call_start_grow_shrink_and_end(
    people: tuple[CoopeClient, ...],
) -> None:
    _, alice, bob, carol = people
    room = await alice.chat.create_room("standup", ["bob", "carol"])
    async with carol.events() as watcher:
        a, b = await _call(alice, room.id), await _call(bob, room.id)
        try:
            await a.join()
            assert (await next_event(watcher, "call.started")).data["room_id"] == room.id
            assert (await next_event(watcher, "call.participant_joined")).data["user"] == "alice"
            await b.join()
            assert (await next_event(watcher, "call.participant_joined")).data["user"] == "bob"
            assert [c.participants for c in await list_calls(carol)] == [["alice", "bob"]]
            await a.leave()
            left = await next_event(watcher, "call.participant_left")
            assert (left.data["user"], left.data["reason"]) == ("alice", "left")
            await b.leave()
            await next_event(watcher, "call.ended")
            assert await list_calls(carol) == []
            # The one leaving last hears what its leaving caused before the reply to it.
            seen = []
            while not seen or seen[-1] != "call.left":
                seen.append(
                    (await b.expect("call.participant_left", "call.ended", "call.left")).type
                )
            assert seen[-3:] == ["call.participant_left", "call.ended", "call.left"], seen
        finally:
            for c in (a, b):
                await c.aclose()


async def test_non_members_cannot_join(people: tuple[CoopeClient, ...]) -> None:
    _, alice, bob, carol = people
    room = await alice.chat.create_room("private", ["bob"])
    outsider = await _call(carol, room.id)
    try:
        refused = await outsider.join()
        assert (refused.type, refused.data["code"]) == ("error", "not_found")
    finally:
        await outsider.aclose()


async def test_a_second_device_is_refused_unless_it_takes_over(
    call_daemon: RunningDaemon, people: tuple[CoopeClient, ...]
) -> None:
    _, alice, bob, _ = people
    room = await alice.chat.create_room("standup", ["bob"])
    async with call_daemon.client() as phone_client:
        await phone_client.auth.login("alice", PASSWORD)
        laptop, phone = await _call(alice, room.id), await _call(phone_client, room.id)
        try:
            await laptop.join()
            await laptop.start_media()
            refused = await phone.join()
            assert (refused.type, refused.data["code"]) == ("error", "conflict")
            assert "takeover" in refused.data["message"]
            assert (await phone.join(takeover=True)).type == "call.joined"
            kicked = await laptop.expect("call.kicked")
            assert kicked.data["reason"] == "taken over"
            manager_view = [c.participants for c in await list_calls(alice)]
            assert manager_view == [["alice"]]
        finally:
            for c in (laptop, phone):
                await c.aclose()


async def test_a_vanished_participant_is_removed(people: tuple[CoopeClient, ...]) -> None:
    _, alice, bob, _ = people
    room = await alice.chat.create_room("standup", ["bob"])
    a, b = await _call(alice, room.id), await _call(bob, room.id)
    try:
        await a.join()
        await a.start_media()
        await b.join()
        await b.start_media()
        await b.aclose()  # no goodbye: the socket just goes away
        left = await a.expect("call.participant_left", timeout=10)
        assert (left.data["user"], left.data["reason"]) == ("bob", "disconnected")
    finally:
        await a.aclose()


async def test_new_publishers_get_slots_by_renegotiation(people: tuple[CoopeClient, ...]) -> None:
    _, alice, bob, _ = people
    room = await alice.chat.create_room("demo", ["bob"])
    a, b = await _call(alice, room.id), await _call(bob, room.id)
    try:
        await b.join()
        await b.start_media(audio_slots=0, video_slots=0)  # nothing to receive yet
        await a.join()
        await a.start_media()
        await b.expect("call.renegotiate")  # the client answers it with a new offer
        await assert_eventually(lambda: b.frames_from("alice", "video") > 5, timeout=20)
        await a.share_screen()
        await assert_eventually(
            lambda: (
                b.frames_from("alice", "video", "screen") > 5
                and b.frames_from("alice", "video", "camera") > 5
            ),
            timeout=20,
        )

        # The share ends: its slot is emptied and bob is told; the camera goes on.
        def screens() -> list[Any]:
            return [t for t in b.tracks.values() if t["source"] == "screen"]

        await a.set_screen(False)
        await assert_eventually(lambda: screens() == [], timeout=10)
        camera = b.frames_from("alice", "video", "camera")
        await assert_eventually(lambda: b.frames_from("alice", "video", "camera") > camera + 5)
        # Shared again, on the same m-line: it reaches bob again.
        await a.set_screen(True)
        await assert_eventually(lambda: len(screens()) == 1, timeout=10)
        shown = b.frames_from("alice", "video", "screen")
        await assert_eventually(
            lambda: b.frames_from("alice", "video", "screen") > shown + 5, timeout=20
        )
    finally:
        for c in (a, b):
            await c.aclose()


async def test_join_leave_cycles_leave_nothing_behind(
    call_daemon: RunningDaemon, people: tuple[CoopeClient, ...]
) -> None:
    _, alice, bob, _ = people
    room = await alice.chat.create_room("churn", ["bob"])
    host = await _call(alice, room.id)
    try:
        await host.join()
        await host.start_media()
        for _ in range(CYCLES):
            guest = await _call(bob, room.id)
            await guest.join()
            await guest.start_media()
            await guest.leave()
            await guest.expect("call.left")
            await guest.aclose()
        manager = call_daemon.app[CALLS]
        assert [len(r.participants) for r in manager._rooms.values()] == [1]
        await host.leave()
        await host.expect("call.left")
        assert manager._rooms == {}
    finally:
        await host.aclose()


def test_a_mismatched_aiortc_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from aiortc.rtcrtpsender import RTCRtpSender

    from coope.daemon.sfu.internals import AiortcMismatch, check

    check()
    monkeypatch.delattr(RTCRtpSender, "_send_keyframe")
    with pytest.raises(AiortcMismatch, match="_send_keyframe.*aiortc==1.16.0"):
        check()
