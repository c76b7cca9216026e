"""Calls through the SFU with real aiortc peers on loopback."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest

from coope.client import CoopeClient
from coope.client.calls import CallSession
from coope.core.events import CallRenegotiateData, Event
from coope.daemon.http.keys import CALLS
from tests.daemon.callclient import CallClient, ToneTrack
from tests.daemon.social_helpers import group_room
from tests.helpers import PASSWORD, RunningDaemon, assert_eventually, next_event

# Real aiortc peers connecting media: minutes on a busy machine.
pytestmark = pytest.mark.timeout(180)

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
    room = await group_room(alice, "standup", [bob])
    a, b = await _call(alice, room.id), await _call(bob, room.id)
    try:
        assert (await a.join()).type == "call.joined"
        await a.start_media()
        assert (await b.join()).data.participants == ["alice", "bob"]
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
    room = await group_room(alice, "standup", [bob, carol])
    async with carol.events() as watcher:
        a, b = await _call(alice, room.id), await _call(bob, room.id)
        try:
            await a.join()
            assert (await next_event(watcher, "call.started")).data.room_id == room.id
            assert (await next_event(watcher, "call.participant_joined")).data.user == "alice"
            await b.join()
            assert (await next_event(watcher, "call.participant_joined")).data.user == "bob"
            assert [c.participants for c in await carol.calls.list()] == [["alice", "bob"]]
            await a.leave()
            left = await next_event(watcher, "call.participant_left")
            assert (left.data.user, left.data.reason) == ("alice", "left")
            await b.leave()
            await next_event(watcher, "call.ended")
            assert await carol.calls.list() == []
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
    room = await group_room(alice, "private", [bob])
    outsider = await _call(carol, room.id)
    try:
        refused = await outsider.join()
        assert (refused.type, refused.data.code) == ("error", "not_found")
    finally:
        await outsider.aclose()


async def test_a_second_device_is_refused_unless_it_takes_over(
    call_daemon: RunningDaemon, people: tuple[CoopeClient, ...]
) -> None:
    _, alice, bob, _ = people
    room = await group_room(alice, "standup", [bob])
    async with call_daemon.client() as phone_client:
        await phone_client.auth.login("alice", PASSWORD)
        laptop, phone = await _call(alice, room.id), await _call(phone_client, room.id)
        try:
            await laptop.join()
            await laptop.start_media()
            refused = await phone.join()
            assert (refused.type, refused.data.code) == ("error", "conflict")
            assert "takeover" in refused.data.message
            assert (await phone.join(takeover=True)).type == "call.joined"
            kicked = await laptop.expect("call.kicked")
            assert kicked.data.reason == "taken over"
            manager_view = [c.participants for c in await alice.calls.list()]
            assert manager_view == [["alice"]]
        finally:
            for c in (laptop, phone):
                await c.aclose()


async def test_a_vanished_participant_is_removed(people: tuple[CoopeClient, ...]) -> None:
    _, alice, bob, _ = people
    room = await group_room(alice, "standup", [bob])
    a, b = await _call(alice, room.id), await _call(bob, room.id)
    try:
        await a.join()
        await a.start_media()
        await b.join()
        await b.start_media()
        await b.aclose()  # no goodbye: the socket just goes away
        left = await a.expect("call.participant_left", timeout=10)
        assert (left.data.user, left.data.reason) == ("bob", "disconnected")
    finally:
        await a.aclose()


async def test_new_publishers_get_slots_by_renegotiation(people: tuple[CoopeClient, ...]) -> None:
    _, alice, bob, _ = people
    room = await group_room(alice, "demo", [bob])
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
            return [t for t in b.tracks.values() if t.source == "screen"]

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
    room = await group_room(alice, "churn", [bob])
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
        manager = call_daemon.app[CALLS].manager
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


# --- membership that changes during the call -------------------------------------------------


async def _room_of_friends(owner: CoopeClient, name: str, *others: CoopeClient) -> int:
    return (await group_room(owner, name, others)).id


async def _drain(call: CallClient) -> list[Event]:
    """Every event that reached the participant so far: `call.left` comes through the same
    ordered stream as everything the daemon sent before it."""
    await call.leave()
    seen: list[Event] = []
    while (event := await call.expect(*_ANY, timeout=10)).type != "call.left":
        seen.append(event)
    return seen


_ANY = (
    "call.joined",
    "call.tracks",
    "call.renegotiate",
    "call.kicked",
    "call.started",
    "call.participant_joined",
    "call.participant_left",
    "call.recording",
    "call.ended",
    "call.left",
    "error",
)


@pytest.mark.parametrize("how", ["removed", "left the room"])
async def test_a_member_out_of_the_room_is_out_of_its_call_at_once(
    people: tuple[CoopeClient, ...], how: str
) -> None:
    _, alice, bob, carol = people
    room_id = await _room_of_friends(alice, "standup", bob, carol)
    a, b = await _call(alice, room_id), await _call(bob, room_id)
    try:
        await a.join()
        await a.start_media()
        await b.join()
        await b.start_media()
        await assert_eventually(lambda: a.frames_from("bob", "audio") > 5, timeout=20)

        if how == "removed":
            await alice.chat.remove_member(room_id, "bob")
        else:
            await bob.chat.leave(room_id)
        kicked = await b.expect("call.kicked")
        assert kicked.data.reason == "removed from the room"
        left = await a.expect("call.participant_left")
        assert (left.data.user, left.data.reason) == ("bob", "removed from the room")
        assert [c.participants for c in await alice.calls.list()] == [["alice"]]
        await assert_eventually(lambda: a.tracks == {})

        # No answer to an offer any more, so no media either; nor any of the call's events:
        # carol comes and goes, and bob hears nothing of it.
        await b.send_offer()
        c = await _call(carol, room_id)
        try:
            await c.join()
            await c.leave()
            await c.expect("call.left")
        finally:
            await c.aclose()
        seen = await _drain(b)
        assert [(e.type, getattr(e.data, "code", None)) for e in seen] == [("error", "not_found")]
        assert b._answers.empty()
    finally:
        for call in (a, b):
            await call.aclose()


async def test_a_missed_removal_notice_is_caught_at_the_next_action(
    call_daemon: RunningDaemon, people: tuple[CoopeClient, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, alice, bob, _ = people
    room_id = await _room_of_friends(alice, "standup", bob)

    async def missed(room_id: int, user_id: int) -> None:
        pass

    monkeypatch.setattr(call_daemon.app[CALLS].manager, "member_removed", missed)
    a, b = await _call(alice, room_id), await _call(bob, room_id)
    try:
        await a.join()
        await b.join()
        await alice.chat.remove_member(room_id, "bob")
        await b.send_offer()
        refused = await b.expect("error")
        assert refused.data.code == "not_found"
        left = await a.expect("call.participant_left")
        assert (left.data.user, left.data.reason) == ("bob", "removed from the room")
        assert [c.participants for c in await alice.calls.list()] == [["alice"]]
    finally:
        for call in (a, b):
            await call.aclose()


async def test_an_announcement_reaches_only_the_members_of_the_moment(
    call_daemon: RunningDaemon, people: tuple[CoopeClient, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bob, removed while not in the call, hears nothing more of it, even if the notice of his
    removal never reached the call."""
    _, alice, bob, carol = people
    room_id = await _room_of_friends(alice, "standup", bob, carol)

    async def missed(room_id: int, user_id: int) -> None:
        pass

    monkeypatch.setattr(call_daemon.app[CALLS].manager, "member_removed", missed)
    a, c = await _call(alice, room_id), await _call(carol, room_id)
    try:
        async with bob.events() as bob_events:
            await a.join()
            await c.join()
            await next_event(bob_events, "call.participant_joined")
            await next_event(bob_events, "call.participant_joined")
            await alice.chat.remove_member(room_id, "bob")
            await next_event(bob_events, "room.left")
            for call in (c, a):  # the last one out ends the call
                await call.leave()
                await call.expect("call.left")
            # Replies travel behind every event sent to bob before them.
            await bob_events.send({"type": "call.leave", "room_id": room_id})
            seen: list[str] = []
            async for event in bob_events:
                if event.type == "call.left":
                    break
                seen.append(event.type)
            assert [t for t in seen if t.startswith("call.")] == []
    finally:
        for call in (a, c):
            await call.aclose()


