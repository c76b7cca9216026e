"""`NewRoomScreen` (key n): invitations to you into rooms, and a new group room.

Invitations (when there are any) come first: y accepts (and opens the room), d declines (not
n: n opened the dialog, and a double press must not turn someone down); they are kept live
(`invites_changed`). Below, the new room: a name, the friends to add (Space picks
them: they join at once) and anyone else by name (invited: they join once they accept). Enter
in a box creates the room (`ChatView.RoomCreateWanted`); the app opens it.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.signal import Signal
from textual.widgets import Input, OptionList, SelectionList, Static
from textual.widgets.option_list import Option

from coope.core.rules import visible
from coope.core.social_schemas import FriendOut, RoomInviteOut
from coope.tui.chat import ChatView
from coope.tui.sidebar import friend_prompt


class InviteList(OptionList):
    """Invitations to you; option ids are `invite-<room id>`."""

    BINDINGS = [
        Binding("y", "answer(True)", "Accept"),
        Binding("d", "answer(False)", "Decline"),
    ]

    class Answered(Message):
        def __init__(self, room_id: int, accept: bool) -> None:
            super().__init__()
            self.room_id, self.accept = room_id, accept

    def action_answer(self, accept: bool) -> None:
        option = self.highlighted_option
        if option is not None and option.id is not None:
            self.post_message(self.Answered(int(option.id.removeprefix("invite-")), accept))


class NewRoomScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape", "cancel", "Close")]

    def __init__(
        self,
        friends: list[FriendOut],
        invites: list[RoomInviteOut],
        invites_changed: Signal[list[RoomInviteOut]],
    ) -> None:
        super().__init__()
        self.friends, self.invites = friends, invites
        self._invites_changed = invites_changed

    def compose(self) -> ComposeResult:
        # Scrolls when invitations and friends are more than a small terminal holds.
        with VerticalScroll(id="new-room-box", classes="rooms-dialog"):
            yield Static("Invitations to you (y accept, d decline)", id="invites-title")
            yield InviteList(id="invites")
            yield Static("New group room", id="new-room-title")
            yield Input(placeholder="Name", id="new-room-name")
            friends = SelectionList[str](
                *((friend_prompt(f), f.user.username) for f in self.friends), id="new-room-friends"
            )
            friends.border_title = "Friends to add (Space picks)"
            yield friends
            yield Input(
                placeholder="Others to invite: usernames, comma-separated", id="new-room-others"
            )
            yield Static("Enter in a box creates the room · Esc closes", classes="rooms-hint")

    def on_mount(self) -> None:
        self.query_one("#new-room-friends").display = bool(self.friends)
        self._invites_changed.subscribe(self, self.show_invites)
        self.show_invites(self.invites)
        self.query_one("#invites" if self.invites else "#new-room-name").focus()

    # --- attributes down ---------------------------------------------------------------------

    def show_invites(self, invites: list[RoomInviteOut]) -> None:
        self.invites = invites
        options = self.query_one(InviteList)
        options.set_options(Option(_invite_prompt(i), id=f"invite-{i.room_id}") for i in invites)
        if invites:
            options.highlighted = 0
        options.display = bool(invites)
        self.query_one("#invites-title").display = bool(invites)

    # --- what the person does ----------------------------------------------------------------

    # Told to the app directly: this screen may be gone before a message bubbles out of it.

    @on(InviteList.Answered)
    def _answered(self, event: InviteList.Answered) -> None:
        event.stop()
        self.app.post_message(ChatView.InviteAnswered(event.room_id, event.accept))
        if event.accept:
            self.dismiss(None)  # the app opens the room

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        name = self.query_one("#new-room-name", Input).value.strip()
        if not name:
            self.query_one("#new-room-name").focus()
            self.notify("Give the room a name.", severity="warning")
            return
        members = list(self.query_one(SelectionList).selected)
        others = self.query_one("#new-room-others", Input).value.replace(",", " ").split()
        members += [n.removeprefix("@") for n in others if n.removeprefix("@") not in members]
        self.app.post_message(ChatView.RoomCreateWanted(name, members))
        self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)


def _invite_prompt(invite: RoomInviteOut) -> Text:
    text = Text()
    text.append(f"#{visible(invite.room_name)}", style="bold")
    text.append(f" from {visible(invite.invited_by.username)}", style="dim")
    return text
