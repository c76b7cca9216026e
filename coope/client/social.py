"""Client areas for friends, presence and chat, and the names people give rooms.

A room is named `@alice` (your direct room with a friend), `#team` (a group room you are in,
by name: any case, compared as `coope.core.names` says) or by its id (`12` or `#12`); an
invitation by its room's id or `#name`.
Every front end resolves names here, so they mean the same everywhere.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

from coope.client.names import IdName
from coope.client.transport import Transport
from coope.client.transport import segment as _seg
from coope.core.emoji import from_short_code, stored_form
from coope.core.errors import InvalidInput, NotFound
from coope.core.models import RoomKind
from coope.core.names import name_key
from coope.core.rules import INT64_MAX
from coope.core.schemas import UsernameIn
from coope.core.social_schemas import (
    Availability,
    FriendListOut,
    FriendOut,
    FriendRequestOut,
    FriendRequestsOut,
    MessageEditIn,
    MessageIn,
    MessageOut,
    MessagePageOut,
    PresenceOut,
    ReadIn,
    ReadOut,
    RoomCreatedOut,
    RoomCreateIn,
    RoomInviteOut,
    RoomInvitesOut,
    RoomListOut,
    RoomOut,
    RoomRenameIn,
    SearchOut,
    StatusIn,
    UserRef,
    UserRefListOut,
)

T = TypeVar("T")


class FriendsApi:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    async def request(self, username: str) -> FriendRequestOut:
        body = UsernameIn.model_construct(username=username)
        out: FriendRequestOut = await self._t.call(
            "POST", "/api/v1/friends/requests", FriendRequestOut, body=body
        )
        return out

    async def requests(self) -> FriendRequestsOut:
        out: FriendRequestsOut = await self._t.call(
            "GET", "/api/v1/friends/requests", FriendRequestsOut
        )
        return out

    async def accept(self, username: str) -> UserRef:
        path = f"/api/v1/friends/requests/{_seg(username)}/accept"
        out: UserRef = await self._t.call("POST", path, UserRef)
        return out

    async def decline(self, username: str) -> UserRef:
        path = f"/api/v1/friends/requests/{_seg(username)}/decline"
        out: UserRef = await self._t.call("POST", path, UserRef)
        return out

    async def cancel(self, username: str) -> UserRef:
        out: UserRef = await self._t.call(
            "DELETE", f"/api/v1/friends/requests/{_seg(username)}", UserRef
        )
        return out

    async def remove(self, username: str) -> UserRef:
        out: UserRef = await self._t.call("DELETE", f"/api/v1/friends/{_seg(username)}", UserRef)
        return out

    async def block(self, username: str) -> UserRef:
        body = UsernameIn.model_construct(username=username)
        out: UserRef = await self._t.call("POST", "/api/v1/blocks", UserRef, body=body)
        return out

    async def unblock(self, username: str) -> UserRef:
        out: UserRef = await self._t.call("DELETE", f"/api/v1/blocks/{_seg(username)}", UserRef)
        return out

    async def blocked(self) -> list[UserRef]:
        out: UserRefListOut = await self._t.call("GET", "/api/v1/blocks", UserRefListOut)
        return out.users

    async def get(self, username: str) -> FriendOut:
        """Your friend `username` (with or without @) and their presence."""
        wanted = username.strip().removeprefix("@").strip().lower()
        if not wanted:
            raise InvalidInput(f"name a friend by their username, not {username!r}")
        for friend in await self.list():
            if friend.user.username.lower() == wanted:
                return friend
        raise NotFound(f"{wanted} is not your friend")

    # Last in the class: the name would shadow the builtin in the annotations that follow it.
    async def list(self) -> list[FriendOut]:
        out: FriendListOut = await self._t.call("GET", "/api/v1/friends", FriendListOut)
        return out.friends


class PresenceApi:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    async def get(self) -> PresenceOut:
        out: PresenceOut = await self._t.call("GET", "/api/v1/presence", PresenceOut)
        return out

    async def set(
        self,
        status: Availability | None = None,
        text: str | None = None,
        *,
        for_s: int | None = None,
        until: datetime | None = None,
    ) -> PresenceOut:
        """Choose your status and text (None keeps that part). With `for_s` (seconds) or
        `until` (a time with its zone) both end by themselves; a status chosen without either
        lasts until changed.

        Raises:
            InvalidInput: a text too long, an end in the past, more than 30 days ahead, or both
                `for_s` and `until`.
        """
        body = StatusIn.model_construct(status=status, text=text, for_s=for_s, until=until)
        out: PresenceOut = await self._t.call("PUT", "/api/v1/presence", PresenceOut, body=body)
        return out

    async def clear(self) -> PresenceOut:
        """Back to available, with no text and no end."""
        return await self.set("available", "")


class ChatApi:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    async def rooms(self) -> list[RoomOut]:
        out: RoomListOut = await self._t.call("GET", "/api/v1/rooms", RoomListOut)
        return out.rooms

    async def room(self, room_id: int) -> RoomOut:
        out: RoomOut = await self._t.call("GET", f"/api/v1/rooms/{room_id}", RoomOut)
        return out

    async def resolve(self, target: str) -> RoomOut:
        """The room a person means by `@user`, `#name` or an id (see the module docstring).

        Raises:
            InvalidInput: `target` is none of those, or `#name` fits several rooms (the message
                names their ids).
            NotFound: no such room of yours.
        """
        username = _direct_name(target)
        if username is not None:
            return await self.direct_room(username)
        target = target.strip()
        as_id = IdName.of(target)
        if as_id is not None:
            return await self.room(_room_id(as_id))
        name = target[1:].strip() if target.startswith("#") else ""
        if not name:
            raise InvalidInput(f"name a room as @user, #room or its id, not {target!r}")
        rooms = await self.rooms()
        key = name_key(name)
        matches = [r for r in rooms if r.kind is RoomKind.GROUP and name_key(r.name) == key]
        if not matches:
            raise NotFound(f"you are in no room called #{name}")
        return _only(matches, f"#{name}", [r.id for r in matches])

    async def resolve_invite(self, target: str) -> RoomInviteOut:
        """The invitation to you into the room a person names by its id or `#name`.

        Raises:
            InvalidInput: an empty name, or one that fits several invitations.
            NotFound: no invitation to you into that room.
        """
        target = target.strip()
        as_id = IdName.of(target)
        name = target.removeprefix("#").strip()
        if as_id is None and not name:
            raise InvalidInput(f"name a room as #room or its id, not {target!r}")
        incoming = (await self.invites()).incoming
        if as_id is not None:
            matches = [i for i in incoming if i.room_id == as_id.value]
        else:
            matches = [i for i in incoming if name_key(i.room_name) == name_key(name)]
        if not matches:
            raise NotFound(f"you have no invitation to {target}")
        return _only(matches, target, [i.room_id for i in matches])

    async def direct_room(self, username: str) -> RoomOut:
        out: RoomOut = await self._t.call("GET", f"/api/v1/direct/{_seg(username)}", RoomOut)
        return out

    async def create_room(
        self, name: str, members: list[str] | None = None, *, exist_ok: bool = False
    ) -> RoomCreatedOut:
        """Your friends among `members` join at once; anyone else is invited.

        Group room names are unique on the daemon (`coope.core.names`): a taken one raises
        `Conflict`, unless `exist_ok` and you are in the room that has it: then that room comes
        back as it is (no one added), with `created` False.
        """
        body = RoomCreateIn.model_construct(name=name, members=members or [], exist_ok=exist_ok)
        out: RoomCreatedOut = await self._t.call("POST", "/api/v1/rooms", RoomCreatedOut, body=body)
        return out

    async def rename_room(self, room_id: int, name: str) -> RoomOut:
        body = RoomRenameIn.model_construct(name=name)
        out: RoomOut = await self._t.call(
            "POST", f"/api/v1/rooms/{room_id}/name", RoomOut, body=body
        )
        return out

    async def add_member(self, room_id: int, username: str) -> RoomOut:
        """Add a friend, or invite anyone else (the returned room lists them in `invited`)."""
        body = UsernameIn.model_construct(username=username)
        out: RoomOut = await self._t.call(
            "POST", f"/api/v1/rooms/{room_id}/members", RoomOut, body=body
        )
        return out

    async def invites(self) -> RoomInvitesOut:
        """Invitations into rooms: to you (`incoming`) and those you made (`outgoing`)."""
        out: RoomInvitesOut = await self._t.call("GET", "/api/v1/room-invites", RoomInvitesOut)
        return out

    async def accept_invite(self, room_id: int) -> RoomOut:
        out: RoomOut = await self._t.call("POST", f"/api/v1/room-invites/{room_id}/accept", RoomOut)
        return out

    async def decline_invite(self, room_id: int) -> None:
        await self._t.call("POST", f"/api/v1/room-invites/{room_id}/decline")

    async def remove_member(self, room_id: int, username: str) -> None:
        await self._t.call("DELETE", f"/api/v1/rooms/{room_id}/members/{_seg(username)}")

    async def leave(self, room_id: int) -> None:
        await self._t.call("POST", f"/api/v1/rooms/{room_id}/leave")

    async def send(
        self,
        room_id: int,
        body: str,
        *,
        client_id: str | None = None,
        reply_to: int | None = None,
    ) -> MessageOut:
        payload = MessageIn.model_construct(body=body, client_id=client_id, reply_to=reply_to)
        out: MessageOut = await self._t.call(
            "POST", f"/api/v1/rooms/{room_id}/messages", MessageOut, body=payload
        )
        return out

    async def send_to(
        self,
        target: str,
        body: str,
        *,
        client_id: str | None = None,
        reply_to: int | None = None,
    ) -> MessageOut:
        """Send to a room named as `resolve` takes it; `@user` makes the direct room with a
        friend on the first message."""
        username = _direct_name(target)
        if username is not None:
            return await self.send_direct(username, body, client_id=client_id, reply_to=reply_to)
        room = await self.resolve(target)
        return await self.send(room.id, body, client_id=client_id, reply_to=reply_to)

    async def send_direct(
        self,
        username: str,
        body: str,
        *,
        client_id: str | None = None,
        reply_to: int | None = None,
    ) -> MessageOut:
        payload = MessageIn.model_construct(body=body, client_id=client_id, reply_to=reply_to)
        out: MessageOut = await self._t.call(
            "POST", f"/api/v1/direct/{_seg(username)}/messages", MessageOut, body=payload
        )
        return out

    async def history(
        self,
        room_id: int,
        *,
        before: int | None = None,
        after: int | None = None,
        limit: int = 50,
    ) -> MessagePageOut:
        out: MessagePageOut = await self._t.call(
            "GET",
            f"/api/v1/rooms/{room_id}/messages",
            MessagePageOut,
            params={"before": before, "after": after, "limit": limit},
        )
        return out

    async def message_at(self, room_id: int, seq: int) -> MessageOut:
        """The message whose number in the room (`seq`, what `history` pages by) is `seq`.

        Raises `NotFound` when the room has no message of that number.
        """
        if 1 <= seq <= INT64_MAX:
            page = await self.history(room_id, after=seq - 1, limit=1)
            if page.messages and page.messages[0].seq == seq:
                return page.messages[0]
        raise NotFound(f"no message {seq} in this room")

    async def changes(self, room_id: int, after: int, limit: int = 500) -> MessagePageOut:
        out: MessagePageOut = await self._t.call(
            "GET",
            f"/api/v1/rooms/{room_id}/changes",
            MessagePageOut,
            params={"after": after, "limit": limit},
        )
        return out

    async def mark_read(self, room_id: int, seq: int) -> ReadOut:
        body = ReadIn.model_construct(seq=seq)
        out: ReadOut = await self._t.call(
            "POST", f"/api/v1/rooms/{room_id}/read", ReadOut, body=body
        )
        return out

    async def edit(self, message_id: int, body: str) -> MessageOut:
        payload = MessageEditIn.model_construct(body=body)
        out: MessageOut = await self._t.call(
            "PATCH", f"/api/v1/messages/{message_id}", MessageOut, body=payload
        )
        return out

    async def delete(self, message_id: int) -> MessageOut:
        out: MessageOut = await self._t.call("DELETE", f"/api/v1/messages/{message_id}", MessageOut)
        return out

    async def react(self, message_id: int, emoji: str, *, remove: bool = False) -> MessageOut:
        """Add (or `remove`) your reaction: one emoji, or a short code such as `:thumbsup:`
        (`coope.core.emoji`). An unknown short code is taken back as it is typed: one stored
        that way before reactions were checked is still yours to remove.

        Raises:
            InvalidInput: an unknown short code added, or not one emoji.
            NotFound: `remove` a reaction you did not give (or no such message of yours).
        """
        emoji = stored_form(emoji) if remove else from_short_code(emoji)
        out: MessageOut = await self._t.call(
            "DELETE" if remove else "PUT",
            f"/api/v1/messages/{message_id}/reactions/{_seg(emoji)}",
            MessageOut,
        )
        return out

    async def search(
        self, query: str, *, room_id: int | None = None, limit: int = 20
    ) -> list[MessageOut]:
        out: SearchOut = await self._t.call(
            "GET",
            "/api/v1/messages/search",
            SearchOut,
            params={"q": query, "room": room_id, "limit": limit},
        )
        return out.messages


def _direct_name(target: str) -> str | None:
    """The username in `@alice`, else None."""
    target = target.strip()
    username = target[1:].strip()
    return username if target.startswith("@") and username else None


def _room_id(as_id: IdName) -> int:
    """The id to ask the daemon for; one no room can have (0, past 64 bits) is not sent."""
    if as_id.value is None:
        raise NotFound(f"no room {as_id.digits}")
    return as_id.value


def _only(matches: list[T], name: str, ids: list[int]) -> T:
    """The one match, or InvalidInput naming the ids to choose from."""
    if len(matches) > 1:
        raise InvalidInput(f"{name} could be rooms {', '.join(map(str, sorted(ids)))}: use the id")
    return matches[0]
