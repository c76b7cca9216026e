"""`CallSession` against an in-process daemon: joining, hearing, renegotiating, being taken over."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from coope.client import CoopeClient
from coope.client.calls import CallSession, list_calls
from coope.core.errors import Conflict, NotFound
from coope.media.pcm import frame_to_mono
from coope.media.sources import WavSource
from tests.helpers import PASSWORD, RunningDaemon, assert_eventually
from tests.media.audio import band_energy, tone, write_wav


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


async def test_three_people_hear_each_other_by_name(
    tmp_path: Path, people: tuple[CoopeClient, ...]
) -> None:
    _, ann, ben, cat = people
    room = await ann.chat.create_room("trio", ["ben", "cat"])
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
            calls = await list_calls(ann)
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
    assert await list_calls(ann) == []


async def test_being_taken_over_ends_the_session_with_a_clear_error(
    tmp_path: Path, call_daemon: RunningDaemon, people: tuple[CoopeClient, ...]
) -> None:
    _, ann, ben, _ = people
    room = await ann.chat.create_room("duo", ["ben"])
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
    room = await ann.chat.create_room("private", ["ben"])
    session = CallSession(cat, room.id)
    with pytest.raises(NotFound):
        await session.start()
    assert session.ended


async def test_everyone_sees_who_records(tmp_path: Path, people: tuple[CoopeClient, ...]) -> None:
    _, ann, ben, _ = people
    room = await ann.chat.create_room("minutes", ["ben"])
    seen: list[tuple[str, object]] = []

    def on_event(event: object) -> None:
        data = getattr(event, "data", {})
        if getattr(event, "type", "") == "call.recording":
            seen.append((data["user"], data["active"]))

    async with CallSession(ann, room.id, audio=source(tmp_path, 440), on_event=on_event) as a:
        assert a.recorders == set()
        async with CallSession(ben, room.id, recording=True) as bot:
            assert bot.recorders == {"ben"}
            await assert_eventually(lambda: a.recorders == {"ben"})
            assert seen == [("ben", True)]
            [call] = await list_calls(ann)
            assert call.recording == ["ben"]
        await assert_eventually(lambda: a.recorders == set() and a.participants == {"ann"})
        assert seen == [("ben", True), ("ben", False)]
        [call] = await list_calls(ann)
        assert call.recording == []