# --- leaving all at once ---------------------------------------------------------------------


@pytest.mark.parametrize("how", ["call.leave", "socket closed"])
async def test_everyone_leaving_at_once_is_clean(
    call_daemon: RunningDaemon,
    people: tuple[CoopeClient, ...],
    caplog: pytest.LogCaptureFixture,
    how: str,
) -> None:
    root, alice, bob, carol = people
    room_id = await _room_of_friends(alice, "all hands", root, bob, carol)
    calls = [await _call(c, room_id) for c in people]
    try:
        for call in calls:
            await call.join()
            await call.start_media()

        def everyone_hears() -> bool:
            return all(
                c.frames_from("bob" if c.client is alice else "alice", "audio") > 2 for c in calls
            )

        await assert_eventually(everyone_hears, timeout=30)
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            if how == "call.leave":
                await asyncio.gather(*(c.leave() for c in calls))
                await asyncio.gather(*(c.expect("call.left") for c in calls))
            else:
                await asyncio.gather(*(c.aclose() for c in calls))
            manager = call_daemon.app[CALLS].manager
            await assert_eventually(lambda: manager._rooms == {} and not manager._removals)
            assert await alice.calls.list() == []
        problems = [r for r in caplog.records if r.levelno >= logging.WARNING and not _decoding(r)]
        assert problems == [], [r.getMessage() for r in problems]
    finally:
        for call in calls:
            await call.aclose()


