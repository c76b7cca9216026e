"""`coope ai` as a real subprocess, against the fake OpenAI-compatible server."""

from __future__ import annotations

import json
import os
import select
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.notes.openai_server import FakeOpenAI

# Each test starts `python -m coope` up to five times: seconds apiece on a busy machine.
pytestmark = pytest.mark.timeout(120)


@dataclass
class AiCli:
    """`coope ai ...` run as its own process, with its own XDG dirs."""

    home: Path
    base_url: str | None

    @property
    def history_path(self) -> Path:
        return self.home / "data" / "coope" / "ai-chat.json"

    def env(self) -> dict[str, str]:
        # Nothing of the developer's own configuration leaks in.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("COOPE_", "OPENAI_"))}
        env.update(
            XDG_DATA_HOME=str(self.home / "data"),
            XDG_CONFIG_HOME=str(self.home / "config"),
            NO_COLOR="1",
            COOPE_OPENAI_RETRIES="0",
            COOPE_OPENAI_TIMEOUT_S="20",
        )
        if self.base_url is not None:
            env["COOPE_OPENAI_BASE_URL"] = self.base_url
        return env

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "coope", "ai", *args]

    def __call__(self, *args: str, input: str = "") -> subprocess.CompletedProcess[str]:
        return self.run_with({}, *args, input=input)

    def run_with(
        self, extra_env: dict[str, str], *args: str, input: str = ""
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*args),
            input=input,
            capture_output=True,
            text=True,
            env={**self.env(), **extra_env},
            timeout=60,
        )

    def json(self, *args: str) -> Any:
        done = self(*args, "--json")
        assert done.returncode == 0, (done.returncode, done.stdout, done.stderr)
        assert done.stderr == ""
        return json.loads(done.stdout)


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as running:
        yield running


@pytest.fixture
def ai(server: FakeOpenAI, tmp_path: Path) -> AiCli:
    return AiCli(tmp_path, server.base_url)


def assert_error(done: subprocess.CompletedProcess[str], code: int, *phrases: str) -> None:
    """Failed the documented way: exit `code`, one `error:` line on stderr, nothing else."""
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    if line.startswith("{"):  # with --json, the error is JSON too
        error = json.loads(line)["error"]
        assert error["exit"] == code
        line = error["message"]
    else:
        assert line.startswith("error: ")
    for phrase in phrases:
        assert phrase in line


def test_one_shot_json_reply_is_kept_in_a_private_history(ai: AiCli, server: FakeOpenAI) -> None:
    assert ai.json("chat", "hello there") == {"reply": "echo: hello there", "model": "gpt-4o-mini"}

    [request] = server.chat_requests
    assert request["stream"] is True
    assert request["messages"][-1] == {"role": "user", "content": "hello there"}
    assert stat.S_IMODE(ai.history_path.stat().st_mode) == 0o600


def test_the_history_is_sent_as_context(ai: AiCli, server: FakeOpenAI) -> None:
    ai.json("chat", "first question")
    reply = ai.json("chat", "second question", "--model", "other-model")

    assert reply == {"reply": "echo: second question", "model": "other-model"}
    second = server.chat_requests[1]
    assert second["model"] == "other-model"
    assert [(m["role"], m["content"]) for m in second["messages"][1:]] == [
        ("user", "first question"),
        ("assistant", "echo: first question"),
        ("user", "second question"),
    ]


