"""The questions pages ask: a name, one of a list, a search, and the trash.

Each is a modal screen; what was chosen comes back as its result (`dismiss`). The search and
the trash ask for their content with messages; the pages controller fills them.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from coope.core.rules import visible
from coope.core.workspace_schemas import PageHitOut, PageOut, WorkspaceOut
from coope.tui.dialogs import TYPING_PAUSE_S


class TextPrompt(ModalScreen[str | None]):
    """One line of text (a title); Enter gives it, Esc cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, question: str, value: str = "") -> None:
        super().__init__()
        self.question, self.value = question, value

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question, classes="question", markup=False)
            yield Input(self.value, id="prompt-input")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class Choice(ModalScreen[str | None]):
    """One of a list of (id, label); Enter picks, Esc cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, choices: list[tuple[str, str]], current: str = "") -> None:
        super().__init__()
        self.title_text, self.choices, self.current = title, choices, current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="question", markup=False)
            yield OptionList(
                *(Option(Text(label), id=key) for key, label in self.choices), id="choices"
            )

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        keys = [key for key, _ in self.choices]
        if self.current in keys:
            options.highlighted = keys.index(self.current)
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class SearchScreen(ModalScreen[int | None]):
    """Pages across every workspace by words in their title or text; Enter opens the hit."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("down", "to_hits", "The hits", show=False),
    ]

    class QueryChanged(Message):
        """Search for `query` (the person paused typing it)."""

        def __init__(self, screen: SearchScreen, query: str) -> None:
            super().__init__()
            self.screen, self.query = screen, query

    def __init__(self) -> None:
        super().__init__()
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide", id="search-box"):
            yield Static("Search pages (Enter: first hit, Down: the list)", classes="question")
            yield Input(placeholder="words…", id="search-input")
            yield OptionList(id="hits")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(TYPING_PAUSE_S, self._ask)

    def _ask(self) -> None:
        self.post_message(self.QueryChanged(self, self.query_one(Input).value.strip()))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        hits = self.query_one(OptionList)
        first = hits.get_option_at_index(0) if hits.option_count else None
        if first is not None and first.id and not first.disabled:  # not the "no page" hint
            self.dismiss(int(first.id))

    def action_to_hits(self) -> None:
        self.query_one(OptionList).focus()

    def show_hits(self, query: str, hits: list[PageHitOut], where: dict[int, str]) -> None:
        """The hits for `query` (unless the person has typed on since)."""
        if query != self.query_one(Input).value.strip():
            return
        options = []
        for hit in hits:
            line = Text(visible(hit.page.title), style="bold")
            line.append(f"  {visible(where.get(hit.page.workspace_id, ''))}", style="dim")
            if hit.snippet:
                line.append("\n" + visible(hit.snippet), style="italic")
            options.append(Option(line, id=str(hit.page.id)))
        hit_list = self.query_one(OptionList)
        hit_list.set_options(options)
        if query and not options:
            hit_list.set_options([Option(Text("No page has these words.", "dim"), disabled=True)])

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id and not event.option.disabled:
            self.dismiss(int(event.option.id))

    def action_cancel(self) -> None:
        self.dismiss(None)


class TrashScreen(ModalScreen[None]):
    """What is in the trash, with the workspace of each: r restores, d deletes for good."""

    BINDINGS = [
        Binding("r", "act('restore')", "Restore"),
        Binding("d", "act('delete')", "Delete for good"),
        Binding("escape,t", "close", "Close"),
    ]

    class Opened(Message):
        """Fill the trash."""

        def __init__(self, screen: TrashScreen) -> None:
            super().__init__()
            self.screen = screen

    class ActionWanted(Message):
        def __init__(self, screen: TrashScreen, action: str, page: PageOut) -> None:
            super().__init__()
            self.screen, self.action, self.page = screen, action, page

    def __init__(self) -> None:
        super().__init__()
        self.pages: dict[str, PageOut] = {}

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide", id="trash-box"):
            yield Static("Trash (r restore, d delete for good, Esc close)", classes="question")
            yield OptionList(Option(Text("Loading…", "dim"), disabled=True), id="trash")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()
        self.post_message(self.Opened(self))

    def show(self, trees: Sequence[tuple[WorkspaceOut, list[PageOut]]]) -> None:
        trash = self.query_one(OptionList)
        highlighted = trash.highlighted_option
        keep = highlighted.id if highlighted is not None else None
        self.pages = {}
        options: list[Option] = []
        for workspace, pages in trees:
            for page in pages:
                self.pages[f"trash-{page.id}"] = page
                label = Text(visible(f"{page.icon or '📄'} {page.title}"))
                label.append(f"  {visible(workspace.name)}", style="dim")
                options.append(Option(label, id=f"trash-{page.id}"))
        if not options:
            options.append(Option(Text("The trash is empty.", "dim"), disabled=True))
        trash.set_options(options)
        ids = [option.id for option in options]
        if keep in ids:
            trash.highlighted = ids.index(keep)
        elif self.pages:
            trash.highlighted = 0

    def action_act(self, action: str) -> None:
        option = self.query_one(OptionList).highlighted_option
        page = self.pages.get(option.id or "") if option is not None else None
        if page is not None:
            self.post_message(self.ActionWanted(self, action, page))

    def action_close(self) -> None:
        self.dismiss(None)
