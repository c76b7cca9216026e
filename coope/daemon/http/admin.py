"""Account administration (admin role only; the service enforces it)."""

from __future__ import annotations

from aiohttp import web

from coope.core.models import Principal
from coope.core.schemas import AdminCreateUserIn, RoleIn, UserListOut, UserOut, UserQuery
from coope.daemon.http.keys import SERVICES
from coope.daemon.http.routes import RouteTable, UserPath

routes = RouteTable("admin")


@routes.get(
    "/api/v1/admin/users",
    summary="List or search accounts.",
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
