"""An unmodified JavaScript client (yjs + y-websocket, in Node) against the page sync socket.

`tests/js/yclient.mjs` connects with a stock `WebsocketProvider` and edits the page the way an
editor in a browser would; these tests check that the daemon, the REST API and the Python
replica all agree with it. They need `node` and `tests/js/node_modules` (`scripts/test` runs
`npm ci` when npm is there); without them they skip, or fail under COOPE_REQUIRE_ALL=1.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from coope.client import CoopeClient
from coope.core.blocks import blocks_of, read_blocks
from tests.helpers import RunningDaemon, assert_eventually
from tests.tools import require_tool

JS_DIR = Path(__file__).resolve().parents[1] / "js"
YCLIENT = JS_DIR / "yclient.mjs"
# yclient.mjs gives up after 10 s by itself; this is the last resort if it hangs anyway.
PROCESS_TIMEOUT_S = 20.0

MARKDOWN = "# Plan\n\nFirst paragraph\n\n- [ ] a todo\n"


@dataclass
class JsOutput:
    """What one run of yclient.mjs printed, and how it ended."""

    code: int
    lines: list[str]
    stderr: str

    @property
    def blocks(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines if line.startswith("{")]

    @property
    def closed(self) -> tuple[int, str] | None:
        """(code, reason) of the server's close, if it closed the connection."""
        for line in self.lines:
            if line.startswith("closed "):
                code, _, reason = line.removeprefix("closed ").partition(" ")
                return int(code), reason
        return None

    @property
    def stopped(self) -> int | None:
        """The close code y-websocket took as final (it will not reconnect), if any."""
        for line in self.lines:
            if line.startswith("stopped "):
                return int(line.split()[1])
        return None

    def __str__(self) -> str:
        return f"exit {self.code}\nstdout:\n" + "\n".join(self.lines) + f"\nstderr:\n{self.stderr}"


@dataclass
class JsProcess:
    proc: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)

    async def _readline(self) -> str | None:
        assert self.proc.stdout is not None
        raw = await self.proc.stdout.readline()
        if not raw:
            return None
        line = raw.decode().rstrip("\n")
        self.lines.append(line)
        return line

    async def synced(self, timeout: float = PROCESS_TIMEOUT_S) -> None:
        """Wait until the client printed `synced` (its first sync with the daemon is done)."""

        async def until_synced() -> None:
            while (line := await self._readline()) != "synced":
                if line is None:
                    raise AssertionError("yclient ended before it synced")

        try:
            await asyncio.wait_for(until_synced(), timeout)
        except BaseException as exc:
            raise AssertionError(f"yclient did not sync:\n{await self.kill()}") from exc

    async def finish(self, timeout: float = PROCESS_TIMEOUT_S) -> JsOutput:
        """Wait for the process to end and collect its output; kill it after `timeout`."""
        try:
            stdout, stderr = await asyncio.wait_for(self.proc.communicate(), timeout)
        except BaseException as exc:  # the timeout, or the test being cancelled
            output = await self.kill()
            raise AssertionError(f"yclient did not finish within {timeout} s:\n{output}") from exc
        return self._output(stdout, stderr)

    async def kill(self) -> JsOutput:
        """Kill the process if it still runs; always reap it and close its pipes."""
        if self.proc.returncode is None:
            self.proc.kill()
        stdout, stderr = await self.proc.communicate()
        return self._output(stdout, stderr)

    def _output(self, stdout: bytes, stderr: bytes) -> JsOutput:
        self.lines += stdout.decode().splitlines()
        assert self.proc.returncode is not None
        return JsOutput(self.proc.returncode, self.lines, stderr.decode())


@dataclass
class YClient:
    """Runs yclient.mjs as one user of one daemon."""

    node: Path
    server: str
    token: str

    async def start(self, page_id: int, mode: str, *text: str) -> JsProcess:
        proc = await asyncio.create_subprocess_exec(
            str(self.node),
            str(YCLIENT),
            self.server,
            str(page_id),
            mode,
            *text,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            stdin=asyncio.subprocess.DEVNULL,
            env={**os.environ, "COOPE_TOKEN": self.token},
        )
        return JsProcess(proc)

    async def run(self, page_id: int, mode: str, *text: str) -> JsOutput:
        return await (await self.start(page_id, mode, *text)).finish()


