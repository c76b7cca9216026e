"""`CallSession` against an in-process daemon: joining, hearing, renegotiating, being taken over."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from aiohttp import WSCloseCode
from av import AudioFrame

from coope.client import CoopeClient
from coope.client.calls import CallSession
from coope.core.errors import Conflict, DaemonUnreachable, InternalError, NotFound
from coope.core.events import CallJoinedData, CallRecording, CallRenegotiate, Event
from coope.core.models import Principal
from coope.daemon.http.keys import WEBSOCKETS
from coope.daemon.sfu.calls import CallManager
from coope.media.pcm import frame_to_mono
from coope.media.sources import WavSource
from tests.daemon.social_helpers import group_room
from tests.helpers import PASSWORD, RunningDaemon, assert_eventually
from tests.media.audio import band_energy, tone, write_wav

# Real aiortc peers connecting media: minutes on a busy machine.
pytestmark = pytest.mark.timeout(180)


@pytest.fixture
async def call_daemon(start_daemon) -> RunningDaemon:  # type: ignore[no-untyped-def]
    return await start_daemon(ice_hosts=("127.0.0.1",))


@pytest.fixture
async def people(call_daemon: RunningDaemon) -> AsyncIterator[tuple[CoopeClient, ...]]:
    clients = [await call_daemon.user(n) for n in ("root", "ann", "ben", "cat")]
    yield tuple(clients)
    for c in clients:
        await c.aclose()


def source(tmp_path: Path, hz: int) -> WavSource:
    return WavSource(write_wav(tmp_path / f"{hz}.wav", tone(hz, 10.0)))


async def until(session: CallSession, condition: Callable[[], bool]) -> None:
    """Wait, change by change, until `condition` holds of who is in the call."""
    async with asyncio.timeout(10):
        while not condition():
            await session.participants_changed()


async def forever() -> None:
    await asyncio.Event().wait()


async def test_three_people_hear_each_other_by_name(
    tmp_path: Path, people: tuple[CoopeClient, ...]
) -> None:
    _, ann, ben, cat = people
    room = await group_room(ann, "trio", [ben, cat])
    heard: dict[str, list[np.ndarray]] = {"ben": [], "cat": []}

    async def listen(call: CallSession) -> None:
        async for user, frame in call.audio_frames():
            heard[user].append(frame_to_mono(frame))

    async with CallSession(ann, room.id, audio=source(tmp_path, 440)) as a:
        assert a.username == "ann" and a.participants == {"ann"}
        listener = asyncio.create_task(listen(a))
        async with (
            CallSession(ben, room.id, audio=source(tmp_path, 1000)) as b,
            # ann has one receive slot: cat's arrival makes the daemon ask her for another.
            CallSession(cat, room.id, audio=source(tmp_path, 2000)) as c,
        ):
            await assert_eventually(lambda: a.participants == {"ann", "ben", "cat"})
            assert b.participants == c.participants == {"ann", "ben", "cat"}
            calls = await ann.calls.list()
            assert [(x.room_id, sorted(x.participants)) for x in calls] == [
                (room.id, ["ann", "ben", "cat"])
            ]
            await assert_eventually(
                lambda: len(heard["ben"]) > 25 and len(heard["cat"]) > 25, timeout=20
            )
            assert Counter(t.user for t in a.tracks.values()) == {"ben": 1, "cat": 1}
        await assert_eventually(lambda: a.participants == {"ann"}, timeout=10)
    await asyncio.wait_for(a.wait(), 1)  # we left: nothing to raise
    await asyncio.wait_for(listener, 1)  # and the frames have ended
    ben_audio, cat_audio = np.concatenate(heard["ben"]), np.concatenate(heard["cat"])
    assert band_energy(ben_audio, 1000) > 20 * band_energy(ben_audio, 2000)
    assert band_energy(cat_audio, 2000) > 20 * band_energy(cat_audio, 1000)
    assert await ann.calls.list() == []


async def test_being_taken_over_ends_the_session_with_a_clear_error(
    tmp_path: Path, call_daemon: RunningDaemon, people: tuple[CoopeClient, ...]
) -> None:
    _, ann, ben, _ = people
    room = await group_room(ann, "duo", [ben])
    async with call_daemon.client() as phone_client:
        await phone_client.auth.login("ann", PASSWORD)
        async with CallSession(ann, room.id, audio=source(tmp_path, 440)) as laptop:
            frames = laptop.audio_frames()
            with pytest.raises(Conflict, match="already in this call on another device"):
                async with CallSession(phone_client, room.id):
                    pass
            async with CallSession(phone_client, room.id, takeover=True) as phone:
                with pytest.raises(Conflict, match=r"\(taken over\): this account joined it"):
                    await asyncio.wait_for(laptop.wait(), 10)
                assert laptop.ended
                with pytest.raises(Conflict):
                    async for _ in frames:
                        pass
                assert phone.participants == {"ann"}


async def test_outsiders_cannot_join(people: tuple[CoopeClient, ...]) -> None:
    _, ann, ben, cat = people
    room = await group_room(ann, "private", [ben])
    session = CallSession(cat, room.id)
    with pytest.raises(NotFound):
        await session.start()
    assert session.ended


async def test_everyone_sees_who_records(tmp_path: Path, people: tuple[CoopeClient, ...]) -> None:
    _, ann, ben, _ = people
    room = await group_room(ann, "minutes", [ben])
    seen: list[tuple[str, object]] = []

    def on_event(event: Event) -> None:
        if isinstance(event, CallRecording):
            seen.append((event.data.user, event.data.active))

    async with CallSession(ann, room.id, audio=source(tmp_path, 440), on_event=on_event) as a:
        assert a.recorders == set()
        async with CallSession(ben, room.id, recording=True) as bot:
            assert bot.recorders == {"ben"}
            await assert_eventually(lambda: a.recorders == {"ben"})
            assert seen == [("ben", True)]
            [call] = await ann.calls.list()
            assert call.recording == ["ben"]
        await assert_eventually(lambda: a.recorders == set() and a.participants == {"ann"})
        assert seen == [("ben", True), ("ben", False)]
        [call] = await ann.calls.list()
        assert call.recording == []


async def test_a_slot_filled_just_after_the_answer_carries_its_speaker(
    tmp_path: Path, people: tuple[CoopeClient, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two people joining at once: ann's publication reaches the SFU just after ben's first
    answer went out, so her track fills ben's slot by a `call.tracks` right behind the answer.
    Read in one go (a busy client), that event must not be undone by the answer's older map:
    ben would get her frames and drop them all as nobody's."""
    _, ann, ben, _ = people
    room = await group_room(ann, "duo", [ben])
    answer = CallManager.offer

    async def offer_after_which_ann_publishes(
        self: CallManager, principal: Principal, *args: Any
    ) -> None:
        if principal.user.username != "ben":
            return await answer(self, principal, *args)
        monkeypatch.setattr(CallManager, "offer", answer)  # only ben's first offer
        [calls] = self._rooms.values()
        [ann_peer] = [p.peer for p in calls.participants.values() if p.peer.username == "ann"]
        publications = dict(ann_peer.published)
        ann_peer.published.clear()  # not published yet while ben's offer is answered...
        try:
            await answer(self, principal, *args)
        finally:
            ann_peer.published.update(publications)
        await self._assign(calls)  # ...and now, with no await since the answer was sent

    async with CallSession(ann, room.id, audio=source(tmp_path, 440)) as a:
        monkeypatch.setattr(CallManager, "offer", offer_after_which_ann_publishes)
        async with CallSession(ben, room.id) as b:
            frames = b.audio_frames()
            user, _ = await asyncio.wait_for(anext(frames), 10)
            assert user == "ann"
            assert [t.user for t in b.tracks.values()] == ["ann"]
            assert a.participants == {"ann", "ben"}


