"""`coope ai chat`: the context budget from the command line, and the interactive prompt's
line editing and kept input history at a real terminal (a pty)."""

from __future__ import annotations

import os
import pty
import select
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.test_ai_cli import AiCli
from tests.helpers import PATIENCE_S
from tests.notes.openai_server import FakeOpenAI

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as running:
        yield running


@pytest.fixture
def ai(server: FakeOpenAI, tmp_path: Path) -> AiCli:
    return AiCli(tmp_path, server.base_url)


def sent_history(server: FakeOpenAI) -> list[str]:
    """What the last request sent before its question (the system prompt left out)."""
    return [m["content"] for m in server.chat_requests[-1]["messages"][1:-1]]


def test_the_context_budget_is_an_option_and_a_setting(ai: AiCli, server: FakeOpenAI) -> None:
    ai.json("chat", "a" * 400)
    ai.json("chat", "short")
    assert sent_history(server) == ["a" * 400, "echo: " + "a" * 400]
    ai.json("chat", "again", "--context-tokens", "30")  # the newest turn only
    assert sent_history(server) == ["short", "echo: short"]
    done = ai.run_with({"COOPE_AI_CONTEXT_TOKENS": "0"}, "chat", "alone", "--json")
    assert done.returncode == 0, done.stderr
    assert sent_history(server) == []
    refused = ai("chat", "x", "--context-tokens", "-1")
    assert refused.returncode == 2


class Terminal:
    """`coope ai chat` with a pty as its terminal: type into it, read what it shows."""

    def __init__(self, ai: AiCli) -> None:
        self.master, slave = pty.openpty()
        env = {**ai.env(), "TERM": "xterm"}
        self.proc = subprocess.Popen(
            ai.command("chat"), stdin=slave, stdout=slave, stderr=slave, env=env
        )
        os.close(slave)
        self.shown = b""

    def type(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def wait_for(self, text: bytes, times: int = 1) -> None:
        """Read what the terminal shows until `text` appears in it (`times` times)."""
        deadline = time.monotonic() + PATIENCE_S
        while self.shown.count(text) < times:
            left = deadline - time.monotonic()
            assert left > 0, f"not shown within {PATIENCE_S} s: {text!r} in {self.shown!r}"
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    self.shown += os.read(self.master, 4096)
                except OSError:  # the other end closed: the process ended
                    break
        assert self.shown.count(text) >= times, self.shown

    def exit_code(self) -> int:
        return self.proc.wait(PATIENCE_S)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        os.close(self.master)


def test_lines_typed_are_kept_and_come_back_with_the_arrow_key(
    ai: AiCli, server: FakeOpenAI
) -> None:
    first = Terminal(ai)
    try:
        first.wait_for(b"you>")
        first.type(b"firts\x7f\x7fst question\r")  # backspaces: the line is edited
        first.wait_for(b"echo: first question")
        first.wait_for(b"you>", times=2)
        first.type(b"\r")  # an empty line ends the chat
        assert first.exit_code() == 0
    finally:
        first.stop()
    assert [r["messages"][-1]["content"] for r in server.chat_requests] == ["first question"]
    kept = ai.home / "data" / "coope" / "ai-chat-input.history"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert "first question" in kept.read_text()

    second = Terminal(ai)
    try:
        second.wait_for(b"you>")
        second.type(b"\x1b[A\r")  # up: the line typed in the chat before
        second.wait_for(b"echo: first question")
        second.wait_for(b"you>", times=2)
        second.type(b"\x04")  # Ctrl-D ends it too
        assert second.exit_code() == 0
    finally:
        second.stop()
    assert [r["messages"][-1]["content"] for r in server.chat_requests] == ["first question"] * 2
