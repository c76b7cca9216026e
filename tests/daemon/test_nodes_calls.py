"""A room's call lives on one daemon, joined through any: real aiortc peers whose event sockets
are on different daemons hear and see each other, and when the call's daemon dies its
participants are told to join again, and do, through the daemons left."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from coope.client import CoopeClient
from coope.core.social_schemas import KICKED_MOVED, KICKED_REMOVED
from coope.daemon.http.keys import CALLS
from tests.conftest import DaemonFactory
from tests.daemon.callclient import CallClient, ToneTrack
from tests.daemon.social_helpers import group_room
from tests.helpers import PASSWORD, DaemonProcess, RunningDaemon, assert_eventually
from tests.tools import REDIS_URL, PostgresServer, forget_redis_prefix, redis_bus

# Real aiortc peers connecting media: minutes on a busy machine.
pytestmark = pytest.mark.timeout(240)


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    """One service's name in Redis, its keys forgotten after the test."""
    await (await redis_bus()).aclose()  # skips without Redis
    name = f"coope-test-{uuid.uuid4().hex}:"
    yield name
    await forget_redis_prefix(name)


async def _call(client: CoopeClient, room_id: int) -> CallClient:
    call = CallClient(client, room_id)
    await call.connect()
    return call


async def _hear_each_other(calls: dict[str, CallClient]) -> None:
    """Every participant (by name) receives audio and video from every other."""

    def all_flowing() -> bool:
        return all(
            call.frames_from(other, kind) > 10
            for name, call in calls.items()
            for other in calls
            if other != name
            for kind in ("audio", "video")
        )

    await assert_eventually(all_flowing, timeout=30, what="media both ways")


async def test_participants_joined_through_two_nodes_hear_and_see_each_other(
    start_daemon: DaemonFactory, tmp_path: Path, prefix: str
) -> None:
    service = {
        "data_dir": tmp_path / "service",
        "redis_url": REDIS_URL,
        "redis_prefix": prefix,
        "ice_hosts": ("127.0.0.1",),
    }
    a: RunningDaemon = await start_daemon(**service)
    b: RunningDaemon = await start_daemon(**service)
    async with await a.user("alice") as alice, await b.user("bob") as bob:
        room = await group_room(alice, "standup", [bob])
        on_a, on_b = await _call(alice, room.id), await _call(bob, room.id)
        later: list[CallClient] = []
        try:
            assert (await on_a.join()).data.participants == ["alice"]  # the call is A's
            joined = await on_b.join()  # relayed from B to A
            assert (joined.type, joined.data.participants) == ("call.joined", ["alice", "bob"])
            await on_a.start_media()
            await on_b.start_media()
            await _hear_each_other({"alice": on_a, "bob": on_b})
            assert [c.participants for c in await bob.calls.list()] == [["alice", "bob"]]
            assert b.app[CALLS].manager.rooms() == []  # B only relays
            await on_b.leave()
            await on_b.expect("call.left")
            left = await on_a.expect("call.participant_left")
            assert (left.data.user, left.data.reason) == ("bob", "left")

            # Back, and his socket closes: out of the call, as with one daemon.
            later.append(await _call(bob, room.id))
            await later[-1].join()
            await later[-1].aclose()
            left = await on_a.expect("call.participant_left")
            assert (left.data.user, left.data.reason) == ("bob", "disconnected")

            # Back, and removed from the room through A: out at once.
            later.append(await _call(bob, room.id))
            await later[-1].join()
            await alice.chat.remove_member(room.id, "bob")
            kicked = await later[-1].expect("call.kicked")
            assert kicked.data.reason == KICKED_REMOVED
            left = await on_a.expect("call.participant_left")
            assert (left.data.user, left.data.reason) == ("bob", KICKED_REMOVED)
        finally:
            for call in (on_a, on_b, *later):
                await call.aclose()


