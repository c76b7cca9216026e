"""`MembersScreen` (key u): the people of the room on screen, and what its admin can change.

Members (the admin marked, friends with their presence dot) and the people invited; a to add
someone (a friend joins at once, anyone else is invited), d to remove the highlighted person
(or withdraw their invitation), r to rename the room, l to leave it. Each asks the app
(`ChatView.MembersChangeWanted`); the daemon decides who may (a refusal comes back as a
notification). The room is redrawn as it changes (`room_changed`, published by the
session) and the screen closes when we are out of it.
"""

from __future__ import annotations

from typing import Literal

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.signal import Signal
from textual.suggester import SuggestFromList
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from coope.client.names import room_label
from coope.core.models import RoomRole
from coope.core.rules import visible
from coope.core.social_schemas import FriendOut, MemberOut, RoomOut
from coope.tui.chat import ChatView, MemberAction
from coope.tui.dialogs import ConfirmScreen
from coope.tui.sidebar import DOTS

Asking = Literal["add", "rename"]

PROMPTS: dict[Asking, str] = {
    "add": "Add: a username (→ completes a friend's), Enter adds, Esc cancels",
    "rename": "New name, Enter renames, Esc cancels",
}


class MembersScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("a", "ask('add')", "Add"),
        Binding("d", "remove", "Remove"),
        Binding("r", "ask('rename')", "Rename"),
        Binding("l", "leave", "Leave room"),
        Binding("escape", "close", "Close"),
    ]

    def __init__(
        self,
        room: RoomOut,
        me: str,
        friends: dict[str, FriendOut],
        room_changed: Signal[tuple[int, RoomOut | None]],
    ) -> None:
        super().__init__()
        self.room, self.me, self.friends = room, me, friends
        self._room_changed = room_changed
        self.asking: Asking | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="members-box", classes="rooms-dialog"):
            yield Static("", id="members-title")
            yield OptionList(id="members")
            yield Input(id="members-input")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#members-input").display = False
        self._room_changed.subscribe(self, self._changed)
        self.show(self.room)
        self.query_one(OptionList).focus()

    # --- attributes down ---------------------------------------------------------------------

    def _changed(self, change: tuple[int, RoomOut | None]) -> None:
        room_id, room = change
        if room_id != self.room.id:
            return
        if room is None:
            self.dismiss(None)  # we are out of it
        else:
            self.show(room)

    def show(self, room: RoomOut) -> None:
        self.room = room
        count = len(room.members)
        title = Text(visible(room_label(room)), style="bold")
        title.append(f"  {count} member{'' if count == 1 else 's'}", style="dim not bold")
        self.query_one("#members-title", Static).update(title)
        options = self.query_one(OptionList)
        wanted = options.highlighted_option.id if options.highlighted_option else None
        entries = [
            Option(self._member(m.username, m.role), id=f"m-{m.username}") for m in _sorted(room)
        ]
        entries += [Option(self._invited(name), id=f"m-{name}") for name in sorted(room.invited)]
        options.set_options(entries)
        ids = [o.id for o in entries]
        if wanted in ids:
            options.highlighted = ids.index(wanted)

    def _member(self, username: str, role: RoomRole) -> Text:
        friend = self.friends.get(username)
        dot, color = DOTS.get(friend.presence.state, ("?", "grey50")) if friend else (" ", "")
        text = Text()
        text.append(dot, style=color)
        text.append(f" {visible(username)}", style="bold" if username == self.me else "")
        if username == self.me:
            text.append(" (you)", style="dim")
        if role is RoomRole.ADMIN:
            text.append(" admin", style="yellow")
        if friend is not None and friend.presence.text:
            text.append(f" {visible(friend.presence.text)}", style="dim italic")
        return text

    @staticmethod
    def _invited(username: str) -> Text:
        text = Text("  ")
        text.append(visible(username))
        text.append(" invited, not joined yet", style="dim italic")
        return text

    @property
    def highlighted_name(self) -> str | None:
        option = self.query_one(OptionList).highlighted_option
        return None if option is None or option.id is None else option.id.removeprefix("m-")

    # --- what the person does ----------------------------------------------------------------

    def action_ask(self, asking: Asking) -> None:
        self.asking = asking
        box = self.query_one("#members-input", Input)
        box.placeholder = PROMPTS[asking]
        box.border_title = "Add someone" if asking == "add" else "Rename the room"
        in_room = {m.username for m in self.room.members} | set(self.room.invited)
        names = sorted(n for n in self.friends if n not in in_room)
        box.suggester = SuggestFromList(names, case_sensitive=False) if asking == "add" else None
        box.value = self.room.name if asking == "rename" else ""
        box.display = True
        box.focus()

    @on(Input.Submitted, "#members-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text, asking = event.value.strip(), self.asking
        self._stop_asking()
        if text and asking is not None:
            self._want(asking, self.room.id, text)

    def _stop_asking(self) -> None:
        self.asking = None
        self.query_one("#members-input").display = False
        self.query_one(OptionList).focus()

    def action_remove(self) -> None:
        name = self.highlighted_name
        if name is None:
            return
        if name == self.me:
            self.action_leave()
            return
        room_id = self.room.id

        def answered(yes: bool | None) -> None:
            if yes:
                self._want("remove", room_id, name)

        question = f"Remove {name} from {room_label(self.room)}?"
        self.app.push_screen(ConfirmScreen(question), answered)

    def action_leave(self) -> None:
        room_id = self.room.id

        def answered(yes: bool | None) -> None:
            if yes:
                self._want("leave", room_id)

        self.app.push_screen(ConfirmScreen(f"Leave {room_label(self.room)}?"), answered)

    def _want(self, action: MemberAction, room_id: int, text: str = "") -> None:
        # To the app directly: this screen may be gone before a message bubbles out of it.
        self.app.post_message(ChatView.MembersChangeWanted(action, room_id, text))

    def action_close(self) -> None:
        if self.asking is not None:
            self._stop_asking()
        else:
            self.dismiss(None)


def _sorted(room: RoomOut) -> list[MemberOut]:
    """Admins first, then by name."""
    return sorted(room.members, key=lambda m: (m.role is not RoomRole.ADMIN, m.username))
