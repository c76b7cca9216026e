"""Small questions: "Delete this message?" and which emoji to react with."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, OptionList, Static
from textual.widgets.option_list import Option

TYPING_PAUSE_S = 0.2
"""Search-as-you-type dialogs ask once the person stops typing this long."""

REACTIONS = ["👍", "❤️", "😂", "🎉", "😮", "😢", "👀", "✅"]


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question; y says yes, n or Esc says no. The question is shown as text, never
    read as markup (it may hold a name)."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question, classes="question", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Yes (y)", id="yes", variant="error")
                yield Button("No (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class EmojiPicker(ModalScreen[str | None]):
    """A short list of reactions; Enter picks, Esc cancels. Picking one already given takes
    it back (the caller decides, knowing who reacted)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("React with", classes="question")
            yield OptionList(*(Option(e, id=e) for e in REACTIONS), id="emoji")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
