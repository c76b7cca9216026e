"""The AI chat: its history on this machine, and a reply streamed from the chat model.

The history is a small TinyDB file, `<data dir>/ai-chat.json` (mode 0600: it holds what the
person typed), kept to the newest `MAX_MESSAGES` messages of the last `MAX_AGE_S` seconds. It
is one person's local cache, written by one command at a time, which is what TinyDB suits.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from tinydb import TinyDB
from tinydb.storages import JSONStorage
from tinydb.table import Document

from coope.core.errors import InvalidInput
from coope.notes.settings import NotesSettings, data_dir

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam

HISTORY_FILE = "ai-chat.json"
MAX_MESSAGES = 100
MAX_AGE_S = 7 * 24 * 3600.0
SYSTEM_PROMPT = (
    "You are a helpful assistant answering in a terminal. Be concise; format with Markdown."
)

_TABLE = "messages"
Role = Literal["user", "assistant"]


def default_history_path() -> Path:
    return data_dir() / HISTORY_FILE


@dataclass(frozen=True)
class ChatMessage:
    """One turn: who said it, what, when (epoch seconds) and, for replies, which model."""

    role: Role
    content: str
    at: float
    model: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class UnreadableHistory(InvalidInput):
    """The history file is not JSON, or not a chat history."""


class ChatHistory:
    """The chat's history file. Every call opens and closes it: no handle outlives a call.

    Args:
        path: The file; `default_history_path()` when not given.
        now: The clock (epoch seconds), injectable so that tests can age messages.
    """

    def __init__(
        self,
        path: Path | None = None,
        *,
        now: Callable[[], float] = time.time,
        max_messages: int = MAX_MESSAGES,
        max_age_s: float = MAX_AGE_S,
    ) -> None:
        self.path = path if path is not None else default_history_path()
        self._now = now
        self.max_messages = max_messages
        self.max_age_s = max_age_s

    def messages(self) -> list[ChatMessage]:
        """The kept messages, oldest first (none when there is no file yet)."""
        if not self.path.exists():
            return []
        return [message for _, message in self._kept(self._read(writable=False))]

    def add(self, role: Role, content: str, *, model: str | None = None) -> ChatMessage:
        """Append a message, then forget what is past the age or count limits."""
        message = ChatMessage(role, content, self._now(), model)
        self._create()
        with self._open(writable=True) as db:
            table = db.table(_TABLE)
            table.insert(message.to_json())
            stored = self._parsed(table.all())
            kept = {doc_id for doc_id, _ in self._kept(stored)}
            stale = [doc_id for doc_id, _ in stored if doc_id not in kept]
            if stale:
                table.remove(doc_ids=stale)
        return message

    def clear(self) -> int:
        """Forget everything, an unreadable file included; returns how many messages went."""
        try:
            count = len(self.messages())
        except UnreadableHistory:
            count = 0
        self.path.unlink(missing_ok=True)
        return count

    def _kept(self, stored: list[tuple[int, ChatMessage]]) -> list[tuple[int, ChatMessage]]:
        cutoff = self._now() - self.max_age_s
        recent = sorted(
            ((doc_id, m) for doc_id, m in stored if m.at >= cutoff),
            key=lambda item: (item[1].at, item[0]),
        )
        return recent[-self.max_messages :] if self.max_messages > 0 else []

    def _read(self, *, writable: bool) -> list[tuple[int, ChatMessage]]:
        with self._open(writable=writable) as db:
            return self._parsed(db.table(_TABLE).all())

    def _parsed(self, docs: list[Document]) -> list[tuple[int, ChatMessage]]:
        parsed = []
        for doc in docs:
            message = _message(doc)
            if message is None:
                raise self._unreadable(f"message {doc.doc_id} is malformed")
            parsed.append((doc.doc_id, message))
        return parsed

    def _create(self) -> None:
        """Make the directory (0700) and the file (0600) before TinyDB opens it."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Created 0600 from the start: what the person typed is never readable by others.
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600)
        os.close(fd)

    @contextmanager
    def _open(self, *, writable: bool) -> Iterator[TinyDB]:
        try:
            db = TinyDB(self.path, storage=_CheckedStorage, access_mode="r+" if writable else "r")
        except OSError as exc:
            raise UnreadableHistory(f"cannot open {self.path}: {exc.strerror or exc}") from None
        try:
            with db:
                yield db
        except _Malformed as exc:
            raise self._unreadable(str(exc)) from None

    def _unreadable(self, reason: str) -> UnreadableHistory:
        return UnreadableHistory(
            f"{self.path} is not a readable chat history ({reason}): "
            "run `coope ai clear` to start a new one"
        )


def stream_reply(
    settings: NotesSettings,
    history_messages: Sequence[ChatMessage],
    prompt: str,
    model: str | None = None,
) -> Iterator[str]:
    """The reply to `prompt`, with the history as context, as text pieces while they arrive.

    Raises:
        Unavailable: no server configured (at once); unreachable or failing (while iterating).
    """
    from coope.notes import openai_api

    openai_api.require_configured(settings)
    messages: list[ChatCompletionMessageParam] = [{"role": "system", "content": SYSTEM_PROMPT}]
    messages += [_message_param(m) for m in history_messages]
    messages.append({"role": "user", "content": prompt})
    return _deltas(settings, messages, model or settings.chat_model)


def _deltas(
    settings: NotesSettings, messages: list[ChatCompletionMessageParam], model: str
) -> Iterator[str]:
    from coope.notes import openai_api

    with openai_api.session(settings) as client:
        stream = client.chat.completions.create(model=model, messages=messages, stream=True)
        with stream:
            for chunk in stream:
                for choice in chunk.choices:
                    if choice.delta.content:
                        yield choice.delta.content


def _message_param(message: ChatMessage) -> ChatCompletionMessageParam:
    if message.role == "user":
        return {"role": "user", "content": message.content}
    return {"role": "assistant", "content": message.content}


def _message(doc: Document) -> ChatMessage | None:
    role, content, at, model = (doc.get(k) for k in ("role", "content", "at", "model"))
    if role not in ("user", "assistant") or not isinstance(content, str):
        return None
    if not isinstance(at, int | float) or isinstance(at, bool):
        return None
    if model is not None and not isinstance(model, str):
        return None
    return ChatMessage("user" if role == "user" else "assistant", content, float(at), model)


class _Malformed(Exception):
    pass


class _CheckedStorage(JSONStorage):
    """TinyDB's JSON storage, refusing a file that is not JSON or not shaped like a database."""

    def read(self) -> dict[str, dict[str, Any]] | None:
        try:
            data = super().read()
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError alike
            raise _Malformed(f"not JSON: {exc}") from None
        if data is None:
            return None
        if not isinstance(data, dict) or not all(
            isinstance(table, dict) and all(isinstance(doc, dict) for doc in table.values())
            for table in data.values()
        ):
            raise _Malformed("not a TinyDB database")
        return data