async def test_slots_asked_for_before_joined_are_left_to_the_first_offer(
    tmp_path: Path, people: tuple[CoopeClient, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ann's publication reaches the SFU while ben's join is still being announced: ben, with
    no slots yet, is asked for one before he even has `call.joined`. His first offer (which
    the SFU answers with whatever is still missing then) covers it; the request must not
    break his joining."""
    _, ann, ben, _ = people
    room = await group_room(ann, "duo", [ben])
    join = CallManager.join
    asked: list[tuple[int, int, int]] = []

    async def join_during_which_ann_publishes(
        self: CallManager, principal: Principal, *args: Any, **kwargs: Any
    ) -> CallJoinedData:
        joined = await join(self, principal, *args, **kwargs)
        if principal.user.username == "ben":
            await self._assign(self._rooms[joined.room_id])
        return joined

    def on_event(event: Event) -> None:
        if isinstance(event, CallRenegotiate):
            asked.append((event.data.room_id, event.data.audio, event.data.video))

    async with CallSession(ann, room.id, audio=source(tmp_path, 440)) as a:
        monkeypatch.setattr(CallManager, "join", join_during_which_ann_publishes)
        async with CallSession(ben, room.id, on_event=on_event) as b:
            user, _ = await asyncio.wait_for(anext(b.audio_frames()), 10)
            assert user == "ann"
            assert [t.user for t in b.tracks.values()] == ["ann"]
            assert a.participants == {"ann", "ben"}
    assert asked == [(room.id, 1, 0)]


async def test_a_dropped_connection_ends_the_call_and_the_connection_comes_back(
    tmp_path: Path, call_daemon: RunningDaemon, people: tuple[CoopeClient, ...]
) -> None:
    """The daemon takes a participant out of the call when their socket closes: the session
    ends at once (never waits on answers that cannot come), and the live connection returns
    for everything else."""
    _, ann, ben, _ = people
    room = await group_room(ann, "duo", [ben])
    async with CallSession(ann, room.id, audio=source(tmp_path, 440)) as call:
        frames = call.audio_frames()
        for ws in call_daemon.app[WEBSOCKETS].copy():
            await ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"too far behind")
        with pytest.raises(DaemonUnreachable, match="dropped"):
            await asyncio.wait_for(call.wait(), 10)
        with pytest.raises(DaemonUnreachable):
            async for _ in frames:
                pass
        await ann.live.wait_for_state("connected")

        async def no_call() -> bool:
            return await ann.calls.list() == []

        await assert_eventually(no_call, what="the daemon ending the call with the socket")
    assert ann.live.state == "connected"  # leaving the ended call left the connection alone


async def test_participant_changes_are_waited_for_not_polled(
    tmp_path: Path, call_daemon: RunningDaemon, people: tuple[CoopeClient, ...]
) -> None:
    _, ann, ben, _ = people
    room = await group_room(ann, "duo", [ben])
    async with call_daemon.client(ann.token) as phone_client:  # another device of ann's
        async with CallSession(ann, room.id, audio=source(tmp_path, 440)) as laptop:
            async with CallSession(ben, room.id, recording=True):
                await until(laptop, lambda: laptop.participants == {"ann", "ben"})
                await until(laptop, lambda: laptop.recorders == {"ben"})
            await until(laptop, lambda: laptop.participants == {"ann"} and not laptop.recorders)

            # A waiter learns that the session ended, and why: nobody comes or goes any more.
            async def every_change() -> None:
                while True:
                    await laptop.participants_changed()

            waiting = asyncio.create_task(every_change())
            async with CallSession(phone_client, room.id, takeover=True):
                with pytest.raises(Conflict, match="taken over"):
                    await asyncio.wait_for(waiting, 10)
        with pytest.raises(Conflict):
            await laptop.participants_changed()

    async with CallSession(ben, room.id) as left:
        pass
    with pytest.raises(InternalError, match="closed"):
        await left.participants_changed()


async def test_run_until_ends_on_stop_on_time_or_with_the_session(
    call_daemon: RunningDaemon, people: tuple[CoopeClient, ...]
) -> None:
    _, ann, ben, _ = people
    room = await group_room(ann, "duo", [ben])
    cancelled: list[str] = []

    async def worker(name: str, stop: asyncio.Event | None = None) -> None:
        if stop is not None:
            stop.set()
        try:
            await forever()
        except asyncio.CancelledError:
            cancelled.append(name)
            raise

    async def returns() -> None:
        pass

    async def fails() -> None:
        raise ValueError("a worker's bug")

    async with call_daemon.client(ann.token) as phone_client:  # another device of ann's
        async with CallSession(ann, room.id) as laptop:
            stop = asyncio.Event()
            await asyncio.wait_for(laptop.run_until(worker("a", stop), stop=stop), 10)
            await asyncio.wait_for(laptop.run_until(worker("b"), duration_s=0.01), 10)
            await asyncio.wait_for(laptop.run_until(returns(), worker("c")), 10)
            with pytest.raises(ValueError, match="bug"):
                await asyncio.wait_for(laptop.run_until(fails(), worker("d")), 10)
            assert cancelled == ["a", "b", "c", "d"]
            assert not laptop.ended
            async with CallSession(phone_client, room.id, takeover=True):
                with pytest.raises(Conflict, match="taken over"):
                    await asyncio.wait_for(laptop.run_until(worker("e")), 10)
    assert cancelled[-1] == "e"


async def test_a_failing_on_audio_callback_is_logged_and_the_audio_goes_on(
    tmp_path: Path, people: tuple[CoopeClient, ...], caplog: pytest.LogCaptureFixture
) -> None:
    _, ann, ben, _ = people
    room = await group_room(ann, "duo", [ben])
    failed = 0

    def on_audio(user: str, frame: AudioFrame) -> None:
        nonlocal failed
        failed += 1
        raise ValueError("a bug in the front end")

    async with (
        CallSession(ann, room.id, audio=source(tmp_path, 440)),
        CallSession(ben, room.id, on_audio=on_audio) as b,
        aclosing(b.audio_frames()) as frames,
    ):
        # Half a second of ann, each frame handed on after the callback failed on it.
        for _ in range(25):
            user, _ = await asyncio.wait_for(anext(frames), 10)
            assert user == "ann"
    assert failed >= 25
    logged = [r for r in caplog.records if "on_audio" in r.getMessage()]
    assert [(r.levelno, r.getMessage()) for r in logged] == [
        (logging.ERROR, "the on_audio callback failed on ann's audio")
    ]
    assert logged[0].exc_info is not None and logged[0].exc_info[0] is ValueError
