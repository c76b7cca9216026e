"""One page open on several daemons: replicas connected to different nodes edit it live, what the
bus loses is read from the log, and a killed node loses none of what it stored.

The in-process nodes share one database (a SQLite file, or PostgreSQL) and a Redis bus; the
processes of the last test run on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from pycrdt import Awareness, Decoder, Doc, Text, create_awareness_message

from coope.client import CoopeClient
from coope.core.blocks import add_block, blocks_of, read_blocks
from coope.daemon.bus_redis import RedisBus
from coope.daemon.http.keys import SERVICES
from tests.conftest import DaemonFactory
from tests.daemon.sync_client import SyncSocket, sync_url
from tests.helpers import PASSWORD, PATIENCE_S, DaemonProcess, RunningDaemon, assert_eventually
from tests.tools import REDIS_URL, PostgresServer, redis_link


async def _node(
    start_daemon: DaemonFactory, tmp_path: Path, service_prefix: str, **config: Any
) -> RunningDaemon:
    return await start_daemon(
        data_dir=tmp_path / "service", bus=RedisBus(REDIS_URL, prefix=service_prefix), **config
    )


async def _page(client: CoopeClient, markdown: str = "") -> int:
    ws = await client.workspaces.create("Team")
    return (await client.pages.create(ws.id, "Notes", markdown=markdown)).id


def _texts(doc: Doc[Any]) -> list[str]:
    return [block.text for block in read_blocks(doc)]


async def test_replicas_on_two_nodes_type_into_one_block_and_converge(
    start_daemon: DaemonFactory, tmp_path: Path, service_prefix: str
) -> None:
    a, b = [await _node(start_daemon, tmp_path, service_prefix) for _ in range(2)]
    async with await a.user("ann") as ann, CoopeClient(b.url, ann.token) as ann_on_b:
        page_id = await _page(ann)
        async with ann.replica(page_id) as on_a, ann_on_b.replica(page_id) as on_b:
            block = add_block(on_a.doc, "paragraph", "")
            await assert_eventually(lambda: block in blocks_of(on_b.doc), what="the block on B")
            text_a: Text = blocks_of(on_a.doc)[block]["text"]
            text_b: Text = blocks_of(on_b.doc)[block]["text"]
            for i in range(40):  # both type at once, at both ends, through different nodes
                text_a.insert(0, "a")
                text_b.insert(len(str(text_b)), "b")
                if i % 5 == 0:
                    await asyncio.sleep(0)
            await assert_eventually(
                lambda: str(text_a) == str(text_b) and len(str(text_a)) == 80, what="converged"
            )
        assert sorted(str(text_a)) == ["a"] * 40 + ["b"] * 40
        for node in (ann, ann_on_b):  # and both nodes stored and hold the same
            assert [block.text for block in (await node.pages.content(page_id)).blocks] == [
                str(text_a)
            ]


async def test_an_update_too_big_for_the_bus_is_read_from_the_log(
    start_daemon: DaemonFactory, tmp_path: Path, service_prefix: str
) -> None:
    a, b = [await _node(start_daemon, tmp_path, service_prefix) for _ in range(2)]
    async with await a.user("ann") as ann, CoopeClient(b.url, ann.token) as ann_on_b:
        page_id = await _page(ann, "first")
        async with ann_on_b.replica(page_id) as on_b:
            long = "x" * 100_000  # announced by its number alone
            await ann.pages.append(page_id, long)
            await assert_eventually(lambda: long in _texts(on_b.doc), what="the long block on B")
            await ann.pages.append(page_id, "short")
            await assert_eventually(lambda: "short" in _texts(on_b.doc), what="the next on B")
            assert _texts(on_b.doc) == ["first", long, "short"]


async def test_what_a_node_missed_while_cut_from_redis_reaches_its_replicas(
    start_daemon: DaemonFactory, tmp_path: Path, service_prefix: str
) -> None:
    """Node B loses Redis while A takes edits (and compacts after each, so the log B reads
    holds a snapshot): B reads them from the log once it listens again."""
    async with redis_link() as link:
        a = await _node(start_daemon, tmp_path, service_prefix, doc_compact_every=1)
        b = await start_daemon(
            data_dir=tmp_path / "service",
            bus=RedisBus(link.url, prefix=service_prefix, dead_after_s=1),
            doc_compact_every=1,
        )
        async with await a.user("ann") as ann, CoopeClient(b.url, ann.token) as ann_on_b:
            page_id = await _page(ann, "before")
            async with ann_on_b.replica(page_id) as on_b:
                await ann.pages.append(page_id, "heard")
                await assert_eventually(lambda: "heard" in _texts(on_b.doc), what="heard on B")
                link.refusing = True
                link.cut()
                # B's sockets follow access over the bus: without it, they close (try again).
                await assert_eventually(lambda: on_b.close_code is not None, what="B gave up")
                kept = on_b.doc
            await ann.pages.append(page_id, "said while B was away")
            link.refusing = False
            await assert_eventually(lambda: _replica_opens(ann_on_b, page_id), what="B back")
            async with ann_on_b.replica(page_id, doc=kept) as again:
                await assert_eventually(
                    lambda: "said while B was away" in _texts(again.doc), what="caught up"
                )
                assert _texts(again.doc) == ["before", "heard", "said while B was away"]


async def _replica_opens(client: CoopeClient, page_id: int) -> bool:
    """Whether a replica connects and stays (a node without its bus says "try again")."""
    replica = client.replica(page_id)
    async with replica:
        return replica.close_code is None


async def test_cursors_cross_nodes_and_a_newcomer_is_told_the_others(
    start_daemon: DaemonFactory, tmp_path: Path, service_prefix: str
) -> None:
    a, b = [await _node(start_daemon, tmp_path, service_prefix) for _ in range(2)]
    async with await a.user("ann") as ann:
        page_id = await _page(ann, "text")
        async with aiohttp.ClientSession() as http:
            on_a = await http.ws_connect(sync_url(a, page_id, ann.token))
            mine = Awareness(Doc())

            async def move(cursor: int) -> None:
                mine.set_local_state({"user": "ann on A", "cursor": cursor})
                update = mine.encode_awareness_update([mine.client_id])
                await on_a.send_bytes(create_awareness_message(update))

            await move(1)
            assert await SyncSocket(on_a).confirm()  # A has taken the cursor
            # A socket opened on B afterwards asks the other nodes: A answers with ann's cursor.
            on_b = await http.ws_connect(sync_url(b, page_id, ann.token))
            seen = Awareness(Doc())  # what B's client makes of the cursors it is sent
            await _until_seen(on_b, seen, lambda: mine.client_id in seen.states)
            await move(2)  # and what moves, live
            await _until_seen(
                on_b, seen, lambda: seen.states.get(mine.client_id, {}).get("cursor") == 2
            )
            await on_a.close()  # and what leaves
            await _until_seen(on_b, seen, lambda: mine.client_id not in seen.states)
            await on_b.close()


async def _until_seen(
    ws: aiohttp.ClientWebSocketResponse, seen: Awareness, condition: Callable[[], bool]
) -> None:
    """Apply the awareness messages the socket receives to `seen` until `condition` holds."""
    async with asyncio.timeout(PATIENCE_S):
        while not condition():
            msg = await ws.receive()
            assert msg.type is aiohttp.WSMsgType.BINARY, msg
            if msg.data[0] == 1:  # awareness
                seen.apply_awareness_update(Decoder(msg.data[1:]).read_message() or b"", "test")


async def test_replicas_on_killed_node_converge_through_another(
    service_prefix: str, postgres: PostgresServer, daemons: list[DaemonProcess], tmp_path: Path
) -> None:
    """Three processes on one PostgreSQL database: replicas type into one page through A and B,
    A gets SIGKILL; the replica of A reconnects through B with what it typed meanwhile, and C,
    reading the database alone, holds what both ended with."""
    url = await asyncio.to_thread(postgres.url, f"docs_{uuid.uuid4().hex[:12]}")
    shared = ("--database", url, "--redis", REDIS_URL)
    a, b, c = (
        DaemonProcess(tmp_path / f"node-{n}", *shared, env={"COOPE_REDIS_PREFIX": service_prefix})
        for n in "abc"
    )
    daemons.extend((a, b, c))
    for node in (a, b, c):
        node.start()
    async with CoopeClient(a.url) as ann:
        await ann.auth.signup("ann", PASSWORD)
        page_id = await _page(ann, "start")
        async with CoopeClient(b.url, ann.token) as ann_on_b, CoopeClient(c.url, ann.token) as on_c:
            async with ann.replica(page_id) as on_a, ann_on_b.replica(page_id) as on_b:
                for n in range(20):
                    add_block(on_a.doc, "paragraph", f"a{n}")
                    add_block(on_b.doc, "paragraph", f"b{n}")
                    await asyncio.sleep(0)
                await assert_eventually(
                    lambda: len(_texts(on_a.doc)) == len(_texts(on_b.doc)) == 41, what="live"
                )
                a.kill()
                await assert_eventually(lambda: on_a.close_code is not None, what="A is gone")
                orphan = on_a.doc
                add_block(orphan, "paragraph", "typed while A was down")
            async with ann_on_b.replica(page_id, doc=orphan) as back:
                add_block(back.doc, "paragraph", "after coming back")
                await back.flush()
                await assert_eventually(
                    lambda: len(_texts(back.doc)) == 43, what="the orphan's edits merged"
                )
                expected = sorted(_texts(back.doc))

            async def c_holds_it() -> bool:
                content = await on_c.pages.content(page_id)
                return sorted(block.text for block in content.blocks) == expected

            await assert_eventually(c_holds_it, what="C reads it all from the database")


async def test_a_page_deleted_through_one_node_closes_its_replicas_on_the_other(
    start_daemon: DaemonFactory, tmp_path: Path, service_prefix: str
) -> None:
    a, b = [await _node(start_daemon, tmp_path, service_prefix) for _ in range(2)]
    async with await a.user("ann") as ann, CoopeClient(b.url, ann.token) as ann_on_b:
        page_id = await _page(ann, "doomed")
        async with ann_on_b.replica(page_id) as on_b:
            await ann.pages.archive(page_id)
            await ann.pages.delete(page_id)
            await assert_eventually(lambda: on_b.close_code is not None, what="closed on B")
            assert (on_b.close_code, on_b.close_reason) == (4404, "this page was deleted")
    # Nothing of the page is left on B: its listener is gone with it.
    assert page_id not in b.app[SERVICES].docs.loaded_pages()
    await assert_eventually(
        lambda: not any(t.get_name() == f"page-{page_id}-relay" for t in asyncio.all_tasks()),
        what="B's listener of the page gone",
    )
