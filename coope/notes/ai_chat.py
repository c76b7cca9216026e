"""The AI chat: its history on this machine, and a reply streamed from the chat model.

The history is a small TinyDB file, `<data dir>/ai-chat.json` (mode 0600: it holds what the
person typed), kept to the newest `MAX_MESSAGES` messages of the last `MAX_AGE_S` seconds. It
is one person's local cache. TinyDB rewrites the whole file on each write, so two chats at once
could each write back what they read and lose the other's turn: every read and every
read-modify-write holds a lock on `ai-chat.json.lock` beside it (`fcntl.flock`: shared to
read, exclusive to write), and a question and its answer are stored together.

Of the kept history, only the newest turns that fit `context_tokens` (estimated as characters
/ 4, see `estimated_tokens`) go to the model as context: a long history costs neither a huge
request nor a refusal for being past the model's window.
"""

from __future__ import annotations

import fcntl
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
CONTEXT_TOKENS = 4000
"""The default budget of the history sent as context, in estimated tokens."""
CHARS_PER_TOKEN = 4
MESSAGE_OVERHEAD_TOKENS = 4  # a role and separators, in every chat format
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
        with self._locked(exclusive=False):
            if not self.path.exists():  # cleared meanwhile
                return []
            return [message for _, message in self._kept(self._read(writable=False))]

    def add(self, role: Role, content: str, *, model: str | None = None) -> ChatMessage:
        """Append a message, then forget what is past the age or count limits."""
        message = ChatMessage(role, content, self._now(), model)
        self._append([message])
        return message

    def add_exchange(self, prompt: str, reply: str, *, model: str | None = None) -> None:
        """Keep a question and its answer, in one write: another chat's turn never falls
        between them."""
        at = self._now()
        self._append([ChatMessage("user", prompt, at), ChatMessage("assistant", reply, at, model)])

    def clear(self) -> int:
        """Forget everything, an unreadable file included; returns how many messages went."""
        self._create_folder()
        with self._locked(exclusive=True):
            try:
                count = len(self._kept(self._read(writable=False))) if self.path.exists() else 0
            except UnreadableHistory:
                count = 0
            self.path.unlink(missing_ok=True)
        return count

    def _append(self, messages: list[ChatMessage]) -> None:
        self._create_folder()
        with self._locked(exclusive=True):
            self._create()
            with self._open(writable=True) as db:
                table = db.table(_TABLE)
                table.insert_multiple(m.to_json() for m in messages)
                stored = self._parsed(table.all())
                kept = {doc_id for doc_id, _ in self._kept(stored)}
                stale = [doc_id for doc_id, _ in stored if doc_id not in kept]
                if stale:
                    table.remove(doc_ids=stale)

    @contextmanager
    def _locked(self, *, exclusive: bool) -> Iterator[None]:
        """Hold the history's lock: shared to read, exclusive to read-modify-write."""
        lock_path = self.path.with_name(self.path.name + ".lock")
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise UnreadableHistory(f"cannot lock {lock_path}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)  # closing releases the lock

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

    def _create_folder(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _create(self) -> None:
        """Make the file (0600) before TinyDB opens it."""
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


def estimated_tokens(message: ChatMessage) -> int:
    """About how many tokens a message costs: a quarter of its characters (the usual ratio for
    English with OpenAI's tokenizers), rounded up, plus the role's overhead. No tokenizer is
    loaded: a budget needs a bound, not a count."""
    return -(-len(message.content) // CHARS_PER_TOKEN) + MESSAGE_OVERHEAD_TOKENS


def within_budget(messages: Sequence[ChatMessage], tokens: int) -> list[ChatMessage]:
    """The newest of `messages` whose estimated tokens add up to at most `tokens`, oldest
    first, starting with a question (an answer without its question confuses a model)."""
    kept: list[ChatMessage] = []
    spent = 0
    for message in reversed(messages):
        spent += estimated_tokens(message)
        if spent > tokens:
            break
        kept.append(message)
    kept.reverse()
    while kept and kept[0].role != "user":
        kept.pop(0)
    return kept


def stream_reply(
    settings: NotesSettings,
    history_messages: Sequence[ChatMessage],
    prompt: str,
    model: str | None = None,
    *,
    context_tokens: int | None = None,
) -> Iterator[str]:
    """The reply to `prompt`, with the newest history that fits `context_tokens` as context
    (`within_budget`; `CONTEXT_TOKENS` when None), as text pieces while they arrive.

    Raises:
        Unavailable: no server configured (at once); unreachable or failing (while iterating).
    """
    from coope.notes import openai_api

    openai_api.require_configured(settings)
    budget = CONTEXT_TOKENS if context_tokens is None else context_tokens
    messages: list[ChatCompletionMessageParam] = [{"role": "system", "content": SYSTEM_PROMPT}]
    messages += [_message_param(m) for m in within_budget(history_messages, budget)]
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
