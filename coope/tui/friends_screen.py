"""`FriendsScreen` (key f): requests to you and yours, friends, blocked people and your status.

It draws the `PeopleState` it is handed (`show`) and says what the person wants with messages
(`ActionWanted`, `StatusWanted`, `Opened`); the app does the work. One list holds every person,
under a heading per kind; the keys act on the highlighted one. A friend's row says what they
chose and whether they are online or when they were last active, cut to the width there is.
Names and statuses are other people's words: they are shown as text, never read as markup.
"When last active" counts on while the screen is open: it is drawn again every minute.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from coope.core.presence import STATUS_STYLES, presence_words, status_words, until_words
from coope.core.rules import visible
from coope.core.social_schemas import FriendOut, UserRef
from coope.tui.dialogs import ConfirmScreen
from coope.tui.people import Action, PeopleState, Status

Kind = Literal["in", "out", "friend", "blocked"]
Asking = Literal["request", "block", "status"]

HEADINGS: dict[Kind, str] = {
    "in": "Requests to you (y accept, n decline)",
    "out": "Your requests (d cancel)",
    "friend": "Friends (d remove, b block)",
    "blocked": "Blocked (u unblock)",
}

REDRAW_S = 60.0  # "active N min ago" moves on by the minute

PROMPTS: dict[Asking, str] = {
    "request": "Add a friend: their username, Enter sends the request (Esc cancels)",
    "block": "Block: their username, Enter blocks them (Esc cancels)",
    "status": "Your status text, Enter sets it; empty clears it (Esc cancels)",
}


class FriendsScreen(Screen[None]):
    BINDINGS = [
        Binding("y", "answer('accept')", "Accept"),
        Binding("n", "answer('decline')", "Decline"),
        Binding("a", "ask('request')", "Add friend"),
        Binding("d", "drop", "Remove/cancel"),
        Binding("b", "ask('block')", "Block"),
        Binding("u", "unblock", "Unblock"),
        Binding("w", "toggle_away", "Away"),
        Binding("t", "next_busy", "Busy/DND"),
        Binding("s", "ask('status')", "Status text"),
        Binding("escape", "back", "Back"),
    ]

    class Opened(Message):
        """The screen is up: fill it."""

    class ActionWanted(Message):
        def __init__(self, action: Action, username: str) -> None:
            super().__init__()
            self.action, self.username = action, username

    class StatusWanted(Message):
        def __init__(self, state: Status | None, text: str | None) -> None:
            super().__init__()
            self.state, self.text = state, text

    def __init__(self) -> None:
        super().__init__()
        self.state: PeopleState | None = None
        self.asking: Asking | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="people-box"):
            yield Static("Friends", id="people-title")
            yield Static("", id="my-status")
            yield OptionList(id="people")
            yield Input(id="people-input")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#people-input").display = False
        self.query_one(OptionList).focus()
        self.set_interval(REDRAW_S, self.redraw)
        self.post_message(self.Opened())

    # --- attributes down ---------------------------------------------------------------------

    def show(self, state: PeopleState) -> None:
        self.state = state
        state = state.aged()
        self.query_one("#my-status", Static).update(_my_status(state))
        options = self.query_one(OptionList)
        highlighted = options.highlighted_option
        wanted = highlighted.id if highlighted is not None else None
        rows: list[Option] = []
        _section(rows, "in", [_user_prompt(u) for u in state.incoming], state.incoming)
        _section(rows, "out", [_user_prompt(u) for u in state.outgoing], state.outgoing)
        friends = [f.user for f in state.friends]
        _section(rows, "friend", [_friend_prompt(f) for f in state.friends], friends)
        _section(rows, "blocked", [_user_prompt(u) for u in state.blocked], state.blocked)
        options.set_options(rows)
        ids = [o.id for o in rows]
        if wanted in ids:
            options.highlighted = ids.index(wanted)
        elif options.highlighted is None or options.highlighted_option is None:
            options.action_first()  # the first person, headings being disabled

    def redraw(self) -> None:
        """Draw the state held again, as it stands now (how long ago each was active)."""
        if self.state is not None:
            self.show(self.state)

    def selected(self) -> tuple[Kind, str] | None:
        """The kind and username of the highlighted person, if one is."""
        option = self.query_one(OptionList).highlighted_option
        if option is None or option.id is None:
            return None
        kind, _, name = option.id.partition(":")
        return kind, name  # type: ignore[return-value]  # ids are made by `_section`

    # --- keys --------------------------------------------------------------------------------

    def action_answer(self, action: Action) -> None:
        name = self._picked("in", "a request to you")
        if name is not None:
            self.post_message(self.ActionWanted(action, name))

    def action_unblock(self) -> None:
        name = self._picked("blocked", "someone you blocked")
        if name is not None:
            self.post_message(self.ActionWanted("unblock", name))

    def action_drop(self) -> None:
        picked = self.selected()
        if picked is not None and picked[0] == "out":
            self.post_message(self.ActionWanted("cancel", picked[1]))
            return
        name = self._picked("friend", "a friend or a request of yours")
        if name is None:
            return

        def remove(yes: bool | None) -> None:
            if yes:
                self.post_message(self.ActionWanted("remove", name))

        self.app.push_screen(ConfirmScreen(f"Remove {visible(name)} from your friends?"), remove)

    def action_toggle_away(self) -> None:
        away = self.state is not None and self.state.me.status == "away"
        self.post_message(self.StatusWanted("available" if away else "away", None))

    def action_next_busy(self) -> None:
        """busy, then do not disturb, then available again."""
        now = self.state.me.status if self.state is not None else "available"
        wanted: Status = "dnd" if now == "busy" else "available" if now == "dnd" else "busy"
        self.post_message(self.StatusWanted(wanted, None))

    def action_ask(self, asking: Asking) -> None:
        field = self.query_one("#people-input", Input)
        picked = self.selected()
        if asking == "status":
            field.value = self.state.me.text if self.state is not None else ""
        elif asking == "block" and picked is not None and picked[0] != "blocked":
            field.value = picked[1]
        else:
            field.value = ""
        field.placeholder = PROMPTS[asking]
        field.border_title = PROMPTS[asking]
        self.asking = asking
        field.display = True
        field.focus()

    def action_back(self) -> None:
        if self.asking is not None:
            self._stop_asking()
        else:
            self.dismiss()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        asking, value = self.asking, event.value
        self._stop_asking()
        if asking == "status":
            self.post_message(self.StatusWanted(None, value.strip()))
        elif asking is not None and value.strip():
            self.post_message(self.ActionWanted(asking, value))

    # --- helpers -----------------------------------------------------------------------------

    def _picked(self, kind: Kind, what: str) -> str | None:
        """The highlighted person's name if they are of `kind`; else say what to pick."""
        picked = self.selected()
        if picked is not None and picked[0] == kind:
            return picked[1]
        self.notify(f"Pick {what} first (Up, Down).", severity="warning", markup=False)
        return None

    def _stop_asking(self) -> None:
        self.asking = None
        field = self.query_one("#people-input", Input)
        field.display = False
        field.value = ""
        self.query_one(OptionList).focus()


