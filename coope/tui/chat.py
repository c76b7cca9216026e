"""`ChatView`: the room on screen: its title, messages, who is typing, and the composer.

It holds what is being written (a new message, a reply, an edit) and turns the composer's text
into a request for the session: `SendWanted` or `EditWanted`. Deleting and reacting need a
question first, which the app asks (`MessageLog.Asked` bubbles up through here).
"""

from __future__ import annotations

from typing import Literal, Protocol

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static

from coope.client.names import room_label
from coope.core.models import RoomKind
from coope.core.rules import visible
from coope.core.social_schemas import MessageOut, RoomOut
from coope.tui.composer import Composer
from coope.tui.help import KeyRow, key_rows
from coope.tui.message_log import MessageLog
from coope.tui.state import Timeline

MemberAction = Literal["add", "remove", "rename", "leave"]


class ShowsResults(Protocol):
    """Where search results go (the search dialog)."""

    def show_results(self, query: str, found: list[MessageOut]) -> None: ...


class ChatView(Vertical):
    """One room: header, `MessageLog`, typing line, reply/edit line, `Composer`."""

    class SendWanted(Message):
        def __init__(self, room_id: int, body: str, reply_to: int | None) -> None:
            super().__init__()
            self.room_id, self.body, self.reply_to = room_id, body, reply_to

    class DirectSendWanted(Message):
        """The first message to a friend with no direct room yet (it makes the room)."""

        def __init__(self, username: str, body: str) -> None:
            super().__init__()
            self.username, self.body = username, body

    class EditWanted(Message):
        def __init__(self, message_id: int, body: str) -> None:
            super().__init__()
            self.message_id, self.body = message_id, body

    class Typing(Message):
        def __init__(self, room_id: int) -> None:
            super().__init__()
            self.room_id = room_id

    # What the rooms dialogs (`room_*.py`, over this view) ask the app for.

    class SearchWanted(Message):
        def __init__(self, screen: ShowsResults, query: str, room_id: int | None) -> None:
            super().__init__()
            self.screen, self.query, self.room_id = screen, query, room_id

    class RoomCreateWanted(Message):
        def __init__(self, name: str, members: list[str]) -> None:
            super().__init__()
            self.name, self.members = name, members

    class InviteAnswered(Message):
        def __init__(self, room_id: int, accept: bool) -> None:
            super().__init__()
            self.room_id, self.accept = room_id, accept

    class MembersChangeWanted(Message):
        def __init__(self, action: MemberAction, room_id: int, text: str = "") -> None:
            super().__init__()
            self.action, self.room_id, self.text = action, room_id, text

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.room: RoomOut | None = None
        self.draft_to: str | None = None  # a friend with no direct room yet: no `room`
        self.me = ""
        self.replying_to: MessageOut | None = None
        self.editing: MessageOut | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="room-title")
        yield MessageLog(id="messages")
        yield Static("", id="typing")
        yield Static("", id="context")
        yield Composer(id="composer")

    @staticmethod
    def dialog_key_rows() -> list[KeyRow]:
        """The keys of the rooms dialogs opened over this view, for the help screen."""
        # Imported here: those dialogs import this module (for the messages above).
        from coope.tui.room_members import MembersScreen
        from coope.tui.room_new import InviteList
        from coope.tui.room_search import RoomSearchScreen

        return [
            *key_rows("Search (/)", RoomSearchScreen.BINDINGS),
            *key_rows("Invitations to you (n)", InviteList.BINDINGS),
            *key_rows("Room members (u)", MembersScreen.BINDINGS),
        ]

    @property
    def message_log(self) -> MessageLog:
        return self.query_one(MessageLog)

    @property
    def composer(self) -> Composer:
        return self.query_one(Composer)

    # --- attributes down ---------------------------------------------------------------------

    def open(
        self, room: RoomOut, me: str, timeline: Timeline, *, select: int | None = None
    ) -> None:
        """Show `room` with the messages of `timeline`, the unread marker after what was read,
        the newest message selected (or the one with seq `select`)."""
        self.room, self.draft_to, self.me = room, None, me
        self.show_title(room)
        unread_after = room.last_read_seq if room.unread else None
        self.message_log.show(timeline, me, unread_after, select=select)
        self.show_typing([])
        self._set_context(None, None)

    def show_title(self, room: RoomOut) -> None:
        """The room's name, and how many are in it (a group room's name can change)."""
        title = Text(visible(room_label(room)))
        if room.kind is RoomKind.GROUP:
            count = len(room.members)
            title.append(f"  {count} member{'' if count == 1 else 's'} (u)", style="dim not bold")
        title.append("  / search", style="dim not bold")
        self.query_one("#room-title", Static).update(title)

    def open_draft(self, username: str, me: str) -> None:
        """An empty chat with `username`, who has no direct room with us yet."""
        self.room, self.draft_to, self.me = None, username, me
        self.query_one("#room-title", Static).update(visible(f"@{username}"))
        self.message_log.show(Timeline(), me, None)
        self.show_typing([])
        self._set_context(None, None)

    def show_typing(self, names: list[str]) -> None:
        # The line under an empty chat with a friend says what the first message does.
        line = "no messages yet: the first one starts your direct room" if self.draft_to else ""
        if len(names) == 1:
            line = f"{visible(names[0])} is typing…"
        elif names:
            line = f"{', '.join(visible(n) for n in names)} are typing…"
        self.query_one("#typing", Static).update(line)

    # --- what the person does ----------------------------------------------------------------

    def start_reply(self, message: MessageOut) -> None:
        self._set_context(message, None)
        self.composer.focus()

    def start_edit(self, message: MessageOut) -> None:
        self._set_context(None, message)
        self.composer.text = message.body
        self.composer.move_cursor(self.composer.document.end)
        self.composer.focus()

    def _set_context(self, replying_to: MessageOut | None, editing: MessageOut | None) -> None:
        self.replying_to, self.editing = replying_to, editing
        context = self.query_one("#context", Static)
        if replying_to is not None:
            snippet = visible(replying_to.body.replace("\n", " ")[:60])
            context.update(f"Replying to {visible(replying_to.author)}: {snippet}  (Esc cancels)")
        elif editing is not None:
            context.update("Editing your message  (Esc cancels)")
        else:
            context.update("")
        context.display = replying_to is not None or editing is not None

    def on_composer_submitted(self, event: Composer.Submitted) -> None:
        event.stop()
        if self.draft_to is not None:
            self.post_message(self.DirectSendWanted(self.draft_to, event.text))
        elif self.room is None:
            return
        elif self.editing is not None:
            self.post_message(self.EditWanted(self.editing.id, event.text))
        else:
            reply_to = None if self.replying_to is None else self.replying_to.id
            self.post_message(self.SendWanted(self.room.id, event.text, reply_to))
        self.composer.clear()
        self._set_context(None, None)

    def on_composer_typed(self, event: Composer.Typed) -> None:
        event.stop()
        if self.room is not None and self.editing is None:
            self.post_message(self.Typing(self.room.id))

    def on_composer_left(self, event: Composer.Left) -> None:
        event.stop()
        if self.editing is not None:
            self.composer.clear()
        self._set_context(None, None)
        self.message_log.focus()

    def on_message_log_asked(self, event: MessageLog.Asked) -> None:
        own = event.message.author == self.me
        if event.action == "reply":
            event.stop()
            self.start_reply(event.message)
        elif event.action == "edit":
            event.stop()
            if own:
                self.start_edit(event.message)
            else:
                self.notify("You can only edit your own messages.", severity="warning")
        elif event.action == "delete" and not own:
            event.stop()
            self.notify("You can only delete your own messages.", severity="warning")
        # delete (own) and react bubble up: the app asks and the session acts.