def yclient(daemon: RunningDaemon, client: CoopeClient) -> YClient:
    """A yclient.mjs runner for this user; skips (or fails) the test without Node.js."""
    node = require_tool("node", hint="install Node.js 20 or newer")
    require_tool(
        "the yjs client's npm packages",
        JS_DIR / "node_modules",
        hint="run scripts/test, or npm ci --prefix tests/js",
    )
    assert client.token is not None
    return YClient(node, daemon.url, client.token)


@dataclass
class Page:
    workspace_id: int
    page_id: int


@pytest.fixture
async def editor(daemon: RunningDaemon) -> AsyncIterator[CoopeClient]:
    async with await daemon.user("ada") as client:
        yield client


@pytest.fixture
async def page(editor: CoopeClient) -> Page:
    workspace = await editor.workspaces.create("Interop")
    created = await editor.pages.create(workspace.id, "Plan", markdown=MARKDOWN)
    return Page(workspace.id, created.id)


async def rest_blocks(client: CoopeClient, page_id: int) -> list[dict[str, Any]]:
    content = await client.pages.content(page_id)
    return [block.model_dump() for block in content.blocks]


def is_subsequence(part: str, whole: str) -> bool:
    rest = iter(whole)
    return all(char in rest for char in part)


async def test_a_block_appended_by_yjs_is_stored(
    daemon: RunningDaemon, editor: CoopeClient, page: Page
) -> None:
    js = yclient(daemon, editor)
    before = await rest_blocks(editor, page.page_id)

    out = await js.run(page.page_id, "append", "written in JavaScript")

    assert out.code == 0, out
    # yclient exits only once the daemon answered a sync step 1 sent after the change, and
    # the daemon handles one socket's messages in order: the block is stored by now.
    after = await rest_blocks(editor, page.page_id)
    assert after[:-1] == before
    assert {k: v for k, v in after[-1].items() if k != "id"} == {
        "type": "paragraph",
        "text": "written in JavaScript",
        "checked": False,
        "lang": "",
    }
    content = await editor.pages.content(page.page_id)
    assert content.markdown == MARKDOWN + "\nwritten in JavaScript\n"
    # And another Yjs client, syncing from scratch, reads the same page.
    dump = await js.run(page.page_id, "dump")
    assert dump.code == 0, dump
    assert dump.blocks == after


async def test_yjs_and_python_typing_into_one_block_converge(
    daemon: RunningDaemon, editor: CoopeClient, page: Page
) -> None:
    js = yclient(daemon, editor)
    js_text, py_text = (
        "abcdefghijklmnopqrst\u00e9\U0001f44b",
        "ABCDEFGHIJKLMNOPQRST\u00dc\U0001f389",
    )
    async with editor.replica(page.page_id) as replica:
        first = read_blocks(replica.doc)[0]
        text = blocks_of(replica.doc)[first.id]["text"]
        typist = await js.start(page.page_id, "type", js_text)
        await typist.synced()
        for char in py_text:  # each insert is a transaction of its own, sent as it happens
            text.insert(len(str(text).encode()), char)
            await asyncio.sleep(0.005)
        await replica.flush()
        typed = await typist.finish()
        assert typed.code == 0, typed

        async def rest_text() -> str:
            return str((await rest_blocks(editor, page.page_id))[0]["text"])

        async def everything_typed() -> bool:
            return len(await rest_text()) == len(first.text) + len(js_text) + len(py_text)

        await assert_eventually(everything_typed)
        final = await rest_text()
        # The Python replica received every JavaScript keystroke, and agrees with the daemon.
        await assert_eventually(lambda: str(text) == final)

    assert final.startswith(first.text)
    typed_in = final[len(first.text) :]
    assert sorted(typed_in) == sorted(js_text + py_text)
    assert is_subsequence(js_text, typed_in), typed_in
    assert is_subsequence(py_text, typed_in), typed_in
    # The typing client saw at least its own text; a fresh one sees what the daemon has.
    assert is_subsequence(js_text, typed.blocks[0]["text"]), typed
    dump = await js.run(page.page_id, "dump")
    assert dump.code == 0, dump
    assert dump.blocks == await rest_blocks(editor, page.page_id)
    assert dump.blocks[0]["text"] == final


