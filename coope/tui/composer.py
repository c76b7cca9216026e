"""`Composer`: the multi-line box a message is written in. Enter sends; Ctrl+J (or Shift+Enter,
where the terminal tells it apart) starts a new line; Escape leaves it."""

from __future__ import annotations

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import TextArea

# Terminals send Ctrl+J as a bare line feed, which Textual names "ctrl+j"; terminals with the
# kitty keyboard protocol tell Shift+Enter apart as well.
NEWLINE_KEYS = ("ctrl+j", "shift+enter")


class Composer(TextArea):
    """Says `Submitted` with the text on Enter and `Typed` on every change a person makes."""

    BINDINGS = [
        # Handled in `_on_key`, in order with the keys typed before it (a priority binding
        # would run ahead of keys still queued: fast typing, or a paste, would be cut); listed
        # here for the footer and the help screen.
        Binding("enter", "submit", "Send"),
        Binding("ctrl+j", "newline", "New line"),
        Binding("escape", "leave", "Leave", show=False),
    ]

    class Submitted(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Typed(Message):
        """The person changed the text (for the typing indicator)."""

    class Left(Message):
        """Escape: the person is done with the composer (and with a reply or edit)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, soft_wrap=True, show_line_numbers=False, tab_behavior="focus")
        self.placeholder = "Write a message (Enter sends, Ctrl+J new line)"

    def action_submit(self) -> None:
        text = self.text.strip("\n")
        if text.strip():
            self.post_message(self.Submitted(text))

    def action_newline(self) -> None:
        self.insert("\n")

    def action_leave(self) -> None:
        self.post_message(self.Left())

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter" or event.key in NEWLINE_KEYS:
            event.stop()
            event.prevent_default()
            self.action_submit() if event.key == "enter" else self.action_newline()
            return
        await super()._on_key(event)

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        if self.text:
            self.post_message(self.Typed())
