"""The AI chat history with two chats writing at once, and the context's token budget."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from coope.notes.ai_chat import (
    ChatHistory,
    ChatMessage,
    estimated_tokens,
    stream_reply,
    within_budget,
)
from coope.notes.settings import NotesSettings
from tests.notes.openai_server import FakeOpenAI

WRITER = """
import sys
from pathlib import Path
from coope.notes.ai_chat import ChatHistory

path, name, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
history = ChatHistory(path, max_messages=100_000)
print("ready", flush=True)
sys.stdin.readline()  # both start writing together, when told to
for i in range(count):
    history.add_exchange(f"{name} asks {i}", f"answer to {name} {i}", model="m")
"""


def test_two_chats_writing_at_once_lose_no_turn(tmp_path: Path) -> None:
    path, count = tmp_path / "coope" / "ai-chat.json", 60
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), name, str(count)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for name in ("one", "two")
    ]
    try:
        for writer in writers:
            assert writer.stdout is not None and writer.stdout.readline() == "ready\n"
        for writer in writers:
            assert writer.stdin is not None
            writer.stdin.write("go\n")
            writer.stdin.close()
        assert [writer.wait(60) for writer in writers] == [0, 0]
    finally:
        for writer in writers:
            if writer.poll() is None:
                writer.kill()
            writer.wait(10)
            for pipe in (writer.stdin, writer.stdout):
                if pipe is not None and not pipe.closed:
                    pipe.close()

    kept = ChatHistory(path, max_messages=100_000).messages()
    assert len(kept) == 2 * 2 * count
    # Each question is followed by its own answer, whatever the other chat did meanwhile.
    pairs = list(zip(kept[::2], kept[1::2], strict=True))
    assert all(q.content.replace(" asks ", " ") == a.content[10:] for q, a in pairs), pairs
    for name in ("one", "two"):
        asked = [q.content for q, _ in pairs if q.content.startswith(name)]
        assert asked == [f"{name} asks {i}" for i in range(count)]


def turns(*lengths: int) -> list[ChatMessage]:
    """Alternating questions and answers of these lengths in characters, oldest first."""
    return [
        ChatMessage("user" if i % 2 == 0 else "assistant", str(i) * n, float(i))
        for i, n in enumerate(lengths)
    ]


def test_the_budget_keeps_the_newest_turns_that_fit() -> None:
    history = turns(400, 400, 40, 40, 40, 40)  # 104, 104, then 14 tokens each
    assert [estimated_tokens(m) for m in history] == [104, 104, 14, 14, 14, 14]
    assert within_budget(history, 10_000) == history
    assert within_budget(history, 56) == history[2:]
    assert within_budget(history, 160) == history[2:]  # the next one does not fit whole
    # Never an answer without its question first.
    assert within_budget(history, 42) == history[4:]
    assert within_budget(history, 13) == []
    assert within_budget(history, 0) == []


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as running:
        yield running


def test_only_the_history_within_the_budget_goes_along(server: FakeOpenAI) -> None:
    settings = NotesSettings.from_env({"COOPE_OPENAI_BASE_URL": server.base_url})
    history = turns(4000, 4000, 8, 8)
    reply = "".join(stream_reply(settings, history, "now?", context_tokens=100))
    assert reply == "echo: now?"
    sent = server.chat_requests[-1]["messages"]
    assert [m["content"] for m in sent[1:]] == ["2" * 8, "3" * 8, "now?"]
