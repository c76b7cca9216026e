"""Friends, blocks and the caller's presence status."""

from __future__ import annotations

from aiohttp import web

from coope.core.models import Principal, User
from coope.core.schemas import UsernameIn, to_datetime
from coope.core.social_schemas import (
    FriendListOut,
    FriendRequestOut,
    FriendRequestsOut,
    PendingRequestOut,
    PresenceOut,
    StatusIn,
    UserRef,
    UserRefListOut,
)
from coope.daemon.http.keys import SERVICES
from coope.daemon.http.routes import RouteTable, UserPath

routes = RouteTable("friends")


def _pending(entries: list[tuple[User, float]]) -> list[PendingRequestOut]:
    return [PendingRequestOut(user=UserRef.of(u), created_at=to_datetime(ts)) for u, ts in entries]


@routes.post(
    "/api/v1/friends/requests",
    summary="Ask someone to be your friend.",
    body=UsernameIn,
    response=FriendRequestOut,
    status=201,
    errors=(403, 404),
)
async def request_friend(
    request: web.Request, principal: Principal, body: UsernameIn
) -> FriendRequestOut:
    outcome, user = await request.app[SERVICES].friends.request(principal, body.username)
    return FriendRequestOut(outcome=outcome.value, user=UserRef.of(user))


@routes.get(
    "/api/v1/friends/requests",
    summary="Pending requests, to you and from you.",
    response=FriendRequestsOut,
)
async def friend_requests(request: web.Request, principal: Principal) -> FriendRequestsOut:
    incoming, outgoing = await request.app[SERVICES].friends.requests(principal)
    return FriendRequestsOut(incoming=_pending(incoming), outgoing=_pending(outgoing))


@routes.post(
    "/api/v1/friends/requests/{username}/accept",
    summary="Accept a friend request.",
    params=UserPath,
    response=UserRef,
)
async def accept_friend(request: web.Request, principal: Principal, params: UserPath) -> UserRef:
    return UserRef.of(await request.app[SERVICES].friends.accept(principal, params.username))


@routes.post(
    "/api/v1/friends/requests/{username}/decline",
    summary="Decline a friend request.",
    params=UserPath,
    response=UserRef,
)
async def decline_friend(request: web.Request, principal: Principal, params: UserPath) -> UserRef:
    return UserRef.of(await request.app[SERVICES].friends.decline(principal, params.username))


@routes.delete(
    "/api/v1/friends/requests/{username}",
    summary="Cancel your friend request.",
    params=UserPath,
    response=UserRef,
)
async def cancel_friend(request: web.Request, principal: Principal, params: UserPath) -> UserRef:
    return UserRef.of(await request.app[SERVICES].friends.cancel(principal, params.username))


@routes.get("/api/v1/friends", summary="Your friends with their presence.", response=FriendListOut)
async def list_friends(request: web.Request, principal: Principal) -> FriendListOut:
    return FriendListOut(friends=await request.app[SERVICES].friends.friends(principal))


@routes.delete(
    "/api/v1/friends/{username}", summary="End a friendship.", params=UserPath, response=UserRef
)
async def remove_friend(request: web.Request, principal: Principal, params: UserPath) -> UserRef:
    return UserRef.of(await request.app[SERVICES].friends.remove(principal, params.username))


@routes.post(
    "/api/v1/blocks",
    summary="Block a user: no requests, messages or presence.",
    body=UsernameIn,
    response=UserRef,
    status=201,
    errors=(404,),
)
async def block(request: web.Request, principal: Principal, body: UsernameIn) -> UserRef:
    return UserRef.of(await request.app[SERVICES].friends.block(principal, body.username))


@routes.get("/api/v1/blocks", summary="Users you blocked.", response=UserRefListOut)
async def list_blocks(request: web.Request, principal: Principal) -> UserRefListOut:
    users = await request.app[SERVICES].friends.blocked(principal)
    return UserRefListOut(users=[UserRef.of(u) for u in users])


@routes.delete(
    "/api/v1/blocks/{username}", summary="Unblock a user.", params=UserPath, response=UserRef
)
async def unblock(request: web.Request, principal: Principal, params: UserPath) -> UserRef:
    return UserRef.of(await request.app[SERVICES].friends.unblock(principal, params.username))


@routes.get(
    "/api/v1/presence",
    summary="Your presence as friends see it: status, connection, last activity.",
    response=PresenceOut,
)
async def my_presence(request: web.Request, principal: Principal) -> PresenceOut:
    return await request.app[SERVICES].presence.mine(principal)


@routes.put(
    "/api/v1/presence",
    summary="Choose your status (available, away, busy, dnd), its text and when both end.",
    body=StatusIn,
    response=PresenceOut,
)
async def set_presence(request: web.Request, principal: Principal, body: StatusIn) -> PresenceOut:
    return await request.app[SERVICES].presence.set_status(principal, body)