def _section(rows: list[Option], kind: Kind, prompts: list[Text], users: list[UserRef]) -> None:
    """A heading, then one row per person (ids `<kind>:<username>`), or "none"."""
    rows.append(Option(Text(HEADINGS[kind], style="bold"), disabled=True))
    for prompt, user in zip(prompts, users, strict=True):
        # One line per person, cut with an ellipsis where the screen ends.
        row = Text("  ", no_wrap=True, overflow="ellipsis").append_text(prompt)
        rows.append(Option(row, id=f"{kind}:{user.username}"))
    if not users:
        rows.append(Option(Text("  none", style="dim"), disabled=True))


def _user_prompt(user: UserRef) -> Text:
    text = Text(visible(user.username))
    if user.display_name and user.display_name != user.username:
        text.append(f" {visible(user.display_name)}", style="dim")
    return text


def _friend_prompt(friend: FriendOut) -> Text:
    """name, then their presence: "bob  ● online — busy: in a review (until 15:00)"."""
    text = Text(visible(friend.user.username), no_wrap=True, overflow="ellipsis")
    text.append("  ")
    text.append_text(Text.assemble(*presence_words(friend.presence)))
    return text


def _my_status(state: PeopleState) -> Text:
    """Yours, as you chose it (you are online: you are looking at it)."""
    me = state.me
    text = Text("You: ", no_wrap=True, overflow="ellipsis")
    text.append("●", style=STATUS_STYLES[me.status])
    text.append(" ").append_text(Text.assemble(*status_words(me, own=True)))
    if me.expires_at is not None:
        text.append(f" ({until_words(me.expires_at, datetime.now().astimezone())})", style="dim")
    text.append("   (w away, t busy/dnd, s text)", style="dim")
    return text