async def test_a_block_added_over_rest_reaches_a_yjs_client(
    daemon: RunningDaemon, editor: CoopeClient, page: Page
) -> None:
    js = yclient(daemon, editor)
    waiter = await js.start(page.page_id, "wait-for", "added over REST")
    await waiter.synced()  # so the block arrives as a live update, not in the first sync

    block_id = await editor.pages.append(page.page_id, "added over REST", kind="todo")

    out = await waiter.finish()
    assert out.code == 0, out
    assert out.blocks[-1] == {
        "id": block_id,
        "type": "todo",
        "text": "added over REST",
        "checked": False,
        "lang": "",
    }
    assert out.blocks == await rest_blocks(editor, page.page_id)


async def test_a_block_of_unknown_type_is_refused_with_4422(
    daemon: RunningDaemon, editor: CoopeClient, page: Page
) -> None:
    js = yclient(daemon, editor)
    before = await editor.pages.content(page.page_id)

    out = await js.run(page.page_id, "bad-type")

    assert out.code == 0, out
    assert out.closed is not None, out
    code, reason = out.closed
    assert code == 4422, out
    assert "bogus" in reason, out
    after = await editor.pages.content(page.page_id)
    assert after.blocks == before.blocks
    assert after.markdown == before.markdown == MARKDOWN
    # Nothing of the refused block lingers: a new client neither sees it nor is refused.
    dump = await js.run(page.page_id, "dump")
    assert dump.code == 0, dump
    assert dump.blocks == [block.model_dump() for block in before.blocks]
    appended = await js.run(page.page_id, "append", "still editable")
    assert appended.code == 0, appended
    assert (await rest_blocks(editor, page.page_id))[-1]["text"] == "still editable"


async def test_a_refusal_naming_a_non_ascii_block_id_still_closes_with_4422(
    daemon: RunningDaemon, editor: CoopeClient, page: Page
) -> None:
    """The close reason names the block; cut to fit a close frame, it must stay valid UTF-8.

    Otherwise the client fails the connection (1006 instead of 4422), and y-websocket, taking
    that for a network error, reconnects and resends the refused block forever.
    """
    js = yclient(daemon, editor)
    before = await editor.pages.content(page.page_id)

    # "block '" is 7 bytes, and each "\u00e9" 2: byte 120 falls inside a character.
    out = await js.run(page.page_id, "bad-type", "\u00e9" * 60)

    assert out.code == 0, out
    assert out.closed is not None, out
    assert out.closed[0] == 4422, out
    assert (await editor.pages.content(page.page_id)).blocks == before.blocks


async def test_a_viewer_editing_is_closed_with_4403(
    daemon: RunningDaemon, editor: CoopeClient, page: Page
) -> None:
    async with await daemon.user("vic") as viewer:
        await editor.workspaces.set_member(page.workspace_id, "vic", "viewer")
        js = yclient(daemon, viewer)
        before = await editor.pages.content(page.page_id)

        # A viewer syncs and reads like anyone...
        dump = await js.run(page.page_id, "dump")
        assert dump.code == 0, dump
        assert dump.blocks == [block.model_dump() for block in before.blocks]

        # ...but the first change it sends closes its socket.
        out = await js.run(page.page_id, "append", "a viewer's sneaky edit")

    assert out.code == 3, out  # closed by the server before the change was confirmed
    assert out.closed is not None, out
    assert out.closed[0] == 4403, out
    after = await editor.pages.content(page.page_id)
    assert after.blocks == before.blocks
    assert after.markdown == MARKDOWN


@pytest.mark.parametrize(
    ("who", "code"),
    [("a bad token", 4401), ("a stranger", 4404), ("no such page", 4404)],
)
async def test_a_refused_yjs_client_stops_instead_of_retrying(
    daemon: RunningDaemon, editor: CoopeClient, page: Page, who: str, code: int
) -> None:
    """A refusal is a close code after the upgrade: a refused upgrade is only "1006" to
    y-websocket, which then reconnects forever; 4400-4499 make it stop."""
    async with await daemon.user("stranger") as stranger:
        token = {"a bad token": "coope_bogus", "a stranger": stranger.token}.get(who)
        page_id = 999_999 if who == "no such page" else page.page_id
        js = YClient(yclient(daemon, editor).node, daemon.url, token or str(editor.token))
        out = await js.run(page_id, "dump")
    assert out.code == 3, out  # closed by the server before it synced
    assert out.closed is not None and out.closed[0] == code, out
    assert out.stopped == code, out