def test_a_one_shot_reply_is_printed_while_it_streams(ai: AiCli, server: FakeOpenAI) -> None:
    server.queue_chat("The answer is forty-two.")
    held = server.hold_stream(after_chunks=2)  # "The " and "answ", then the server waits

    proc = subprocess.Popen(
        ai.command("chat", "what is the answer?"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ai.env(),
    )
    try:
        early = read_at_least(proc, 8, timeout=20)
        # The first pieces are out while the rest of the reply has not been sent yet.
        assert early == b"The answ"
        assert held.reached.is_set() and proc.poll() is None
        held.release.set()
        rest, errors = proc.communicate(timeout=30)
    finally:
        held.release.set()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()

    assert proc.returncode == 0, errors
    assert errors == b""
    assert (early + rest).decode() == "The answer is forty-two.\n"


def read_at_least(proc: subprocess.Popen[bytes], count: int, timeout: float) -> bytes:
    """Bytes from the process's stdout as they come, without waiting for it to end."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    got = b""
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            chunk = os.read(fd, count - len(got))
            if not chunk:
                break
            got += chunk
    return got


def test_history_lists_and_clear_forgets(ai: AiCli) -> None:
    assert ai.json("history") == []
    ai.json("chat", "remember this")

    listed = ai.json("history")
    assert [(m["role"], m["content"], m["model"]) for m in listed] == [
        ("user", "remember this", None),
        ("assistant", "echo: remember this", "gpt-4o-mini"),
    ]
    shown = ai("history")
    assert shown.returncode == 0, shown.stderr
    assert "you" in shown.stdout and "remember this" in shown.stdout
    assert "gpt-4o-mini" in shown.stdout and "echo: remember this" in shown.stdout

    assert ai.json("clear") == {"cleared": 2}
    assert ai.json("history") == []
    cleared = ai("clear")
    assert cleared.returncode == 0 and "forgot 0 messages" in cleared.stderr


def test_the_interactive_chat_ends_on_an_empty_line_or_end_of_input(
    ai: AiCli, server: FakeOpenAI
) -> None:
    done = ai("chat", input="hello\nhow are you?\n\nnever sent\n")

    assert done.returncode == 0, done.stderr
    assert "echo: hello" in done.stdout and "echo: how are you?" in done.stdout
    assert len(server.chat_requests) == 2
    assert server.chat_requests[1]["messages"][1:3] == [
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "echo: hello"},
    ]

    at_eof = ai("chat", input="one more\n")  # no empty line: end of input ends it too
    assert at_eof.returncode == 0, at_eof.stderr
    assert "echo: one more" in at_eof.stdout
    assert len(ai.json("history")) == 6


def test_without_configuration_it_says_how_to_configure(tmp_path: Path) -> None:
    ai = AiCli(tmp_path, base_url=None)

    done = ai("chat", "hello")

    assert_error(done, 9, "COOPE_OPENAI_API_KEY", "COOPE_OPENAI_BASE_URL")
    assert not ai.history_path.exists()
    assert_error(ai("chat", input="hello\n"), 9, "COOPE_OPENAI_API_KEY")


def test_a_failing_server_is_one_error_line(ai: AiCli, server: FakeOpenAI) -> None:
    server.fail_next(100)

    assert_error(ai("chat", "hello", "--json"), 9, "HTTP 500", server.base_url)
    assert ai.json("history") == []  # a failed turn is not kept


def test_a_corrupt_history_is_an_error_until_cleared(ai: AiCli) -> None:
    ai.history_path.parent.mkdir(parents=True)
    ai.history_path.write_text("{broken")

    assert_error(ai("history"), 7, str(ai.history_path), "coope ai clear")
    assert_error(ai("chat", "hello"), 7, "coope ai clear")
    assert ai.json("clear") == {"cleared": 0}
    assert ai.json("chat", "hello")["reply"] == "echo: hello"


def test_json_needs_a_prompt(ai: AiCli, server: FakeOpenAI) -> None:
    assert_error(ai("chat", "--json"), 7, "--json needs a PROMPT")
    assert server.requests == []


def test_a_rejected_key_exits_with_the_bad_credentials_code(tmp_path: Path) -> None:
    with FakeOpenAI(api_key="right-key") as keyed:
        ai = AiCli(tmp_path, keyed.base_url)
        rejected = ai.run_with({"COOPE_OPENAI_API_KEY": "wrong-key"}, "chat", "hello")
        accepted = ai.run_with({"COOPE_OPENAI_API_KEY": "right-key"}, "chat", "hello", "--json")

    assert_error(rejected, 3, "rejected the API key", "COOPE_OPENAI_API_KEY")
    assert accepted.returncode == 0, accepted.stderr
    assert json.loads(accepted.stdout)["reply"] == "echo: hello"
