"""Two daemons serving as one: one database, and events between them over Redis.

The nodes share one SQLite file here (SQLite's locking takes one writer at a time): what is
tested is what must cross from node to node through the bus, whatever the storage.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import aiohttp
import pytest

from coope.client import CoopeClient
from coope.client.feeds import Feed
from coope.client.follow import Change
from coope.core.errors import NotFound
from coope.daemon.bus_redis import RedisBus
from tests.conftest import DaemonFactory
from tests.daemon.social_helpers import befriend, group_room
from tests.helpers import PATIENCE_S, RunningDaemon, assert_eventually
from tests.tools import redis_bus, redis_link


@pytest.fixture
async def nodes(start_daemon: DaemonFactory, tmp_path: Path) -> tuple[RunningDaemon, ...]:
    prefix = f"coope-test-{uuid.uuid4().hex}:"  # one service
    return tuple(
        [
            await start_daemon(data_dir=tmp_path / "service", bus=await redis_bus(prefix=prefix))
            for _ in range(2)
        ]
    )


async def on(node: RunningDaemon, token: str) -> CoopeClient:
    """A client of `node` with a credential made on any node."""
    return CoopeClient(node.url, token)


async def test_messages_sent_through_one_node_arrive_live_on_the_other_in_one_order(
    nodes: tuple[RunningDaemon, ...],
) -> None:
    a, b = nodes
    async with await a.user("ann") as ann, await b.user("ben") as ben_on_b:
        room = await group_room(ann, "team", [ben_on_b])
        feeds = [ann.live.room(room.id, after=0), ben_on_b.live.room(room.id, after=0)]

        async def bodies(feed: Feed[Change], count: int) -> list[str]:
            seen: list[str] = []
            while len(seen) < count:
                kind, message = await asyncio.wait_for(anext(feed), PATIENCE_S)
                if kind == "created":
                    seen.append(message.body)
            return seen

        # Once both followers have a first message, what follows reaches them live only (a
        # follower fetches again only after a live event that skipped a number).
        await ann.chat.send(room.id, "ready")
        for feed in feeds:
            assert await bodies(feed, 1) == ["ready"]
        # All through node A: node B hears of them from the bus alone.
        for n in range(10):
            await ann.chat.send(room.id, f"message {n}")
        for feed in feeds:
            assert await bodies(feed, 10) == [f"message {n}" for n in range(10)]


async def test_a_member_added_through_one_node_may_write_through_the_other(
    nodes: tuple[RunningDaemon, ...],
) -> None:
    a, b = nodes
    async with await a.user("ann") as ann, await a.user("ben") as ben, await a.user("cat") as cat:
        room = await group_room(ann, "team", [ben])
        async with (
            await on(b, ben.token or "") as ben_on_b,
            await on(b, cat.token or "") as cat_on_b,
        ):
            await ben_on_b.chat.send(room.id, "hello")  # node B now holds the room's members
            with pytest.raises(NotFound):
                await cat_on_b.chat.send(room.id, "not yet")
            await befriend(ann, cat)
            await ann.chat.add_member(room.id, "cat")  # through node A

            async def cat_writes_through_b() -> bool:
                try:
                    await cat_on_b.chat.send(room.id, "hi from cat")
                except NotFound:
                    return False
                return True

            await assert_eventually(cat_writes_through_b, what="node B to learn cat joined")


async def test_a_socket_opened_while_redis_is_gone_is_told_to_come_back_later(
    start_daemon: DaemonFactory,
) -> None:
    async with redis_link() as link:
        await redis_bus()  # or a skip without Redis
        bus = RedisBus(link.url, prefix=f"coope-test-{uuid.uuid4().hex}:", dead_after_s=1)
        daemon = await start_daemon(bus=bus)
        async with await daemon.user("ann") as ann:
            link.refusing = True
            link.cut()
            url = daemon.url.replace("http", "ws", 1) + "/api/v1/ws"
            headers = {"Authorization": f"Bearer {ann.token}"}
            async with aiohttp.ClientSession() as http, http.ws_connect(url, headers=headers) as ws:
                error = await ws.receive_json(timeout=PATIENCE_S)
                closed = await ws.receive(timeout=PATIENCE_S)
            assert (error["type"], error["data"]["code"]) == ("error", "unavailable")
            assert (closed.type, closed.data) == (aiohttp.WSMsgType.CLOSE, 1013)  # try again later
