"""Live page content: concurrent typing, offline merges, durability, compaction, bad peers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from pycrdt import (
    Awareness,
    Doc,
    Map,
    Text,
    create_awareness_message,
    create_sync_message,
    create_update_message,
)

from coope.client import CoopeClient
from coope.core.blocks import add_block, blocks_of, read_blocks
from coope.core.errors import InvalidInput, NotFound, PayloadTooLarge, Unauthenticated
from coope.daemon.http.keys import SERVICES
from tests.helpers import PASSWORD, DaemonProcess, RunningDaemon, assert_eventually

EVERY_BLOCK = (
    "# Title\n\n## Section\n\n### Detail\n\nA paragraph\nwith two lines\n\n- [ ] open task\n"
    "- [x] done task\n- bullet\n\n1. first\n2. second\n\n> a quote\n\n```python\ncode here\n```\n\n"
    "---\n"
)


async def _page(client: CoopeClient, markdown: str = "start") -> int:
    ws = await client.workspaces.create("Docs")
    return (await client.pages.create(ws.id, "Page", markdown=markdown)).id


def _texts(doc: Doc) -> list[str]:  # type: ignore[type-arg]
    return [b.text for b in read_blocks(doc)]


async def test_two_clients_typing_in_one_block_lose_nothing(alice: CoopeClient) -> None:
    page_id = await _page(alice, "")
    async with alice.replica(page_id) as a, alice.replica(page_id) as b:
        block = add_block(a.doc, "paragraph", "")
        await assert_eventually(lambda: block in blocks_of(b.doc))
        text_a, text_b = blocks_of(a.doc)[block]["text"], blocks_of(b.doc)[block]["text"]
        for i in range(40):  # both type at the same time, at both ends
            text_a.insert(0, "a")
            text_b.insert(len(str(text_b)), "b")
            if i % 5 == 0:
                await asyncio.sleep(0)
        await assert_eventually(lambda: str(text_a) == str(text_b) and len(str(text_a)) == 80)
        assert sorted(str(text_a)) == ["a"] * 40 + ["b"] * 40
    content = await alice.pages.content(page_id)
    assert [b.text for b in content.blocks] == [str(text_a)]


async def test_offline_edit_merges_on_reconnect(alice: CoopeClient) -> None:
    page_id = await _page(alice, "shared line")
    async with alice.replica(page_id) as a:
        offline = a.doc
    add_block(offline, "todo", "written on the train")  # no connection now
    async with alice.replica(page_id) as b:
        add_block(b.doc, "paragraph", "written at the office")
        await b.flush()
    async with alice.replica(page_id, doc=offline) as back, alice.replica(page_id) as other:
        expected = {"shared line", "written on the train", "written at the office"}
        await assert_eventually(
            lambda: set(_texts(back.doc)) == expected and set(_texts(other.doc)) == expected
        )


async def test_moving_a_page_while_it_is_edited_keeps_both(alice: CoopeClient) -> None:
    ws = await alice.workspaces.create("Docs")
    parent = await alice.pages.create(ws.id, "Parent")
    page = await alice.pages.create(ws.id, "Moving", markdown="before")
    async with alice.replica(page.id) as r:
        add_block(r.doc, "paragraph", "typed during the move")
        moved, _ = await asyncio.gather(alice.pages.move(page.id, parent.id), r.flush())
    assert moved.parent_id == parent.id
    await assert_eventually(lambda: _has_text(alice, page.id, "typed during the move"))


async def _has_text(client: CoopeClient, page_id: int, text: str) -> bool:
    return text in [b.text for b in (await client.pages.content(page_id)).blocks]


async def test_markdown_round_trips_through_the_daemon(alice: CoopeClient) -> None:
    page_id = await _page(alice, EVERY_BLOCK)
    content = await alice.pages.content(page_id)
    assert content.markdown == EVERY_BLOCK
    assert [b.type for b in content.blocks] == [
        "heading1",
        "heading2",
        "heading3",
        "paragraph",
        "todo",
        "todo",
        "bullet",
        "numbered",
        "numbered",
        "quote",
        "code",
        "divider",
    ]
    await alice.pages.import_markdown(page_id, "- [ ] appended task")
    assert (await alice.pages.content(page_id)).markdown.endswith("- [ ] appended task\n")


async def test_late_joiner_gets_everything(alice: CoopeClient) -> None:
    page_id = await _page(alice, EVERY_BLOCK)
    async with alice.replica(page_id) as r:
        assert len(read_blocks(r.doc)) == 12


async def test_search_finds_text_typed_over_the_socket(alice: CoopeClient) -> None:
    page_id = await _page(alice, "")
    async with alice.replica(page_id) as r:
        add_block(r.doc, "paragraph", "the zanzibar meeting")
        await r.flush()

    async def found() -> bool:
        return [h.page.id for h in await alice.pages.search("zanzibar")] == [page_id]

    await assert_eventually(found, timeout=10)


async def test_compaction_keeps_content_identical(start_daemon) -> None:  # type: ignore[no-untyped-def]
    daemon = await start_daemon(doc_compact_every=5, doc_idle_unload_s=0.2)
    async with await daemon.user("carl") as carl:
        page_id = await _page(carl, "")
        for i in range(23):
            await carl.pages.append(page_id, f"line {i}")
        async with carl.replica(page_id) as r:
            add_block(r.doc, "quote", "from a replica")
            await r.flush()
        before = await carl.pages.content(page_id)
        hub = daemon.app[SERVICES].docs
        await assert_eventually(lambda: page_id not in hub.loaded_pages(), timeout=10)
        after = await carl.pages.content(page_id)  # reloaded: snapshot + what is left of the log
    assert after.markdown == before.markdown
    assert len(after.blocks) == 24
    [(logged,)] = await daemon.sql("SELECT COUNT(*) FROM page_updates WHERE page_id = ?", page_id)
    [(snapshot,)] = await daemon.sql("SELECT length(snapshot) FROM pages WHERE id = ?", page_id)
    assert (logged, snapshot > 0) == (0, True)


# --- the socket refuses what it must --------------------------------------------------------


@pytest.fixture
async def sync_url(daemon: RunningDaemon, alice: CoopeClient) -> AsyncIterator[tuple[str, int]]:
    page_id = await _page(alice, "keep me")
    yield (
        f"{daemon.url.replace('http', 'ws', 1)}/api/v1/sync/{page_id}?token={alice.token}",
        page_id,
    )


async def _closing(url: str, *messages: bytes | str) -> tuple[int | None, str]:
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        for message in messages:
            if isinstance(message, str):
                await ws.send_str(message)
            else:
                await ws.send_bytes(message)
        while (msg := await ws.receive(timeout=5)).type is aiohttp.WSMsgType.BINARY:
            pass
        return ws.close_code, str(msg.extra or "")


@pytest.mark.parametrize(
    ("message", "code", "reason"),
    [
        (b"\x07", 4400, "unknown message type"),
        (b"\x00", 4400, "without a type"),
        (b"\x00\x09\x01\x02", 4400, "unknown sync message type"),
        (b"\x00\x02\xff\xff\xff", 4400, "malformed"),
        (b"\x00\x02\x05\x01\x02\x03\x04\x05", 4422, "not a valid Yjs update"),
        ("a text frame", 4400, "binary"),
    ],
)
async def test_malformed_messages_close_the_socket_with_a_reason(
    sync_url: tuple[str, int], alice: CoopeClient, message: bytes | str, code: int, reason: str
) -> None:
    url, page_id = sync_url
    closed_code, closed_reason = await _closing(url, message)
    assert closed_code == code and reason in closed_reason
    assert (await alice.pages.content(page_id)).markdown == "keep me\n"


async def test_an_unknown_block_type_is_refused_and_changes_nothing(
    sync_url: tuple[str, int], alice: CoopeClient
) -> None:
    url, page_id = sync_url
    doc: Doc = Doc()  # type: ignore[type-arg]
    doc.apply_update(await alice.pages.state(page_id))
    before = doc.get_state()
    blocks_of(doc)["evil"] = Map(
        {"type": "script", "text": Text("x"), "checked": False, "pos": "z"}
    )
    update = create_update_message(doc.get_update(before))
    code, reason = await _closing(url, create_sync_message(Doc()), update)
    assert (code, "unknown type 'script'" in reason) == (4422, True)
    assert (await alice.pages.content(page_id)).markdown == "keep me\n"
    with pytest.raises(InvalidInput, match="unknown type"):
        await alice.pages.apply_update(page_id, doc.get_update(before))


async def test_oversized_updates_close_the_socket(start_daemon) -> None:  # type: ignore[no-untyped-def]
    daemon = await start_daemon(max_doc_update_bytes=10_000)
    async with await daemon.user("ursula") as ursula:
        page_id = await _page(ursula)
        url = f"{daemon.url.replace('http', 'ws', 1)}/api/v1/sync/{page_id}?token={ursula.token}"
        code, _ = await _closing(url, b"\x00\x02" + b"\x00" * 20_000)
        assert code == 1009  # message too big
        with pytest.raises(PayloadTooLarge):
            await ursula.pages.apply_update(page_id, b"\x00" * 20_000)


async def test_viewers_read_but_their_updates_close_the_socket(
    daemon: RunningDaemon, alice: CoopeClient
) -> None:
    ws = await alice.workspaces.create("Docs")
    page = await alice.pages.create(ws.id, "Read only", markdown="look, don't touch")
    async with await daemon.user("vera") as vera:
        await alice.workspaces.set_member(ws.id, "vera", "viewer")
        async with vera.replica(page.id) as r:
            assert _texts(r.doc) == ["look, don't touch"]
            add_block(r.doc, "paragraph", "touching")
            await r.flush()
            await assert_eventually(lambda: r.close_code is not None)
            assert r.close_code == 4403
    assert (await alice.pages.content(page.id)).markdown == "look, don't touch\n"


async def test_the_socket_needs_a_member_and_a_valid_token(
    daemon: RunningDaemon, sync_url: tuple[str, int]
) -> None:
    _, page_id = sync_url
    async with await daemon.user("mallory") as mallory:
        with pytest.raises(NotFound):
            async with mallory.replica(page_id):
                pass
    async with daemon.client("coope_bogus") as stranger:
        with pytest.raises(Unauthenticated):
            async with stranger.replica(page_id):
                pass


async def test_awareness_is_forwarded_not_stored(sync_url: tuple[str, int]) -> None:
    url, _ = sync_url

    cursor_doc: Doc = Doc()  # type: ignore[type-arg]
    awareness = Awareness(cursor_doc)
    awareness.set_local_state({"user": "alice", "cursor": 3})
    message = create_awareness_message(awareness.encode_awareness_update([cursor_doc.client_id]))
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(url) as watcher, http.ws_connect(url) as typist:
            await typist.send_bytes(message)
            while True:
                got = await watcher.receive_bytes(timeout=5)
                if got[0] == 1:  # awareness
                    break
            assert b"cursor" in got


# --- durability ------------------------------------------------------------------------------


@pytest.mark.slow
async def test_acknowledged_content_survives_sigkill(tmp_path: Path) -> None:
    daemon = DaemonProcess(tmp_path / "data").start()
    try:
        async with CoopeClient(daemon.url) as alice:
            await alice.auth.signup("alice", PASSWORD)
            page_id = await _page(alice, "")
            for i in range(20):
                await alice.pages.append(page_id, f"acknowledged {i}")
            doc: Doc = Doc()  # type: ignore[type-arg]
            doc.apply_update(await alice.pages.state(page_id))
            before = doc.get_state()
            add_block(doc, "todo", "from a replica, acknowledged")
            await alice.pages.apply_update(page_id, doc.get_update(before))
        daemon.kill()
    finally:
        daemon.kill()
    restarted = DaemonProcess(tmp_path / "data").start()
    try:
        async with CoopeClient(restarted.url) as alice:
            await alice.auth.login("alice", PASSWORD)
            texts = [b.text for b in (await alice.pages.content(page_id)).blocks]
    finally:
        restarted.terminate()
    assert texts == [f"acknowledged {i}" for i in range(20)] + ["from a replica, acknowledged"]


async def test_deleting_a_page_closes_its_replicas_with_the_reason(alice: CoopeClient) -> None:
    page_id = await _page(alice, "doomed")
    async with alice.replica(page_id) as r:
        await alice.pages.archive(page_id)
        await alice.pages.delete(page_id)
        await assert_eventually(lambda: r.close_code is not None)
        assert (r.close_code, r.close_reason) == (4404, "this page was deleted")
