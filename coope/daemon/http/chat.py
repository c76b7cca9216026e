"""Rooms, invitations into them, and messages."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel

from coope.core.models import Principal, RoomSummary
from coope.core.schemas import Id, UsernameIn
from coope.core.social_schemas import (
    ChangesQuery,
    HistoryQuery,
    MessageEditIn,
    MessageIn,
    MessageOut,
    MessagePageOut,
    ReadIn,
    ReadOut,
    RoomCreatedOut,
    RoomCreateIn,
    RoomInvitesOut,
    RoomListOut,
    RoomOut,
    RoomRenameIn,
    SearchOut,
    SearchQuery,
)
from coope.daemon.http.keys import SERVICES
from coope.daemon.http.routes import RouteTable, UserPath, WithStatus

routes = RouteTable("chat")


class RoomPath(BaseModel):
    room_id: Id


class MemberPath(BaseModel):
    room_id: Id
    username: str


class MessagePath(BaseModel):
    message_id: Id


class ReactionPath(BaseModel):
    message_id: Id
    emoji: str


async def _rooms_out(
    request: web.Request, principal: Principal, rooms: list[RoomSummary]
) -> list[RoomOut]:
    invited = await request.app[SERVICES].chat.invitees(rooms)
    viewer = principal.user.username
    return [RoomOut.of(r, viewer, invited.get(r.room.id, [])) for r in rooms]


async def _out(request: web.Request, principal: Principal, summary: RoomSummary) -> RoomOut:
    return (await _rooms_out(request, principal, [summary]))[0]


@routes.get(
    "/api/v1/rooms",
    summary="Your rooms, most recently active first, with unread counts.",
    response=RoomListOut,
)
async def list_rooms(request: web.Request, principal: Principal) -> RoomListOut:
    rooms = await request.app[SERVICES].chat.rooms(principal)
    return RoomListOut(rooms=await _rooms_out(request, principal, rooms))


@routes.post(
    "/api/v1/rooms",
    summary="Create a group room you administer: your friends among `members` join at once, "
    "anyone else is invited (see /api/v1/room-invites). Group room names are unique on the "
    "daemon (409), compared without case after Unicode normalisation, so anyone signed in can "
    "learn that a name is taken.",
    body=RoomCreateIn,
    response=RoomCreatedOut,
    status=201,
    errors=(403, 404, 409),
    also=((200, "It existed already: `exist_ok` answered the one that has the name"),),
)
async def create_room(
    request: web.Request, principal: Principal, body: RoomCreateIn
) -> RoomCreatedOut | WithStatus:
    room, created = await request.app[SERVICES].chat.create_group(
        principal, body.name, body.members, exist_ok=body.exist_ok
    )
    out = RoomCreatedOut(**(await _out(request, principal, room)).model_dump(), created=created)
    return out if created else WithStatus(out, 200)


@routes.get(
    "/api/v1/rooms/{room_id}", summary="One of your rooms.", params=RoomPath, response=RoomOut
)
async def get_room(request: web.Request, principal: Principal, params: RoomPath) -> RoomOut:
    room = await request.app[SERVICES].chat.room(principal, params.room_id)
    return await _out(request, principal, room)


@routes.get(
    "/api/v1/direct/{username}",
    summary="Your direct room with a friend, if any.",
    params=UserPath,
    response=RoomOut,
)
async def get_direct(request: web.Request, principal: Principal, params: UserPath) -> RoomOut:
    room = await request.app[SERVICES].chat.direct_room(principal, params.username)
    return await _out(request, principal, room)


@routes.post(
    "/api/v1/direct/{username}/messages",
    summary="Message a friend (their direct room is made with the first message).",
    params=UserPath,
    body=MessageIn,
    response=MessageOut,
    status=201,
    errors=(403, 409),
)
async def send_direct(
    request: web.Request, principal: Principal, params: UserPath, body: MessageIn
) -> MessageOut:
    message = await request.app[SERVICES].chat.send_direct(
        principal, params.username, body.body, body.client_id, body.reply_to
    )
    return MessageOut.of(message)


@routes.post(
    "/api/v1/rooms/{room_id}/name",
    summary="Rename a group room (its admin only). Another group room's name is refused (409).",
    params=RoomPath,
    body=RoomRenameIn,
    response=RoomOut,
    errors=(403, 409),
)
async def rename_room(
    request: web.Request, principal: Principal, params: RoomPath, body: RoomRenameIn
) -> RoomOut:
    room = await request.app[SERVICES].chat.rename(principal, params.room_id, body.name)
    return await _out(request, principal, room)


@routes.post(
    "/api/v1/rooms/{room_id}/members",
    summary="Add a friend, or invite anyone else (the room's admin only).",
    params=RoomPath,
    body=UsernameIn,
    response=RoomOut,
    errors=(403,),
)
async def add_member(
    request: web.Request, principal: Principal, params: RoomPath, body: UsernameIn
) -> RoomOut:
    room = await request.app[SERVICES].chat.add_member(principal, params.room_id, body.username)
    return await _out(request, principal, room)


@routes.delete(
    "/api/v1/rooms/{room_id}/members/{username}",
    summary="Remove a member or withdraw an invitation (admin), or remove yourself (leave).",
    params=MemberPath,
    errors=(403,),
)
async def remove_member(request: web.Request, principal: Principal, params: MemberPath) -> None:
    await request.app[SERVICES].chat.remove_member(principal, params.room_id, params.username)


@routes.post("/api/v1/rooms/{room_id}/leave", summary="Leave a group room.", params=RoomPath)
async def leave_room(request: web.Request, principal: Principal, params: RoomPath) -> None:
    await request.app[SERVICES].chat.leave(principal, params.room_id)


@routes.get(
    "/api/v1/room-invites",
    summary="Invitations into group rooms: to you, and those you made, not yet answered.",
    response=RoomInvitesOut,
)
async def list_room_invites(request: web.Request, principal: Principal) -> RoomInvitesOut:
    incoming, outgoing = await request.app[SERVICES].chat.invites(principal)
    return RoomInvitesOut(incoming=incoming, outgoing=outgoing)


@routes.post(
    "/api/v1/room-invites/{room_id}/accept",
    summary="Accept an invitation: you join the room.",
    params=RoomPath,
    response=RoomOut,
)
async def accept_room_invite(
    request: web.Request, principal: Principal, params: RoomPath
) -> RoomOut:
    room = await request.app[SERVICES].chat.accept_invite(principal, params.room_id)
    return await _out(request, principal, room)


@routes.post(
    "/api/v1/room-invites/{room_id}/decline",
    summary="Decline an invitation into a room.",
    params=RoomPath,
)
async def decline_room_invite(request: web.Request, principal: Principal, params: RoomPath) -> None:
    await request.app[SERVICES].chat.decline_invite(principal, params.room_id)


@routes.get(
    "/api/v1/rooms/{room_id}/messages",
    summary="History by position: the newest page, or before/after a seq.",
    params=RoomPath,
    query=HistoryQuery,
    response=MessagePageOut,
)
async def history(
    request: web.Request, principal: Principal, params: RoomPath, query: HistoryQuery
) -> MessagePageOut:
    messages, more = await request.app[SERVICES].chat.history(
        principal, params.room_id, query.before, query.after, query.limit
    )
    return MessagePageOut(messages=[MessageOut.of(m) for m in messages], has_more=more)


@routes.get(
    "/api/v1/rooms/{room_id}/changes",
    summary="Everything created or changed after a room sequence number (to resume).",
    params=RoomPath,
    query=ChangesQuery,
    response=MessagePageOut,
)
async def changes(
    request: web.Request, principal: Principal, params: RoomPath, query: ChangesQuery
) -> MessagePageOut:
    messages, more = await request.app[SERVICES].chat.changes(
        principal, params.room_id, query.after, query.limit
    )
    return MessagePageOut(messages=[MessageOut.of(m) for m in messages], has_more=more)


@routes.post(
    "/api/v1/rooms/{room_id}/messages",
    summary="Send a message.",
    params=RoomPath,
    body=MessageIn,
    response=MessageOut,
    status=201,
    errors=(403, 409),
)
async def send(
    request: web.Request, principal: Principal, params: RoomPath, body: MessageIn
) -> MessageOut:
    message = await request.app[SERVICES].chat.send(
        principal, params.room_id, body.body, body.client_id, body.reply_to
    )
    return MessageOut.of(message)


@routes.post(
    "/api/v1/rooms/{room_id}/read",
    summary="Move your read marker forward.",
    params=RoomPath,
    body=ReadIn,
    response=ReadOut,
)
async def mark_read(
    request: web.Request, principal: Principal, params: RoomPath, body: ReadIn
) -> ReadOut:
    room = await request.app[SERVICES].chat.mark_read(principal, params.room_id, body.seq)
    return ReadOut(room_id=room.room.id, last_read_seq=room.last_read_seq, unread=room.unread)


@routes.patch(
    "/api/v1/messages/{message_id}",
    summary="Edit your message.",
    params=MessagePath,
    body=MessageEditIn,
    response=MessageOut,
    errors=(403, 409),
)
async def edit(
    request: web.Request, principal: Principal, params: MessagePath, body: MessageEditIn
) -> MessageOut:
    message = await request.app[SERVICES].chat.edit(principal, params.message_id, body.body)
    return MessageOut.of(message)


@routes.delete(
    "/api/v1/messages/{message_id}",
    summary="Delete your message (a tombstone stays).",
    params=MessagePath,
    response=MessageOut,
    errors=(403,),
)
async def delete(request: web.Request, principal: Principal, params: MessagePath) -> MessageOut:
    return MessageOut.of(await request.app[SERVICES].chat.delete(principal, params.message_id))


@routes.put(
    "/api/v1/messages/{message_id}/reactions/{emoji}",
    summary="React to a message with one emoji (adding it again changes nothing).",
    params=ReactionPath,
    response=MessageOut,
    errors=(403, 409),
)
async def react(request: web.Request, principal: Principal, params: ReactionPath) -> MessageOut:
    chat = request.app[SERVICES].chat
    return MessageOut.of(await chat.react(principal, params.message_id, params.emoji, True))


@routes.delete(
    "/api/v1/messages/{message_id}/reactions/{emoji}",
    summary="Take your reaction back (404 if you did not react so).",
    params=ReactionPath,
    response=MessageOut,
    errors=(403, 409),
)
async def unreact(request: web.Request, principal: Principal, params: ReactionPath) -> MessageOut:
    chat = request.app[SERVICES].chat
    return MessageOut.of(await chat.react(principal, params.message_id, params.emoji, False))


@routes.get(
    "/api/v1/messages/search",
    summary="Search the messages of your rooms.",
    query=SearchQuery,
    response=SearchOut,
    errors=(404,),
)
async def search(request: web.Request, principal: Principal, query: SearchQuery) -> SearchOut:
    messages = await request.app[SERVICES].chat.search(principal, query.q, query.room, query.limit)
    return SearchOut(messages=[MessageOut.of(m) for m in messages])
