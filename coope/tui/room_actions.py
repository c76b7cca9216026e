"""`RoomActions`: search, new group rooms, members and invitations, through the client.

The app hands it what the person asked for in the rooms dialogs (`room_search.py`,
`room_new.py`, `room_members.py`); it does the I/O and hands the answers down (`show_results`)
or lets the live events bring them (a room renamed or its members changed comes back as
`room.updated`, which the session passes on with `Session.room_changed`). Invitations to you are
followed live (`room.invited`, `room.uninvited`): their count goes in the Rooms box's title and
the list to the dialogs subscribed to `invites_changed`. Every coroutine here runs as a worker of
the app (`spawn`), which turns a `CoopeError` into a notification.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.signal import Signal

from coope.client import ConnectionState, CoopeClient
from coope.client.feeds import Handle
from coope.client.names import room_label
from coope.core.errors import InvalidInput
from coope.core.events import RoomInvited, RoomUninvited
from coope.core.rules import visible
from coope.core.social_schemas import MessageOut, RoomInviteOut
from coope.tui.chat import MemberAction, ShowsResults

if TYPE_CHECKING:
    from coope.tui.session import Session

SEARCH_LIMIT = 50


class RoomActions:
    """The rooms side of one signed-in session (its client, rooms and friends).

    Args:
        session: The session: its client, what it knows of rooms and friends, the screen.
        say: Tells the person something (a plain-words notification, never markup).
    """

    def __init__(self, session: Session, say: Callable[[str], None]) -> None:
        self.session, self.say = session, say
        self.invites: list[RoomInviteOut] = []
        self.invites_changed: Signal[list[RoomInviteOut]] = Signal(
            session.screen, "invites-changed"
        )
        self._handles: list[Handle] = []

    @property
    def client(self) -> CoopeClient:
        return self.session.client

    def start(self) -> None:
        """Load the invitations, then follow them until `stop()`."""
        live = self.client.live
        self._handles = [
            live.on((RoomInvited, RoomUninvited), self._invite_event),
            live.on_state(self._state_changed),
        ]
        self.session.spawn(self.load_invites(), "invites")

    def stop(self) -> None:
        for handle in self._handles:
            handle.unsubscribe()
        self._handles.clear()

    # --- search ----------------------------------------------------------------------------

    async def search(self, screen: ShowsResults, query: str, room_id: int | None) -> None:
        """The messages with every word of `query` (in one room, or all), best first."""
        found = await self.client.chat.search(query, room_id=room_id, limit=SEARCH_LIMIT)
        screen.show_results(query, found)

    def open_at(self, message: MessageOut | None) -> None:
        """Open the message's room with the window around it and it selected (a result
        chosen; None: none was)."""
        if message is not None:
            self.session.spawn(self.session.open_room(message.room_id, at=message.seq), "room")

    # --- a new group room -------------------------------------------------------------------

    async def create(self, name: str, members: list[str]) -> None:
        """Make the room (friends join at once, anyone else is invited), then open it."""
        room = await self.client.chat.create_room(name.strip(), members)
        self.session.rooms.put(room)
        if room.invited:
            invited = ", ".join(visible(n) for n in room.invited)
            self.say(
                f"{visible(room_label(room))}: {invited} invited (they join once they accept)."
            )
        self.session.spawn(self.session.open_room(room.id), "room")

    # --- members ------------------------------------------------------------------------------

    async def change(self, action: MemberAction, room_id: int, text: str) -> None:
        """What the members dialog asked for (`text`: the name of the person or the room)."""
        if action == "add":
            await self.add(room_id, text)
        elif action == "remove":
            await self.remove(room_id, text)
        elif action == "rename":
            await self.rename(room_id, text)
        else:
            await self.leave(room_id)

    async def add(self, room_id: int, username: str) -> None:
        name = _username(username)
        room = await self.client.chat.add_member(room_id, name)
        self.session.put_room(room)
        if name in room.invited:
            self.say(f"{visible(name)} is invited (not your friend: they join once they accept).")
        else:
            self.say(f"{visible(name)} is in {visible(room_label(room))} now.")

    async def remove(self, room_id: int, username: str) -> None:
        await self.client.chat.remove_member(room_id, username)
        self.say(f"{visible(username)} is out of the room.")
        self.session.put_room(await self.client.chat.room(room_id))

    async def rename(self, room_id: int, name: str) -> None:
        room = await self.client.chat.rename_room(room_id, name.strip())
        self.session.put_room(room)

    async def leave(self, room_id: int) -> None:
        room = self.session.rooms.by_id.get(room_id)
        await self.client.chat.leave(room_id)
        self.session.left(room_id)
        if room is not None:
            self.say(f"You left {visible(room_label(room))}.")

    # --- invitations to you -----------------------------------------------------------------

    async def load_invites(self) -> None:
        self._show_invites((await self.client.chat.invites()).incoming)

    async def accept(self, room_id: int) -> None:
        room = await self.client.chat.accept_invite(room_id)
        self._show_invites([i for i in self.invites if i.room_id != room_id])
        self.session.rooms.put(room)
        self.session.spawn(self.session.open_room(room.id), "room")

    async def decline(self, room_id: int) -> None:
        await self.client.chat.decline_invite(room_id)
        self._show_invites([i for i in self.invites if i.room_id != room_id])

    def _show_invites(self, invites: list[RoomInviteOut]) -> None:
        self.invites = invites
        self.session.show_invite_count(len(invites))
        self.invites_changed.publish(invites)

    # --- live callbacks (on the connection's task: no waiting here) -----------------------------

    def _invite_event(self, event: RoomInvited | RoomUninvited) -> None:
        if isinstance(event, RoomInvited):
            invite = event.data
            self.say(
                f"{visible(invite.invited_by.username)} invites you to"
                f" #{visible(invite.room_name)} (n to answer)."
            )
        self.session.spawn(self.load_invites(), "invites")

    def _state_changed(self, state: ConnectionState) -> None:
        if state == "connected":  # what happened while away came with no event
            self.session.spawn(self.load_invites(), "invites")


def _username(typed: str) -> str:
    name = typed.strip().removeprefix("@").strip()
    if not name:
        raise InvalidInput("name someone by their username")
    return name
