"""Client areas for friends, presence and chat."""

from __future__ import annotations

from typing import Literal

from coope.client.transport import Transport
from coope.client.transport import segment as _seg
from coope.core.schemas import UsernameIn
from coope.core.social_schemas import (
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
    RoomCreateIn,
    RoomInvitesOut,
    RoomListOut,
    RoomOut,
    RoomRenameIn,
    SearchOut,
    StatusIn,
    UserRef,
    UserRefListOut,
)


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
        self, state: Literal["online", "away"] | None = None, text: str | None = None
    ) -> PresenceOut:
        body = StatusIn.model_construct(state=state, text=text)
        out: PresenceOut = await self._t.call("PUT", "/api/v1/presence", PresenceOut, body=body)
        return out


class ChatApi:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    async def rooms(self) -> list[RoomOut]:
        out: RoomListOut = await self._t.call("GET", "/api/v1/rooms", RoomListOut)
        return out.rooms

    async def room(self, room_id: int) -> RoomOut:
        out: RoomOut = await self._t.call("GET", f"/api/v1/rooms/{room_id}", RoomOut)
        return out

    async def direct_room(self, username: str) -> RoomOut:
        out: RoomOut = await self._t.call("GET", f"/api/v1/direct/{_seg(username)}", RoomOut)
        return out

    async def create_room(self, name: str, members: list[str] | None = None) -> RoomOut:
        """Your friends among `members` join at once; anyone else is invited."""
        body = RoomCreateIn.model_construct(name=name, members=members or [])
        out: RoomOut = await self._t.call("POST", "/api/v1/rooms", RoomOut, body=body)
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
