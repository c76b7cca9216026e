"""`RoomSearchScreen` (key /): search the messages of the room on screen, or of every room.

It asks the app for a search (`ChatView.SearchWanted`) as the person types and draws the
results it is handed (`show_results`): room, author, time and a snippet with the words found
marked. Enter on a result dismisses the screen with that message; the app opens its room
positioned there.
Words match as the daemon's search matches them: whole words, whatever their case and accents,
in any script (`marked_snippet`).
"""

from __future__ import annotations

import re
import unicodedata

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from coope.client.names import room_label
from coope.core.rules import visible
from coope.core.social_schemas import MessageOut, RoomOut
from coope.tui.chat import ChatView
from coope.tui.dialogs import TYPING_PAUSE_S

SNIPPET_CHARS = 70
WORD = re.compile(r"\w+")


def fold(text: str) -> str:
    """`text` as the daemon's search compares it: case and accents (combining marks) dropped.
    Length-preserving per character, so positions in the folded text are positions in `text`."""
    folded = []
    for char in text:
        base = "".join(
            c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c)
        )
        base = unicodedata.normalize("NFC", base).casefold()
        folded.append(base[:1] if base else char)
    return "".join(folded)


def marked_snippet(body: str, query: str, width: int = SNIPPET_CHARS) -> Text:
    """One line of `body` around the first word of `query` it holds, those words marked."""
    line = visible(" ".join(body.split()))
    wanted = {fold(w) for w in WORD.findall(query)}
    spans = [(m.start(), m.end()) for m in WORD.finditer(line) if fold(m.group()) in wanted]
    start = 0
    if spans and len(line) > width:
        # Some words before the first one found, so that it is read in context.
        start = max(0, min(spans[0][0] - width // 4, len(line) - width))
    shown = line[start : start + width]
    text = Text(("…" if start else "") + shown + ("…" if start + width < len(line) else ""))
    offset = 1 if start else 0
    for begin, end in spans:
        if begin >= start and end <= start + width:
            text.stylize("bold reverse", begin - start + offset, end - start + offset)
    return text


class RoomSearchScreen(ModalScreen[MessageOut | None]):
    """Search box, scope, results. `room` is the room on screen (None: only all rooms);
    `rooms` names the rooms of the results."""

    BINDINGS = [
        Binding("ctrl+r", "toggle_scope", "This room/all rooms"),
        Binding("down", "to_results", "Results", show=False),
        Binding("escape", "cancel", "Close"),
    ]

    def __init__(self, room: RoomOut | None, rooms: dict[int, RoomOut]) -> None:
        super().__init__()
        self.room, self.rooms = room, rooms
        self.everywhere = room is None
        self.found: list[MessageOut] = []
        self._timer: Timer | None = None
        self._asked = ""  # the query and scope of the search whose results are wanted

    def compose(self) -> ComposeResult:
        with Vertical(id="search-box", classes="rooms-dialog"):
            yield Static("", id="search-scope")
            yield Input(placeholder="Words to find (Enter: to the results)", id="search-input")
            yield OptionList(id="search-results")
            yield Static("", id="search-status")

    def on_mount(self) -> None:
        self._show_scope()
        self.query_one("#search-results").display = False
        self.query_one(Input).focus()

    @property
    def room_id(self) -> int | None:
        return None if self.everywhere or self.room is None else self.room.id

    def _show_scope(self) -> None:
        where = "all rooms" if self.everywhere or self.room is None else room_label(self.room)
        scope = Text(f"Search {visible(where)}", style="bold")
        if self.room is not None:
            other = "this room" if self.everywhere else "all rooms"
            scope.append(f"  (Ctrl+R: {other})", style="dim not bold")
        self.query_one("#search-scope", Static).update(scope)

    # --- attributes down ---------------------------------------------------------------------

    def show_results(self, query: str, found: list[MessageOut]) -> None:
        if not self.is_attached or f"{self.room_id}:{query}" != self._asked:
            return  # closed meanwhile, or an earlier search overtaken by what was typed since
        self.found = found
        results = self.query_one("#search-results", OptionList)
        results.set_options(self._option(i, m, query) for i, m in enumerate(found))
        results.display = bool(found)
        count = len(found)
        status = f"{count} found (Enter opens)" if count else "Nothing found."
        self.query_one("#search-status", Static).update(status)
        if found:
            results.highlighted = 0

    def _option(self, index: int, message: MessageOut, query: str) -> Option:
        room = self.rooms.get(message.room_id)
        where = room_label(room) if room is not None else f"room {message.room_id}"
        when = message.created_at.astimezone().strftime("%b %d %H:%M")
        text = Text()
        text.append(visible(where), style="bold cyan")
        text.append(" · ")
        text.append(visible(message.author), style="bold")
        text.append(f" · {when}\n", style="dim")
        text.append_text(marked_snippet(message.body, query))
        return Option(text, id=f"r{index}")

    # --- what the person does ----------------------------------------------------------------

    @on(Input.Changed)
    def _typed(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(TYPING_PAUSE_S, self._search)

    @on(Input.Submitted)
    def _submitted(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        if self.found and self._asked == f"{self.room_id}:{self._query}":
            self.action_to_results()
        else:
            self._search()

    @property
    def _query(self) -> str:
        return self.query_one(Input).value.strip()

    def _search(self) -> None:
        query = self._query
        self._asked = f"{self.room_id}:{query}"
        if query:
            self.query_one("#search-status", Static).update("Searching…")
            self.app.post_message(ChatView.SearchWanted(self, query, self.room_id))
        else:
            self.show_results("", [])
            self.query_one("#search-status", Static).update("")

    def action_toggle_scope(self) -> None:
        if self.room is not None:
            self.everywhere = not self.everywhere
            self._show_scope()
            self._search()

    def action_to_results(self) -> None:
        results = self.query_one("#search-results", OptionList)
        if self.found:
            results.focus()

    @on(OptionList.OptionSelected, "#search-results")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.found[event.option_index])

    def action_cancel(self) -> None:
        self.dismiss(None)
