"""Daemons serving as one: one database, and events between them over Redis.

The in-process nodes share one database (one SQLite file, which takes one writer at a time, or
PostgreSQL), and test what must cross from node to node through the bus. Nodes as processes on
PostgreSQL are killed under load.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from pathlib import Path

import aiohttp
import pytest

from coope.client import CoopeClient
from coope.client.feeds import Feed
from coope.client.follow import Change
from coope.core.errors import CoopeError, NotFound
from coope.core.social_schemas import MessageOut
from coope.daemon.bus_redis import RedisBus
from tests.conftest import DaemonFactory
from tests.daemon.social_helpers import (
    assert_none_within,
    befriend,
    group_room,
    next_presence,
    ping,
    presence_of,
)
from tests.daemon.test_login_limits import login
from tests.helpers import PASSWORD, PATIENCE_S, DaemonProcess, RunningDaemon, assert_eventually
from tests.tools import REDIS_URL, PostgresServer, redis_bus, redis_link


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


async def test_failed_logins_through_one_node_lock_the_account_on_the_other(
    service_prefix: str, start_daemon: DaemonFactory, tmp_path: Path
) -> None:
    await (await redis_bus()).aclose()  # skips without Redis
    service = {
        "data_dir": tmp_path / "service",
        "redis_url": REDIS_URL,
        "redis_prefix": service_prefix,
    }
    a, b = [await start_daemon(**service) for _ in range(2)]
    await (await a.user("ann")).aclose()
    for _ in range(a.config.login_max_failures):
        status, _, _ = await login(a, "ann", "not her password")
        assert status == 401
    status, body, retry_after = await login(b, "ann", PASSWORD)  # the right one, too late
    assert (status, body["error"]["code"]) == (429, "rate_limited"), body
    assert retry_after is not None


@pytest.mark.slow
@pytest.mark.timeout(240)  # three daemons started, hundreds of acknowledged writes
async def test_a_node_killed_under_chat_load_loses_no_acknowledged_message(
    service_prefix: str, postgres: PostgresServer, daemons: list[DaemonProcess], tmp_path: Path
) -> None:
    """Three nodes on one PostgreSQL database. Ann sends through A, Ben through B, while Cyd
    follows on C; A gets SIGKILL mid-stream. Ann sends her unanswered message again through B:
    every acknowledged message is stored once, and Cyd saw them live in the stored order."""
    url = await asyncio.to_thread(postgres.url, f"killed_{uuid.uuid4().hex[:12]}")
    await (await redis_bus()).aclose()  # skips without Redis
    env = {"COOPE_REDIS_PREFIX": service_prefix}
    shared = ("--database", url, "--redis", REDIS_URL)
    a, b, c = (DaemonProcess(tmp_path / f"node-{n}", *shared, env=env) for n in "abc")
    daemons.extend((a, b, c))
    for node in (a, b, c):
        node.start()
    async with (
        CoopeClient(a.url) as ann,
        CoopeClient(b.url) as ben,
        CoopeClient(c.url) as cy,
    ):
        for client, name in ((ann, "ann"), (ben, "ben"), (cy, "cyd")):
            await client.auth.signup(name, PASSWORD)
        room = await group_room(ann, "team", [ben, cy])
        seen: list[str] = []  # what Cy's follower on C gives, in its order

        async def follow() -> None:
            async for kind, message in cy.live.room(room.id, after=0):
                if kind == "created":
                    seen.append(message.client_id)

        follower = asyncio.create_task(follow())
        acknowledged: set[str] = set()
        unanswered: dict[str, str] = {}

        async def send_loop(client: CoopeClient, name: str) -> None:
            for n in range(10_000):
                client_id = f"{name}-{n}"
                unanswered[name] = client_id
                try:
                    await client.chat.send(room.id, f"{name} {n}", client_id=client_id)
                except CoopeError:
                    return  # the node died under us: this one was never acknowledged
                acknowledged.add(client_id)
                del unanswered[name]

        loops = [
            asyncio.create_task(send_loop(ann, "ann")),
            asyncio.create_task(send_loop(ben, "ben")),
        ]
        await assert_eventually(
            lambda: len(acknowledged) >= 150, timeout=60, what="150 acknowledged messages"
        )
        a.kill()  # SIGKILL while both are still sending
        await loops[0]
        await assert_eventually(
            lambda: sum(i.startswith("ben") for i in acknowledged) >= 120, what="ben goes on"
        )
        loops[1].cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loops[1]
        # Sent again through another node, under the same client id: stored once at most.
        async with CoopeClient(b.url, ann.token) as ann_on_b:
            again = await ann_on_b.chat.send(room.id, "again", client_id=unanswered["ann"])
        acknowledged.add(again.client_id)

        stored: list[MessageOut] = []
        while page := (await cy.chat.changes(room.id, after=len(stored), limit=1000)).messages:
            stored += page  # nothing was edited: each change is a message, its rev its seq
        stored_ids = [m.client_id for m in stored]
        assert acknowledged <= set(stored_ids), acknowledged - set(stored_ids)
        assert len(stored_ids) == len(set(stored_ids))  # nothing stored twice
        # Every number once, in order: a transaction cut short by the kill took none.
        assert [m.seq for m in stored] == list(range(1, len(stored) + 1))
        await assert_eventually(lambda: len(seen) >= len(stored), what="cy has seen them all")
        follower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follower
        assert seen == stored_ids


async def test_a_page_written_through_two_nodes_loses_nothing_to_compaction(
    start_daemon: DaemonFactory, tmp_path: Path
) -> None:
    """Each node keeps the page in memory and compacts its log after every update: a node never
    replaces log rows it does not hold (the other's) with a snapshot that lacks them."""
    service = {"data_dir": tmp_path / "service", "doc_compact_every": 1}
    a, b = [await start_daemon(**service) for _ in range(2)]
    async with await a.user("ann") as ann:
        ws = await ann.workspaces.create("Team")
        page = await ann.pages.create(ws.id, "Notes")
        async with CoopeClient(b.url, ann.token) as ann_on_b:
            await ann.pages.append(page.id, "one, through A")
            await ann_on_b.pages.append(page.id, "two, through B")
            await ann.pages.append(page.id, "three, through A")
            await ann_on_b.pages.append(page.id, "four, through B")
        fresh = await start_daemon(**service)  # reads the page from the database alone
        async with CoopeClient(fresh.url, ann.token) as ann_on_fresh:
            text = (await ann_on_fresh.pages.content(page.id)).markdown
    for line in ("one, through A", "two, through B", "three, through A", "four, through B"):
        assert line in text, text


TTL_S = 2.0  # how long a socket of a node cut off from Redis stays online (10 s by default)


async def _presence(friend: CoopeClient, name: str) -> str:
    (entry,) = [f for f in await friend.friends.list() if f.user.username == name]
    return entry.presence.state.value


async def test_presence_crosses_nodes_and_a_dead_nodes_users_go_offline(
    service_prefix: str, start_daemon: DaemonFactory, tmp_path: Path
) -> None:
    """Ann connects through A, Ben reads and hears her through B. A node that stops keeping its
    sockets alive in Redis (dead, or cut off) has its users announced offline by the other, and
    back online by itself once it reaches Redis again."""
    await (await redis_bus()).aclose()  # skips without Redis
    prefix = service_prefix
    shared = {"data_dir": tmp_path / "service", "redis_prefix": prefix, "presence_ttl_s": TTL_S}
    async with redis_link() as link:
        # A's events go straight to Redis; only what A keeps of who is online crosses the link.
        a = await start_daemon(redis_url=link.url, bus=await redis_bus(prefix=prefix), **shared)
        b = await start_daemon(redis_url=REDIS_URL, **shared)
        async with await a.user("ann") as ann, await b.user("ben") as ben:
            await befriend(ann, ben)
            async with ben.events() as heard_on_b:
                await ping(heard_on_b)
                async with ann.events() as ann_socket:
                    await ping(ann_socket)
                    assert (await next_presence(heard_on_b, "ann")).data.state == "online"
                    # Kept alive by A: she does not lapse, however many beats go by.
                    await assert_none_within(heard_on_b, presence_of("ann"), 3 * TTL_S)
                    assert await _presence(ben, "ann") == "online"
                assert (await next_presence(heard_on_b, "ann")).data.state == "offline"
                assert await _presence(ben, "ann") == "offline"

                async with CoopeClient(a.url, ann.token) as ann_again, ann_again.events() as s:
                    await ping(s)
                    assert (await next_presence(heard_on_b, "ann")).data.state == "online"
                    link.refusing = True
                    link.cut()  # A can no longer keep Ann's socket alive
                    lapsed = await next_presence(heard_on_b, "ann", timeout=PATIENCE_S)
                    assert lapsed.data.state == "offline"
                    assert await _presence(ben, "ann") == "offline"
                    link.refusing = False  # A puts her back, and says so
                    back = await next_presence(heard_on_b, "ann", timeout=PATIENCE_S)
                    assert back.data.state == "online"
                    assert await _presence(ben, "ann") == "online"
