"""A room's call lives on one daemon, joined through any: real aiortc peers whose event sockets
are on different daemons hear and see each other, and when the call's daemon dies its
participants are told to join again, and do, through the daemons left."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from coope.client import CoopeClient
from coope.core.social_schemas import KICKED_MOVED, KICKED_REMOVED, RoomOut
from coope.daemon.http.keys import CALLS
from coope.media.sources import SilenceSource
from tests.conftest import DaemonFactory
from tests.daemon.callclient import CallClient
from tests.daemon.social_helpers import group_room
from tests.helpers import PASSWORD, DaemonProcess, RunningDaemon, assert_eventually
from tests.tools import REDIS_URL, PostgresServer

# Real aiortc peers connecting media: minutes on a busy machine.
pytestmark = pytest.mark.timeout(240)


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
    start_daemon: DaemonFactory, tmp_path: Path, service_prefix: str
) -> None:
    service = {
        "data_dir": tmp_path / "service",
        "redis_url": REDIS_URL,
        "redis_prefix": service_prefix,
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


@asynccontextmanager
async def alice_on(
    a: DaemonProcess, *, bob_on: DaemonProcess
) -> AsyncIterator[tuple[CoopeClient, CoopeClient, RoomOut]]:
    """Alice signed up through `a`, Bob through `bob_on`, and their room."""
    async with CoopeClient(a.url) as alice, CoopeClient(bob_on.url) as bob:
        await alice.auth.signup("alice", PASSWORD)
        await bob.auth.signup("bob", PASSWORD)
        yield alice, bob, await group_room(alice, "standup", [bob])


async def three_nodes(
    service_prefix: str, postgres: PostgresServer, daemons: list[DaemonProcess], tmp_path: Path
) -> tuple[DaemonProcess, ...]:
    """Three daemon processes serving as one, on a new PostgreSQL database."""
    url = await asyncio.to_thread(postgres.url, f"calls_{uuid.uuid4().hex[:12]}")
    shared = ("--database", url, "--redis", REDIS_URL, "--ice-host", "127.0.0.1")
    nodes = tuple(
        DaemonProcess(tmp_path / f"node-{n}", *shared, env={"COOPE_REDIS_PREFIX": service_prefix})
        for n in "abc"
    )
    daemons.extend(nodes)
    for node in nodes:
        node.start()
    return nodes


async def test_when_the_call_s_node_dies_its_participants_join_again_through_others(
    service_prefix: str, postgres: PostgresServer, daemons: list[DaemonProcess], tmp_path: Path
) -> None:
    """Three processes on one PostgreSQL database. The call runs on A, Bob's socket is on B;
    A gets SIGKILL: Bob is told the call moved once A's lease lapses, joins again through B,
    and Alice, back through C, joins him there."""
    a, b, c = await three_nodes(service_prefix, postgres, daemons, tmp_path)
    async with alice_on(a, bob_on=b) as (alice, bob, room):
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
    service_prefix: str, postgres: PostgresServer, daemons: list[DaemonProcess], tmp_path: Path
) -> None:
    """Bob's `CallSession` (the CLI's, the TUI's, the meeting bot's) through B, in a call on A:
    A dies, the session goes on, joined again, and hears Alice once she is back through C."""
    a, b, c = await three_nodes(service_prefix, postgres, daemons, tmp_path)
    async with alice_on(a, bob_on=b) as (alice, bob, room):
        on_a = await _call(alice, room.id)
        alice_on_c = CoopeClient(c.url, alice.token)
        again: list[CallClient] = []
        try:
            await on_a.join()  # the call is A's
            await on_a.start_media()
            # A source that ends with its sender, as every source of ours does.
            microphone = SilenceSource()
            async with bob.calls.join(room.id, audio=microphone) as session:
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
                assert not session.ended and microphone.readyState == "live"
                await assert_eventually(
                    lambda: again[0].frames_from("bob", "audio") > 10, what="bob heard again"
                )
        finally:
            for call in (on_a, *again):
                await call.aclose()
            await alice_on_c.aclose()


async def test_new_calls_go_to_the_least_loaded_node_and_a_draining_one_stops_after_its_last(
    service_prefix: str, postgres: PostgresServer, daemons: list[DaemonProcess], tmp_path: Path
) -> None:
    a, b, c = await three_nodes(service_prefix, postgres, daemons, tmp_path)
    clients: list[CoopeClient] = []

    async def person(node: DaemonProcess, name: str) -> CoopeClient:
        client = CoopeClient(node.url)
        clients.append(client)
        await client.auth.signup(name, PASSWORD)
        return client

    alice, dave = await person(a, "alice"), await person(a, "dave")
    bob, carol, erin = await person(b, "bob"), await person(b, "carol"), await person(b, "erin")
    frank = await person(c, "frank")
    node = {}
    for n in (a, b, c):
        async with CoopeClient(n.url) as anon:
            node[n] = (await anon.health()).node
    rooms = [
        await group_room(alice, name, members)
        for name, members in (
            ("one", []),
            ("two", [bob, carol]),
            ("three", [dave]),
            ("four", [erin, frank]),
        )
    ]
    calls: list[CallClient] = []
    redis = aioredis.from_url(REDIS_URL, decode_responses=True)
    draining: asyncio.subprocess.Process | None = None

    async def join(client: CoopeClient, room: int) -> None:
        calls.append(await _call(client, room))
        joined = await calls[-1].join()
        assert joined.type == "call.joined", joined

    async def holder(room: int) -> str | None:
        return await redis.get(f"{service_prefix}call:{room}")  # type: ignore[no-any-return]

    async def reported(n: DaemonProcess, participants: int) -> bool:
        load = await redis.hget(f"{service_prefix}call-nodes", node[n] or "")
        return load is not None and json.loads(load)["participants"] == participants

    try:
        await join(alice, rooms[0].id)  # all equal: where the join arrived
        assert await holder(rooms[0].id) == node[a]
        await join(bob, rooms[1].id)
        await join(carol, rooms[1].id)
        assert await holder(rooms[1].id) == node[b]
        await assert_eventually(lambda: reported(b, 2), what="B reports two participants")
        await assert_eventually(lambda: reported(a, 1), what="A reports one")
        await assert_eventually(lambda: reported(c, 0), what="C reports none")
        await join(erin, rooms[3].id)  # through B, which is busier than C
        assert await holder(rooms[3].id) == node[c]
        await join(frank, rooms[3].id)
        await assert_eventually(lambda: reported(c, 2), what="C reports two")

        # A is the least loaded now, but drains: a new call goes elsewhere, A's own goes on.
        draining = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "coope",
            "daemon",
            "--drain",
            "--data-dir",
            str(a.data_dir),
            stderr=asyncio.subprocess.PIPE,
        )
        async with CoopeClient(a.url) as anon:
            await assert_eventually(lambda: _draining(anon), what="A drains")
        await join(dave, rooms[2].id)  # through A
        assert await holder(rooms[2].id) in (node[b], node[c])
        assert await holder(rooms[0].id) == node[a]
        assert a.proc is not None and a.proc.returncode is None

        await calls[0].leave()  # A's last call ends: A stops, and the drain with it
        assert await asyncio.to_thread(a.proc.wait, 30) == 0
        _, said = await asyncio.wait_for(draining.communicate(), 30)
        assert draining.returncode == 0, said
        assert b"it stopped" in said
    finally:
        if draining is not None and draining.returncode is None:
            draining.kill()
            await draining.wait()
        for call in calls:
            await call.aclose()
        for client in clients:
            await client.aclose()
        await redis.aclose()


async def _draining(client: CoopeClient) -> bool:
    return (await client.health()).draining


async def test_a_call_whose_lease_another_daemon_took_ends_here(
    start_daemon: DaemonFactory, tmp_path: Path, service_prefix: str
) -> None:
    """No room has two calls: a daemon that finds its lease held by another (it lapsed while
    this one was cut off) ends its call, telling everyone it moved."""
    a = await start_daemon(
        data_dir=tmp_path / "service",
        redis_url=REDIS_URL,
        redis_prefix=service_prefix,
        ice_hosts=("127.0.0.1",),
    )
    redis = aioredis.from_url(REDIS_URL, decode_responses=True)
    async with await a.user("alice") as alice, await a.user("bob") as bob:
        room = await group_room(alice, "standup", [bob])
        calls = [await _call(alice, room.id), await _call(bob, room.id)]
        try:
            for call in calls:
                await call.join()
            await redis.set(f"{service_prefix}call:{room.id}", "another-daemon", px=30_000)
            for call in calls:
                kicked = await call.expect("call.kicked", timeout=10)
                assert kicked.data.reason == KICKED_MOVED
            await assert_eventually(lambda: a.app[CALLS].manager.rooms() == [], what="ended")
            assert (
                await redis.get(f"{service_prefix}call:{room.id}") == "another-daemon"
            )  # not ours
        finally:
            for call in calls:
                await call.aclose()
            await redis.aclose()


async def test_participants_of_a_relaying_node_that_dies_leave_the_call(
    service_prefix: str, postgres: PostgresServer, daemons: list[DaemonProcess], tmp_path: Path
) -> None:
    """Bob is in A's call through B; B gets SIGKILL: nobody is left to say his socket closed,
    and A takes him out once B stops reporting."""
    a, b, _ = await three_nodes(service_prefix, postgres, daemons, tmp_path)
    async with alice_on(a, bob_on=b) as (alice, bob, room):
        on_a, on_b = await _call(alice, room.id), await _call(bob, room.id)
        try:
            await on_a.join()
            await on_b.join()
            b.kill()
            left = await on_a.expect("call.participant_left", timeout=30)
            assert (left.data.user, left.data.reason) == ("bob", "disconnected")
            assert [c.participants for c in await alice.calls.list()] == [["alice"]]
        finally:
            for call in (on_a, on_b):
                await call.aclose()
