"""`coope tui` in a real terminal (tmux): started by the CLI, keys sent, the screen read back."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from coope.client import CoopeClient
from tests.daemon.social_helpers import group_room
from tests.helpers import RunningDaemon, assert_eventually
from tests.tools import require_tool

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]


class Tmux:
    """A tmux server of the test's own (its own socket), running one window."""

    def __init__(self, tmux: Path, socket: Path) -> None:
        self.tmux, self.socket = tmux, socket

    async def run(self, *args: str) -> str:
        proc = await asyncio.create_subprocess_exec(
            str(self.tmux),
            "-S",
            str(self.socket),
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate()
        if proc.returncode != 0:
            raise AssertionError(f"tmux {args[0]} failed: {err.decode()}")
        return out.decode()

    async def screen(self) -> str:
        return await self.run("capture-pane", "-p", "-t", "tui")

    async def shows(self, *texts: str) -> bool:
        screen = await self.screen()
        return all(text in screen for text in texts)


@pytest.fixture
async def tmux(tmp_path: Path) -> AsyncIterator[Tmux]:
    found = require_tool("tmux", hint="install tmux")
    server = Tmux(found, tmp_path / "tmux.sock")
    yield server
    if server.socket.exists():
        proc = await asyncio.create_subprocess_exec(
            str(found), "-S", str(server.socket), "kill-server", stderr=asyncio.subprocess.DEVNULL
        )
        await proc.wait()


async def test_coope_tui_in_a_terminal(
    daemon: RunningDaemon, alice: CoopeClient, tmux: Tmux, tmp_path: Path
) -> None:
    async with await daemon.user("bob") as bob:
        team = await group_room(alice, "team", [bob])
        await bob.chat.send(team.id, "hello from bob")
        coope = Path(sys.executable).parent / "coope"
        env = {"XDG_CONFIG_HOME": str(tmp_path / "config"), "TERM": "xterm-256color"}
        command = f"{coope} tui --server {daemon.url} --token {alice.token}"
        await tmux.run(
            "new-session", "-d", "-s", "tui", "-x", "100", "-y", "30",
            *(f"-e{key}={value}" for key, value in {**env, "PATH": os.environ["PATH"]}.items()),
            command,
        )  # fmt: skip

        await assert_eventually(
            lambda: tmux.shows("Rooms", "#team", "Friends", "hello from bob"), what="the screen"
        )
        await bob.chat.send(team.id, "and live")
        await assert_eventually(lambda: tmux.shows("and live"), what="a live message")

        await tmux.run("send-keys", "-t", "tui", "c")
        await tmux.run("send-keys", "-t", "tui", "-l", "typed in tmux")
        await tmux.run("send-keys", "-t", "tui", "Enter")

        async def sent() -> bool:
            return (await bob.chat.history(team.id)).messages[-1].body == "typed in tmux"

        try:
            await assert_eventually(sent, what="the message typed in the terminal")
        finally:
            print(await tmux.screen())  # shown when the test fails
        await assert_eventually(lambda: tmux.shows("alice typed in tmux"), what="drawn")

        await tmux.run("send-keys", "-t", "tui", "Escape")
        await tmux.run("send-keys", "-t", "tui", "C-q")

        async def gone() -> bool:
            try:
                await tmux.run("has-session", "-t", "tui")
            except AssertionError:
                return True
            return False

        await assert_eventually(gone, what="the TUI quit on Ctrl+Q")
