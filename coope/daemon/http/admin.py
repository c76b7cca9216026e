"""Account administration (admin role only; the service enforces it)."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web
from pydantic import BaseModel

from coope.core.models import Principal
from coope.core.schemas import (
    AdminActionOut,
    AdminCreateUserIn,
    CredentialsEndedOut,
    DisplayNameIn,
    Id,
    PasswordResetIn,
    PasswordResetOut,
    RoleIn,
    TokenCreatedOut,
    TokenCreateIn,
    TokenListOut,
    TokenOut,
    UserDeletedOut,
    UserListOut,
    UserOut,
    UserQuery,
)
from coope.daemon.http.keys import SERVICES
from coope.daemon.http.routes import RouteTable, UserPath

routes = RouteTable("admin")


class UserTokenPath(BaseModel):
    username: str
    token_id: Id


def _now(request: web.Request) -> datetime:
    """When an admin's change was made, for its audit record."""
    return datetime.fromtimestamp(request.app[SERVICES].clock.now(), UTC)


@routes.get(
    "/api/v1/admin/users",
    summary="List or search accounts (deleted ones too, as tombstones).",
    query=UserQuery,
    response=UserListOut,
    errors=(403,),
)
async def list_users(request: web.Request, principal: Principal, query: UserQuery) -> UserListOut:
    users, total = await request.app[SERVICES].admin.list_users(
        principal, query.search, query.limit, query.offset
    )
    return UserListOut(users=[UserOut.of(u) for u in users], total=total)


@routes.post(
    "/api/v1/admin/users",
    summary="Create an account (works with signup closed).",
    body=AdminCreateUserIn,
    response=UserOut,
    status=201,
    errors=(403, 409),
)
async def create_user(
    request: web.Request, principal: Principal, body: AdminCreateUserIn
) -> UserOut:
    user = await request.app[SERVICES].admin.create_user(
        principal, body.username, body.password, body.display_name, body.role
    )
    return UserOut.of(user)


@routes.post(
    "/api/v1/admin/users/{username}/role",
    summary="Change an account's role.",
    params=UserPath,
    body=RoleIn,
    response=UserOut,
    errors=(403, 409),
)
async def set_role(
    request: web.Request, principal: Principal, params: UserPath, body: RoleIn
) -> UserOut:
    user = await request.app[SERVICES].admin.set_role(principal, params.username, body.role)
    return UserOut.of(user)


@routes.post(
    "/api/v1/admin/users/{username}/disable",
    summary="Disable an account: every session and API token it has ends at once and for good"
    " (enabling it again revives none), and its open websockets are closed.",
    params=UserPath,
    response=UserOut,
    errors=(403, 409),
)
async def disable(request: web.Request, principal: Principal, params: UserPath) -> UserOut:
    return UserOut.of(
        await request.app[SERVICES].admin.set_disabled(principal, params.username, True)
    )


@routes.post(
    "/api/v1/admin/users/{username}/enable",
    summary="Enable a disabled account. Its old sessions and tokens stay ended: it logs in again.",
    params=UserPath,
    response=UserOut,
    errors=(403,),
)
async def enable(request: web.Request, principal: Principal, params: UserPath) -> UserOut:
    return UserOut.of(
        await request.app[SERVICES].admin.set_disabled(principal, params.username, False)
    )


@routes.post(
    "/api/v1/admin/users/{username}/password",
    summary="Set someone's password (the signup rule applies). Every session of theirs ends and"
    " their open websockets close; API tokens keep working unless revoke_tokens is true. Not"
    " for your own: that takes the current one (POST /api/v1/account/password).",
    params=UserPath,
    body=PasswordResetIn,
    response=PasswordResetOut,
    errors=(403,),
)
async def reset_password(
    request: web.Request, principal: Principal, params: UserPath, body: PasswordResetIn
) -> PasswordResetOut:
    user, ended = await request.app[SERVICES].admin.reset_password(
        principal, params.username, body.new_password, revoke_tokens=body.revoke_tokens
    )
    return PasswordResetOut(
        action="password_reset",
        user=UserOut.of(user),
        ended=CredentialsEndedOut.of(ended),
        by=principal.user.username,
        at=_now(request),
    )


@routes.post(
    "/api/v1/admin/users/{username}/name",
    summary="Set someone's display name.",
    params=UserPath,
    body=DisplayNameIn,
    response=AdminActionOut,
    errors=(403,),
)
async def set_display_name(
    request: web.Request, principal: Principal, params: UserPath, body: DisplayNameIn
) -> AdminActionOut:
    user = await request.app[SERVICES].admin.set_display_name(
        principal, params.username, body.display_name
    )
    return AdminActionOut(
        action="display_name_set",
        user=UserOut.of(user),
        by=principal.user.username,
        at=_now(request),
    )


@routes.delete(
    "/api/v1/admin/users/{username}",
    summary="Delete an account. Refused (409) while it is the only owner of a workspace (they"
    " are listed in details.workspaces: transfer or delete them first) or the last active"
    " admin. Otherwise it becomes a tombstone: its password, sessions and API tokens end and its"
    " websockets close (its identity-provider id stays, so that the provider's later updates"
    " bring nothing back); it leaves every workspace and group room"
    " (direct conversations stay) and ends its friendships, requests and blocks; it is called"
    ' "deleted:ID" and shown as "deleted user", so its old username is free for anyone. Its'
    " messages and pages stay. The id is never used again.",
    params=UserPath,
    response=UserDeletedOut,
    errors=(403, 409),
)
async def delete_user(
    request: web.Request, principal: Principal, params: UserPath
) -> UserDeletedOut:
    deleted = await request.app[SERVICES].admin.delete_user(principal, params.username)
    return UserDeletedOut(
        action="deleted",
        user=UserOut.of(deleted.user),
        by=principal.user.username,
        at=datetime.fromtimestamp(deleted.user.deleted_at or 0.0, UTC),
        former_username=deleted.former.username,
        ended=CredentialsEndedOut.of(deleted.ended),
        workspaces_left=deleted.workspace_ids,
        rooms_left=deleted.room_ids,
        friendships_ended=len(deleted.friend_ids),
    )


@routes.post(
    "/api/v1/admin/users/{username}/tokens",
    summary="Create an API token for an account (a bot's, made with POST /api/v1/admin/users)."
    " The secret is in this response only.",
    params=UserPath,
    body=TokenCreateIn,
    response=TokenCreatedOut,
    status=201,
    errors=(403, 409),
)
async def create_token(
    request: web.Request, principal: Principal, params: UserPath, body: TokenCreateIn
) -> TokenCreatedOut:
    secret, token = await request.app[SERVICES].admin.create_token(
        principal, params.username, body.name, body.expires_in_days
    )
    return TokenCreatedOut(token=secret, info=TokenOut.of(token))


@routes.get(
    "/api/v1/admin/users/{username}/tokens",
    summary="An account's live API tokens (never their secrets).",
    params=UserPath,
    response=TokenListOut,
    errors=(403,),
)
async def list_tokens(request: web.Request, principal: Principal, params: UserPath) -> TokenListOut:
    tokens = await request.app[SERVICES].admin.list_tokens(principal, params.username)
    return TokenListOut(tokens=[TokenOut.of(t) for t in tokens])


@routes.delete(
    "/api/v1/admin/users/{username}/tokens/{token_id}",
    summary="Revoke an account's API token: it stops working at once.",
    params=UserTokenPath,
    errors=(403,),
)
async def revoke_token(request: web.Request, principal: Principal, params: UserTokenPath) -> None:
    await request.app[SERVICES].admin.revoke_token(principal, params.username, params.token_id)
