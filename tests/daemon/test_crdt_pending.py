"""CRDT updates that build on changes the daemon has not seen, and what compaction keeps.

An update whose dependencies are missing would be kept "pending" by Yjs and integrated later,
inside whichever update brings them: the block check would see it only then, or never. The
daemon refuses such updates whole, so what it checks is what it stores.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from pycrdt import Doc, merge_updates

from coope.client import CoopeClient
from coope.core.blocks import blocks_of, read_blocks
from coope.core.errors import Conflict
from coope.daemon.app import create_app
from coope.daemon.config import DaemonConfig
from tests.daemon.sync_client import (
    add_block_update,
    replica_of,
    set_type_update,
    sync_socket,
)
from tests.helpers import PASSWORD, RunningDaemon

START = "already there"
HONEST_CLIENT_ID = 1001
OTHER_CLIENT_ID = 2002


async def _page(client: CoopeClient) -> int:
    ws = await client.workspaces.create("Docs")
    page_id = (await client.pages.create(ws.id, "Page")).id
    await client.pages.append(page_id, START)
    return page_id


async def _blocks(client: CoopeClient, page_id: int) -> list[tuple[str, str]]:
    return [(b.type, b.text) for b in (await client.pages.content(page_id)).blocks]


def _delete_update(doc: Doc[Any], block_id: str) -> bytes:
    before = doc.get_state()
    del blocks_of(doc)[block_id]
    return doc.get_update(before)


def _retype(doc: Doc[Any]) -> bytes:
    return set_type_update(doc, "new", "bogus")


def _delete(doc: Doc[Any]) -> bytes:
    return _delete_update(doc, "new")


@pytest.mark.parametrize("dependent", [_retype, _delete], ids=["retypes", "deletes"])
async def test_an_update_building_on_a_change_never_sent_is_refused(
    daemon: RunningDaemon, alice: CoopeClient, dependent: Callable[[Doc[Any]], bytes]
) -> None:
    page_id = await _page(alice)
    doc = replica_of(await alice.pages.state(page_id), OTHER_CLIENT_ID)
    first = add_block_update(doc, "new", "paragraph", "a valid block")  # never sent (yet)
    second = dependent(doc)  # builds on it: "bogus" type, or its deletion

    async with sync_socket(daemon, page_id, alice.token) as socket:
        await socket.send_update(second)
        code, reason = await socket.closed()
    assert code == 1013  # y-websocket reconnects, and its sync handshake sends `first` first
    assert "has not received" in reason
    with pytest.raises(Conflict, match="has not received"):
        await alice.pages.apply_update(page_id, second)
    assert await _blocks(alice, page_id) == [("paragraph", START)]

    # The missing change arrives at last: it alone lands; what was refused does not follow it.
    await alice.pages.apply_update(page_id, first)
    assert await _blocks(alice, page_id) == [
        ("paragraph", START),
        ("paragraph", "a valid block"),
    ]
    stored = replica_of(await alice.pages.state(page_id))
    assert [b.type for b in read_blocks(stored)] == ["paragraph", "paragraph"]


async def test_a_client_asked_in_vain_to_resync_is_told_to_stop(
    daemon: RunningDaemon, alice: CoopeClient
) -> None:
    # A client whose doc holds changes built on a change the daemon will never get (another
    # tab's, refused) sends them again with every sync handshake: reconnecting cannot help.
    page_id = await _page(alice)
    doc = replica_of(await alice.pages.state(page_id), OTHER_CLIENT_ID)
    add_block_update(doc, "new", "paragraph", "never to arrive")
    waiting = set_type_update(doc, "new", "quote")
    codes = []
    for typed in range(3):  # each handshake also brings what was typed since
        waiting = merge_updates(waiting, add_block_update(doc, f"b{typed}", "paragraph", "more"))
        async with sync_socket(daemon, page_id, alice.token) as socket:
            await socket.send_update(waiting)
            code, reason = await socket.closed()
        codes.append(code)
    assert codes == [1013, 1013, 4409]
    assert "reload" in reason
    assert await _blocks(alice, page_id) == [("paragraph", START)]


async def test_an_honest_update_is_accepted_beside_an_out_of_order_one(
    daemon: RunningDaemon, alice: CoopeClient
) -> None:
    """Another client's update that builds on the honest editor's next change must not ride
    in with that change (and get it refused, or land unchecked)."""
    page_id = await _page(alice)
    state = await alice.pages.state(page_id)
    honest = replica_of(state, HONEST_CLIENT_ID)
    honest_update = add_block_update(honest, "h", "paragraph", "honest work")
    attacker = replica_of(state, OTHER_CLIENT_ID)
    attacker.apply_update(honest_update)  # foreseen, not received from the daemon
    poisoned = set_type_update(attacker, "h", "bogus")

    async with sync_socket(daemon, page_id, alice.token) as editor:
        async with sync_socket(daemon, page_id, alice.token) as other:
            await other.send_update(poisoned)
            assert (await other.closed())[0] == 1013
        await editor.send_update(honest_update)
        assert await editor.confirm(), "the honest update was refused"
    assert await _blocks(alice, page_id) == [("paragraph", START), ("paragraph", "honest work")]


# --- compaction keeps every accepted byte -----------------------------------------------------


@asynccontextmanager
async def _running(config: DaemonConfig) -> AsyncIterator[RunningDaemon]:
    """The daemon in-process; stopped cleanly (shutdown, compaction) on exit."""
    app = create_app(config)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        yield RunningDaemon(f"http://127.0.0.1:{runner.addresses[0][1]}", app, config, None)
    finally:
        await runner.cleanup()


def _config(data_dir: Path) -> DaemonConfig:
    return DaemonConfig(
        data_dir=data_dir, host="127.0.0.1", port=0, scrypt_log2_n=10, doc_compact_every=3
    )


def _log_rows(config: DaemonConfig, page_id: int) -> int:
    db = sqlite3.connect(config.db_path)
    try:
        row = db.execute("SELECT COUNT(*) FROM page_updates WHERE page_id = ?", (page_id,))
        return int(row.fetchone()[0])
    finally:
        db.close()


async def test_a_clean_restart_keeps_every_accepted_update(tmp_path: Path) -> None:
    config = _config(tmp_path / "data")
    async with _running(config) as daemon, await daemon.user("alice") as alice:
        page_id = await _page(alice)
        doc = replica_of(await alice.pages.state(page_id), OTHER_CLIENT_ID)
        async with sync_socket(daemon, page_id, alice.token) as socket:
            for i in range(4):  # over the socket, crossing a compaction
                await socket.send_update(add_block_update(doc, f"s{i}", "todo", f"socket {i}"))
            assert await socket.confirm()
        await alice.pages.apply_update(page_id, add_block_update(doc, "r", "quote", "over REST"))
        await alice.pages.append(page_id, "appended")
        ahead = replica_of(doc.get_update(), OTHER_CLIENT_ID)
        add_block_update(ahead, "gap", "paragraph", "never sent")
        with pytest.raises(Conflict):
            await alice.pages.apply_update(page_id, set_type_update(ahead, "gap", "code"))
        expected = await _blocks(alice, page_id)
    assert _log_rows(config, page_id) == 0  # the clean stop compacted the log into the snapshot

    async with _running(config) as daemon, daemon.client() as alice:
        await alice.auth.login("alice", PASSWORD)
        assert await _blocks(alice, page_id) == expected
    assert sorted(expected) == sorted(
        [
            ("paragraph", START),
            *[("todo", f"socket {i}") for i in range(4)],
            ("quote", "over REST"),
            ("paragraph", "appended"),
        ]
    )


async def test_logged_content_waiting_on_a_dependency_survives_compaction(
    tmp_path: Path,
) -> None:
    """A log written before such updates were refused may hold one: compaction keeps it."""
    config = _config(tmp_path / "data")
    async with _running(config) as daemon, await daemon.user("alice") as alice:
        page_id = await _page(alice)
        doc = replica_of(await alice.pages.state(page_id), OTHER_CLIENT_ID)
    missing = add_block_update(doc, "late", "paragraph", "its dependency")
    waiting = set_type_update(doc, "late", "heading1")
    db = sqlite3.connect(config.db_path)
    with db:
        db.execute(
            "INSERT INTO page_updates (page_id, seq, data) SELECT id, snapshot_seq + 100, ?"
            " FROM pages WHERE id = ?",
            (waiting, page_id),
        )
    db.close()

    async with _running(config) as daemon, daemon.client() as alice:
        await alice.auth.login("alice", PASSWORD)
        assert await _blocks(alice, page_id) == [("paragraph", START)]  # loaded, then compacted
    assert _log_rows(config, page_id) == 0

    async with _running(config) as daemon, daemon.client() as alice:
        await alice.auth.login("alice", PASSWORD)
        await alice.pages.apply_update(page_id, missing)
        assert await _blocks(alice, page_id) == [
            ("paragraph", START),
            ("heading1", "its dependency"),  # the waiting change, kept through the snapshot
        ]