def _decoding(record: logging.LogRecord) -> bool:
    """A test participant's own decoder complaining (a video frame cut short as its publisher
    left, or packets lost on a busy machine): the daemon forwards, it never decodes."""
    return record.name.startswith("aiortc.") and "failed to decode" in record.getMessage()


# --- audio-only participants -----------------------------------------------------------------


async def test_an_audio_only_participant_is_never_asked_for_video(
    people: tuple[CoopeClient, ...],
) -> None:
    _, alice, bob, carol = people
    room_id = await _room_of_friends(alice, "standup", bob, carol)
    asked: list[CallRenegotiateData] = []
    carol_left = asyncio.Event()

    def on_event(event: Event) -> None:
        if event.type == "call.renegotiate":
            asked.append(event.data)
        elif event.type == "call.participant_left" and event.data.user == "carol":
            carol_left.set()

    a, c = await _call(alice, room_id), await _call(carol, room_id)
    try:
        async with CallSession(bob, room_id, audio=ToneTrack(), on_event=on_event) as b:
            await a.join()
            await a.start_media()
            await c.join()
            await c.start_media()
            await a.share_screen()
            await c.leave()
            # Events reach bob in the order they were sent: every request for slots that the
            # publications above caused came before this.
            await asyncio.wait_for(carol_left.wait(), 10)
            async for user, _ in b.audio_frames():
                if user == "alice":
                    break
            assert {t.kind for t in b.tracks.values()} == {"audio"}
        assert [r for r in asked if r.video] == [], asked
    finally:
        for call in (a, c):
            await call.aclose()


async def test_a_participant_is_asked_once_for_each_missing_slot(
    people: tuple[CoopeClient, ...],
) -> None:
    """Bob offers nothing (a client that ignores renegotiation): he is asked for a slot per
    publication once, not again at every change in the call."""
    _, alice, bob, carol = people
    room_id = await _room_of_friends(alice, "standup", bob, carol)
    a, b, c = [await _call(x, room_id) for x in (alice, bob, carol)]
    try:
        await b.join()
        await a.join()
        await a.start_media()
        await c.join()
        await c.start_media()
        await a.share_screen()
        await c.leave()
        await c.expect("call.left")
        asked = [e.data for e in await _drain(b) if e.type == "call.renegotiate"]
        total = {kind: sum(getattr(r, kind) for r in asked) for kind in ("audio", "video")}
        # alice: microphone, camera, screen; carol: microphone, camera.
        assert total == {"audio": 2, "video": 3}, asked
    finally:
        for call in (a, b, c):
            await call.aclose()
