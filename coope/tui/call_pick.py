"""`WorkspacePicker`: which workspace the meeting notes go into (Enter picks, Esc cancels)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from coope.core.rules import visible
from coope.core.workspace_schemas import WorkspaceOut


class WorkspacePicker(ModalScreen[int | None]):
    """Answers the chosen workspace's id, or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, workspaces: list[WorkspaceOut]) -> None:
        super().__init__()
        self.workspaces = workspaces

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("Write the meeting notes into", classes="question")
            options = [Option(Text(visible(w.name)), id=str(w.id)) for w in self.workspaces]
            yield OptionList(*options, id="call-workspaces")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(int(event.option.id or 0))

    def action_cancel(self) -> None:
        self.dismiss(None)
