"""The AI chat's local history (TinyDB file) and the streamed reply against a fake server."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from coope.core.errors import Unavailable
from coope.notes.ai_chat import (
    MAX_AGE_S,
    SYSTEM_PROMPT,
    ChatHistory,
    ChatMessage,
    UnreadableHistory,
    default_history_path,
    stream_reply,
)
from coope.notes.settings import NotesSettings, data_dir
from tests.notes.openai_server import FakeOpenAI

START = 1_700_000_000.0


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as running:
        yield running


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "coope" / "ai-chat.json"


def stored_contents(path: Path) -> list[str]:
    """What the file itself holds, read without coope's code."""
    tables = json.loads(path.read_text())
    return [doc["content"] for doc in tables["messages"].values()]


# -- history --------------------------------------------------------------------------------------


def test_the_history_keeps_the_newest_100_messages(path: Path, clock: Clock) -> None:
    history = ChatHistory(path, now=clock)
    for i in range(105):
        clock.now += 1
        history.add("user" if i % 2 == 0 else "assistant", f"message {i}")

    kept = [m.content for m in history.messages()]

    assert kept == [f"message {i}" for i in range(5, 105)]
    assert sorted(stored_contents(path)) == sorted(kept)  # forgotten on disk, not just hidden


def test_messages_older_than_a_week_are_dropped(path: Path, clock: Clock) -> None:
    history = ChatHistory(path, now=clock)
    history.add("user", "last week")
    clock.now += MAX_AGE_S - 60
    history.add("user", "six days later")
    assert [m.content for m in history.messages()] == ["last week", "six days later"]

    clock.now += 120  # the first message is now a week and a minute old

    assert [m.content for m in history.messages()] == ["six days later"]
    history.add("assistant", "today")
    assert stored_contents(path) == ["six days later", "today"]


def test_the_history_persists_across_instances_in_a_private_file(path: Path, clock: Clock) -> None:
    ChatHistory(path, now=clock).add("user", "remember me")
    clock.now += 5
    ChatHistory(path, now=clock).add("assistant", "I will", model="m1")

    assert ChatHistory(path, now=clock).messages() == [
        ChatMessage("user", "remember me", START),
        ChatMessage("assistant", "I will", START + 5, "m1"),
    ]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_no_file_means_no_history_and_clear_forgets(path: Path, clock: Clock) -> None:
    history = ChatHistory(path, now=clock)
    assert history.messages() == []
    assert not path.exists()  # reading creates nothing

    history.add("user", "a")
    history.add("assistant", "b")

    assert history.clear() == 2
    assert history.messages() == []


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "[1, 2, 3]",
        '{"messages": {"1": "just a string"}}',
        '{"messages": {"1": {"role": "robot", "content": "x", "at": 1}}}',
        '{"messages": {"1": {"role": "user", "content": "x", "at": "yesterday"}}}',
    ],
)
def test_a_corrupt_file_gives_a_clear_error_and_clear_recovers(
    path: Path, clock: Clock, content: str
) -> None:
    path.parent.mkdir(parents=True)
    path.write_text(content)
    history = ChatHistory(path, now=clock)

    with pytest.raises(UnreadableHistory, match="not a readable chat history") as caught:
        history.messages()
    assert str(path) in caught.value.message
    assert "coope ai clear" in caught.value.message
    with pytest.raises(UnreadableHistory):
        history.add("user", "hello")

    assert history.clear() == 0
    history.add("user", "hello")
    assert [m.content for m in history.messages()] == ["hello"]


def test_the_default_path_follows_xdg_data_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_history_path() == tmp_path / "xdg" / "coope" / "ai-chat.json"
    assert ChatHistory().path == default_history_path()

    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data_dir() == tmp_path / "home" / ".local" / "share" / "coope"


# -- streamed replies -----------------------------------------------------------------------------


def test_stream_reply_streams_with_the_history_as_context(server: FakeOpenAI) -> None:
    settings = NotesSettings(base_url=server.base_url, retries=0, timeout_s=10.0)
    history = [
        ChatMessage("user", "hi", START),
        ChatMessage("assistant", "hello!", START + 1, "m1"),
    ]

    pieces = list(stream_reply(settings, history, "and now?", "chat-model"))

    assert "".join(pieces) == "echo: and now?"
    assert len(pieces) > 1  # delivered piece by piece, not all at the end
    [request] = server.chat_requests
    assert request["stream"] is True
    assert request["model"] == "chat-model"
    assert request["messages"] == [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello!"},
        {"role": "user", "content": "and now?"},
    ]


def test_stream_reply_uses_the_configured_model_by_default(server: FakeOpenAI) -> None:
    settings = NotesSettings(base_url=server.base_url, chat_model="the-default", retries=0)

    assert "".join(stream_reply(settings, [], "x")) == "echo: x"
    assert server.chat_requests[0]["model"] == "the-default"


def test_stream_reply_without_configuration_fails_at_once() -> None:
    with pytest.raises(Unavailable, match="COOPE_OPENAI_BASE_URL"):
        stream_reply(NotesSettings(), [], "hello")


def test_stream_reply_reports_a_failing_server(server: FakeOpenAI) -> None:
    server.fail_next(100)
    settings = NotesSettings(base_url=server.base_url, retries=1, timeout_s=10.0)

    with pytest.raises(Unavailable, match="HTTP 500"):
        list(stream_reply(settings, [], "hello"))
    assert len(server.requests) == 2
