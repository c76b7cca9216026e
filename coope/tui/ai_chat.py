"""The AI chat pane: the `coope ai chat` conversation inside the TUI, replies streamed as Markdown.

The conversation is the CLI's own history file (`coope.notes.ai_chat.ChatHistory`), so
`coope ai history` shows what was said here and the other way round. The openai client is
synchronous: each reply streams in a thread worker that posts its pieces to the pane as messages,
and the history file is read and written in thread workers too. The widget itself does no I/O.

A turn is kept in the history only once its reply is complete, as the CLI does: a stopped or
failed turn stays on screen, marked, but is not sent as context again.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Markdown, Static
from textual.worker import Worker, get_current_worker

from coope.core.errors import CoopeError
from coope.core.rules import visible
from coope.notes import openai_api
from coope.notes.ai_chat import ChatHistory, ChatMessage, stream_reply
from coope.notes.settings import NotesSettings
from coope.tui.dialogs import ConfirmScreen

if TYPE_CHECKING:
    from textual.widgets.markdown import MarkdownStream

__all__ = ["AIChatPane"]

HINT = "Enter sends · Escape stops a reply · Ctrl+L clears the history"
REPLYING_HINT = "replying… Escape stops it"

# -- what the workers tell the pane (from their threads; never bubbles past the pane) -----------


@dataclass
class _HistoryLoaded(Message, bubble=False):
    messages: list[ChatMessage]
    error: str | None = None


@dataclass
class _ReplyPiece(Message, bubble=False):
    turn: int
    text: str


@dataclass
class _ReplyEnded(Message, bubble=False):
    turn: int
    reply: str | None  # None: the turn failed (`error`) or was stopped
    error: str | None = None


@dataclass
class _HistoryForgotten(Message, bubble=False):
    count: int


class AIChatPane(Widget):
    """The AI chat: the kept conversation, an input to ask, replies streamed in as Markdown.

    Args:
        settings: The AI server and model; `NotesSettings.from_env()` when not given.
        history: The conversation's file; the one `coope ai chat` uses when not given.
        model: The chat model; the settings' `chat_model` when not given.
    """

    DEFAULT_CSS = files("coope.tui").joinpath("ai_chat.tcss").read_text(encoding="utf-8")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "stop", "Stop reply"),
        Binding("ctrl+l", "clear", "Clear AI history"),
    ]

    # The namespace spells the handlers `on_ai_chat_pane_...` (Textual would say `aichat_pane`).

    @dataclass
    class ReplyFinished(Message, namespace="ai_chat_pane"):
        """A reply arrived in full and was kept in the history."""

        pane: AIChatPane
        reply: str
        model: str

        @property
        def control(self) -> AIChatPane:
            return self.pane

    @dataclass
    class HistoryCleared(Message, namespace="ai_chat_pane"):
        """The person confirmed, and the history is forgotten."""

        pane: AIChatPane
        count: int

        @property
        def control(self) -> AIChatPane:
            return self.pane

    def __init__(
        self,
        settings: NotesSettings | None = None,
        history: ChatHistory | None = None,
        *,
        model: str | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._given_settings = settings
        self._history = history if history is not None else ChatHistory()
        self._given_model = model
        self.settings: NotesSettings | None = None  # None: the environment's settings are wrong
        self.model = model or "?"
        self._unusable: str | None = None  # why no question can be asked, when none can
        self._loaded = False
        self._turn = 0
        self._reply_worker: Worker[None] | None = None
        self._reply_stream: MarkdownStream | None = None
        self._reply_box: Vertical | None = None
        self._reply_prompt = ""

    # -- what the app may read ------------------------------------------------------------------

    @property
    def replying(self) -> bool:
        """Whether a reply is streaming in now."""
        return self._reply_worker is not None

    @property
    def ready(self) -> bool:
        """Whether a question can be sent: a server is configured and the history is shown."""
        return self._loaded and self._unusable is None

    def focus(self, scroll_visible: bool = True) -> AIChatPane:
        """Focus the pane's input: the pane itself takes no keys."""
        self.query_one("#ai-chat-input", Input).focus(scroll_visible)
        return self

    # -- layout ---------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="ai-chat-title")
        yield VerticalScroll(id="ai-chat-log")
        yield Static(HINT, id="ai-chat-hint")
        yield Input(placeholder="Ask the AI…", id="ai-chat-input", disabled=True)

    def on_mount(self) -> None:
        try:
            self.settings = self._given_settings or NotesSettings.from_env()
            openai_api.require_configured(self.settings)
        except CoopeError as exc:
            self._unusable = exc.message
        if self.settings is not None:
            self.model = self._given_model or self.settings.chat_model
        self.query_one("#ai-chat-title", Static).update(
            Content.assemble("AI chat · ", (visible(self.model), "bold"))
        )
        log = self.query_one("#ai-chat-log", VerticalScroll)
        log.anchor()  # follow the newest text, until the person scrolls up
        if self._unusable is not None:
            log.mount(Static(Content(self._unusable), classes="ai-chat-notice"))
        else:
            # Typing may start at once; Enter waits for the history (`ready`).
            self.query_one("#ai-chat-input", Input).disabled = False
        self._load_history()

    # -- the conversation -----------------------------------------------------------------------

    @on(_HistoryLoaded)
    def _show_history(self, loaded: _HistoryLoaded) -> None:
        log = self.query_one("#ai-chat-log", VerticalScroll)
        log.mount_all(_turn_box(m.role, m.content, m.model) for m in loaded.messages)
        if loaded.error is not None:
            self.notify(loaded.error, title="AI chat", severity="error", markup=False)
        self._loaded = True

    @on(Input.Submitted, "#ai-chat-input")
    def _ask(self, submitted: Input.Submitted) -> None:
        submitted.stop()
        prompt = submitted.value
        if not prompt.strip() or self.replying or not self.ready or self.settings is None:
            return  # typing ahead is fine: the text stays in the input until a send can go
        submitted.input.clear()
        self._turn += 1
        self._reply_prompt = prompt
        log = self.query_one("#ai-chat-log", VerticalScroll)
        reply = Markdown(classes="ai-chat-body")
        self._reply_box = _box("assistant", self.model, reply)
        log.mount_all([_turn_box("user", prompt, None), self._reply_box])
        log.anchor()
        self._reply_stream = Markdown.get_stream(reply)
        self._reply_worker = self._stream(self._turn, prompt, self.settings, self.model)
        self._show_replying(True)

    @on(_ReplyPiece)
    async def _show_piece(self, piece: _ReplyPiece) -> None:
        if piece.turn == self._turn and self._reply_stream is not None:
            await self._reply_stream.write(visible(piece.text))

    @on(_ReplyEnded)
    async def _end_reply(self, ended: _ReplyEnded) -> None:
        if ended.turn != self._turn or not self.replying:
            return  # a stopped turn's thread, finishing late
        if ended.error is not None:
            await self._close_reply("no reply: the server failed")
            self.notify(ended.error, title="AI chat", severity="error", markup=False)
            field = self.query_one("#ai-chat-input", Input)
            if not field.value:
                field.value = self._reply_prompt  # to ask again with one key
            return
        await self._close_reply(None)
        if ended.reply is not None:
            self.post_message(self.ReplyFinished(self, ended.reply, self.model))

    async def action_stop(self) -> None:
        """Stop the streaming reply: what arrived stays on screen, marked, and is not kept."""
        if self._reply_worker is not None:
            # The thread notices at its next piece and drops the rest; the pane is free now.
            self._reply_worker.cancel()
            await self._close_reply("stopped: not kept in the history")

    async def _close_reply(self, note: str | None) -> None:
        stream, box = self._reply_stream, self._reply_box
        self._reply_worker = self._reply_stream = self._reply_box = None
        self._show_replying(False)
        if stream is not None:
            await stream.stop()
        if note is not None and box is not None:
            await box.mount(Static(Content(f"({note})"), classes="ai-chat-note"))

    def _show_replying(self, replying: bool) -> None:
        self.set_class(replying, "-replying")
        self.query_one("#ai-chat-hint", Static).update(REPLYING_HINT if replying else HINT)
        self.refresh_bindings()

    async def on_unmount(self) -> None:
        if self._reply_worker is not None:
            self._reply_worker.cancel()
        if self._reply_stream is not None:
            await self._reply_stream.stop()  # its task must not outlive the pane

    # -- clearing -------------------------------------------------------------------------------

    def action_clear(self) -> None:
        """Ask whether to forget the history, then forget it."""

        def answered(yes: bool | None) -> None:
            if yes:
                self._forget()

        self.app.push_screen(ConfirmScreen("Forget the whole AI chat history?"), answered)

    @on(_HistoryForgotten)
    async def _show_forgotten(self, forgotten: _HistoryForgotten) -> None:
        await self.query_one("#ai-chat-log", VerticalScroll).query(".ai-chat-turn").remove()
        self.notify(f"forgot {forgotten.count} message{'s' if forgotten.count != 1 else ''}")
        self.post_message(self.HistoryCleared(self, forgotten.count))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop":
            # Otherwise Escape goes on to whoever else wants it (the app, a screen).
            return self.replying
        if action == "clear":
            return None if self.replying else True  # shown, greyed, while a reply streams
        return True

    # -- workers: the file and the server, off the event loop -----------------------------------

    @work(thread=True, group="ai-chat-history")
    def _load_history(self) -> None:
        try:
            self.post_message(_HistoryLoaded(self._history.messages()))
        except CoopeError as exc:
            self.post_message(_HistoryLoaded([], exc.message))

    @work(thread=True, group="ai-chat-history")
    def _forget(self) -> None:
        self.post_message(_HistoryForgotten(self._history.clear()))

    @work(thread=True, exclusive=True, group="ai-chat-reply")
    def _stream(self, turn: int, prompt: str, settings: NotesSettings, model: str) -> None:
        worker = get_current_worker()
        text = ""
        try:
            # Leaving this function drops the reply's iterator, which closes its connection.
            for piece in stream_reply(settings, self._history.messages(), prompt, model):
                if worker.is_cancelled:
                    return
                text += piece
                self.post_message(_ReplyPiece(turn, piece))
            if worker.is_cancelled:
                return
            self._history.add("user", prompt)
            self._history.add("assistant", text, model=model)
        except CoopeError as exc:
            self.post_message(_ReplyEnded(turn, None, exc.message))
            return
        self.post_message(_ReplyEnded(turn, text))


def _turn_box(role: str, content: str, model: str | None) -> Vertical:
    """One kept or asked turn: who said it, then the text (Markdown for replies)."""
    if role == "user":
        return _box("user", "you", Static(Content(visible(content)), classes="ai-chat-body"))
    return _box(
        "assistant", model or "assistant", Markdown(visible(content), classes="ai-chat-body")
    )


def _box(role: str, who: str, body: Widget) -> Vertical:
    label = Static(Content(visible(who)), classes="ai-chat-who")
    return Vertical(label, body, classes=f"ai-chat-turn -{role}")