async def three_nodes(
    prefix: str, postgres: PostgresServer, daemons: list[DaemonProcess], tmp_path: Path
) -> tuple[DaemonProcess, ...]:
    """Three daemon processes serving as one, on a new PostgreSQL database."""
    url = await asyncio.to_thread(postgres.url, f"calls_{uuid.uuid4().hex[:12]}")
    shared = ("--database", url, "--redis", REDIS_URL, "--ice-host", "127.0.0.1")
    nodes = tuple(
        DaemonProcess(tmp_path / f"node-{n}", *shared, env={"COOPE_REDIS_PREFIX": prefix})
        for n in "abc"
    )
    daemons.extend(nodes)
    for node in nodes:
        node.start()
    return nodes


async def test_when_the_call_s_node_dies_its_participants_join_again_through_others(
    prefix: str, postgres: PostgresServer, daemons: list[DaemonProcess], tmp_path: Path
) -> None:
    """Three processes on one PostgreSQL database. The call runs on A, Bob's socket is on B;
    A gets SIGKILL: Bob is told the call moved once A's lease lapses, joins again through B,
    and Alice, back through C, joins him there."""
    a, b, c = await three_nodes(prefix, postgres, daemons, tmp_path)
    async with CoopeClient(a.url) as alice, CoopeClient(b.url) as bob:
        await alice.auth.signup("alice", PASSWORD)
        await bob.auth.signup("bob", PASSWORD)
        room = await group_room(alice, "standup", [bob])
        on_a, on_b = await _call(alice, room.id), await _call(bob, room.id)
        alice_on_c = CoopeClient(c.url, alice.token)
        again: list[CallClient] = []
        try:
            await on_a.join()
            await on_b.join()
            await on_a.start_media()
            await on_b.start_media()
            await _hear_each_other({"alice": on_a, "bob": on_b})

            a.kill()
            kicked = await on_b.expect("call.kicked", timeout=30)
            assert kicked.data.reason == KICKED_MOVED
            again += [await _call(bob, room.id), await _call(alice_on_c, room.id)]
            assert (await again[0].join()).data.participants == ["bob"]  # now on B
            assert (await again[1].join()).data.participants == ["bob", "alice"]
            for call in again:
                await call.start_media()
            await _hear_each_other({"bob": again[0], "alice": again[1]})
        finally:
            for call in (on_a, on_b, *again):
                await call.aclose()
            await alice_on_c.aclose()


async def test_a_call_session_joins_again_by_itself_when_its_call_s_node_dies(
    prefix: str, postgres: PostgresServer, daemons: list[DaemonProcess], tmp_path: Path
) -> None:
    """Bob's `CallSession` (the CLI's, the TUI's, the meeting bot's) through B, in a call on A:
    A dies, the session goes on, joined again, and hears Alice once she is back through C."""
    a, b, c = await three_nodes(prefix, postgres, daemons, tmp_path)
    async with CoopeClient(a.url) as alice, CoopeClient(b.url) as bob:
        await alice.auth.signup("alice", PASSWORD)
        await bob.auth.signup("bob", PASSWORD)
        room = await group_room(alice, "standup", [bob])
        on_a = await _call(alice, room.id)
        alice_on_c = CoopeClient(c.url, alice.token)
        again: list[CallClient] = []
        try:
            await on_a.join()  # the call is A's
            await on_a.start_media()
            async with bob.calls.join(room.id, audio=ToneTrack()) as session:
                assert session.participants == {"alice", "bob"}
                a.kill()
                await assert_eventually(
                    lambda: session.participants == {"bob"}, timeout=30, what="joined again"
                )
                again.append(await _call(alice_on_c, room.id))
                assert (await again[0].join()).data.participants == ["bob", "alice"]
                await again[0].start_media()
                async for user, _ in session.audio_frames():
                    if user == "alice":
                        break
                assert not session.ended
                await assert_eventually(
                    lambda: again[0].frames_from("bob", "audio") > 10, what="bob heard again"
                )
        finally:
            for call in (on_a, *again):
                await call.aclose()
            await alice_on_c.aclose()
