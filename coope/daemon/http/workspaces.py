"""Workspaces, members and invites.

Who may do what: `coope.core.rules.WORKSPACE_PERMISSIONS` (viewer < editor < admin < owner; a
service admin acts as an owner of every workspace)."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel

from coope.core.models import Principal, WorkspaceRole
from coope.core.schemas import UsernameIn
from coope.core.workspace_schemas import (
    InviteIn,
    InviteOut,
    InvitesOut,
    JoinIn,
    JoinOut,
    MemberChangeOut,
    MemberChangesOut,
    MemberIn,
    MemberKeptOut,
    MemberOut,
    MembersIn,
    MembersOut,
    WorkspaceCreatedOut,
    WorkspaceCreateIn,
    WorkspaceIn,
    WorkspaceListedOut,
    WorkspaceListOut,
    WorkspaceOut,
    WorkspaceQuery,
)
from coope.daemon.http.keys import SERVICES
from coope.daemon.http.routes import RouteTable, WithStatus, WorkspacePath
from coope.daemon.services.workspaces import WantedRole

routes = RouteTable("workspaces")


class MemberPath(BaseModel):
    workspace_id: int
    username: str


class InvitePath(BaseModel):
    workspace_id: int
    code: str


@routes.post(
    "/api/v1/workspaces",
    summary="Create a workspace; you own it. Names are unique on the daemon (409), compared"
    " without case after Unicode normalisation, so anyone signed in can learn that a name is"
    " taken.",
    body=WorkspaceCreateIn,
    response=WorkspaceCreatedOut,
    status=201,
    errors=(409,),
    also=((200, "It existed already: `exist_ok` answered the one that has the name"),),
)
async def create_workspace(
    request: web.Request, principal: Principal, body: WorkspaceCreateIn
) -> WorkspaceCreatedOut | WithStatus:
    access, created = await request.app[SERVICES].workspaces.create(
        principal, body.name, exist_ok=body.exist_ok
    )
    out = WorkspaceCreatedOut(
        **WorkspaceOut.of(access.workspace, access.role).model_dump(), created=created
    )
    return out if created else WithStatus(out, 200)


@routes.get(
    "/api/v1/workspaces",
    summary="Your workspaces, with their owners and member counts (service admins: ?all=true"
    " for every one; anyone else gets 403). ?name= answers only the workspace of that name if"
    " you may see it (a service admin may see every one), and none otherwise.",
    query=WorkspaceQuery,
    response=WorkspaceListOut,
    errors=(403,),
)
async def list_workspaces(
    request: web.Request, principal: Principal, query: WorkspaceQuery
) -> WorkspaceListOut:
    found = await request.app[SERVICES].workspaces.overview(
        principal, everything=query.all, name=query.name
    )
    return WorkspaceListOut(
        workspaces=[
            WorkspaceListedOut(
                **WorkspaceOut.of(w.workspace, w.role).model_dump(),
                owners=w.owners,
                member_count=w.member_count,
            )
            for w in found
        ]
    )


@routes.get(
    "/api/v1/workspaces/{workspace_id}",
    summary="One workspace.",
    params=WorkspacePath,
    response=WorkspaceOut,
)
async def get_workspace(
    request: web.Request, principal: Principal, params: WorkspacePath
) -> WorkspaceOut:
    access = await request.app[SERVICES].workspaces.access(principal, params.workspace_id)
    return WorkspaceOut.of(access.workspace, access.role)


@routes.post(
    "/api/v1/workspaces/{workspace_id}/name",
    summary="Rename (owner). Another workspace's name is refused (409).",
    params=WorkspacePath,
    body=WorkspaceIn,
    response=WorkspaceOut,
    errors=(403, 409),
)
async def rename_workspace(
    request: web.Request, principal: Principal, params: WorkspacePath, body: WorkspaceIn
) -> WorkspaceOut:
    service = request.app[SERVICES].workspaces
    workspace = await service.rename(principal, params.workspace_id, body.name)
    return WorkspaceOut.of(workspace, (await service.access(principal, workspace.id)).role)


@routes.delete(
    "/api/v1/workspaces/{workspace_id}",
    summary="Delete the workspace and all its pages (owner).",
    params=WorkspacePath,
    errors=(403,),
)
async def delete_workspace(
    request: web.Request, principal: Principal, params: WorkspacePath
) -> None:
    services = request.app[SERVICES]
    await services.pages.delete_workspace(principal, params.workspace_id)


@routes.get(
    "/api/v1/workspaces/{workspace_id}/members",
    summary="Members and their roles.",
    params=WorkspacePath,
    response=MembersOut,
)
async def members(request: web.Request, principal: Principal, params: WorkspacePath) -> MembersOut:
    found = await request.app[SERVICES].workspaces.members(principal, params.workspace_id)
    return MembersOut(members=[MemberOut.of(m) for m in found])


@routes.put(
    "/api/v1/workspaces/{workspace_id}/members",
    summary="Add someone or change a member's role (owner, admin). Nobody's role changes to or"
    " from owner: that is a transfer (422).",
    params=WorkspacePath,
    body=MemberIn,
    response=MembersOut,
    errors=(403,),
)
async def set_member(
    request: web.Request, principal: Principal, params: WorkspacePath, body: MemberIn
) -> MembersOut:
    found = await request.app[SERVICES].workspaces.set_role(
        principal, params.workspace_id, body.username, WorkspaceRole(body.role)
    )
    return MembersOut(members=[MemberOut.of(m) for m in found])


@routes.post(
    "/api/v1/workspaces/{workspace_id}/members/batch",
    summary="Give several people their roles at once (owner, admin), adding those who are not"
    " members: every entry is checked first, then all are applied in one transaction or none."
    " An entry with `keep_existing` leaves a member's own role as it is (`kept`). Unknown"
    " users, a user listed twice and changes to or from owner are refused together"
    ' (422, `details.problems`: `[{"index", "username", "message"}]`).',
    params=WorkspacePath,
    body=MembersIn,
    response=MemberChangesOut,
    errors=(403,),
)
async def set_members(
    request: web.Request, principal: Principal, params: WorkspacePath, body: MembersIn
) -> MemberChangesOut:
    done = await request.app[SERVICES].workspaces.set_roles(
        principal,
        params.workspace_id,
        [WantedRole(e.username, WorkspaceRole(e.role), e.keep_existing) for e in body.entries],
    )
    return MemberChangesOut(
        changed=[
            MemberChangeOut(username=c.username, role=c.role, previous=c.previous)
            for c in done.changed
        ],
        kept=[MemberKeptOut(username=k.username, role=k.role) for k in done.kept],
    )


@routes.delete(
    "/api/v1/workspaces/{workspace_id}/members/{username}",
    summary="Remove a member (owner, admin), or yourself; an owner is never removed (409:"
    " transfer the workspace first).",
    params=MemberPath,
    errors=(403, 409),
)
async def remove_member(request: web.Request, principal: Principal, params: MemberPath) -> None:
    await request.app[SERVICES].workspaces.remove(principal, params.workspace_id, params.username)


@routes.post(
    "/api/v1/workspaces/{workspace_id}/leave",
    summary="Leave the workspace (the owner transfers it first: 409).",
    params=WorkspacePath,
    errors=(409,),
)
async def leave(request: web.Request, principal: Principal, params: WorkspacePath) -> None:
    await request.app[SERVICES].workspaces.leave(principal, params.workspace_id)


@routes.post(
    "/api/v1/workspaces/{workspace_id}/transfer",
    summary="Hand ownership to a member (owner); the old owner stays on as an admin.",
    params=WorkspacePath,
    body=UsernameIn,
    response=MembersOut,
    errors=(403, 409),
)
async def transfer(
    request: web.Request, principal: Principal, params: WorkspacePath, body: UsernameIn
) -> MembersOut:
    service = request.app[SERVICES].workspaces
    await service.transfer(principal, params.workspace_id, body.username)
    found = await service.members(principal, params.workspace_id)
    return MembersOut(members=[MemberOut.of(m) for m in found])


@routes.post(
    "/api/v1/workspaces/{workspace_id}/invites",
    summary="Create an invite link for editors or viewers (owner, admin).",
    params=WorkspacePath,
    body=InviteIn,
    response=InviteOut,
    status=201,
    errors=(403,),
)
async def create_invite(
    request: web.Request, principal: Principal, params: WorkspacePath, body: InviteIn
) -> InviteOut:
    services = request.app[SERVICES]
    invite = await services.workspaces.invite(
        principal,
        params.workspace_id,
        WorkspaceRole(body.role),
        body.expires_in_days,
        body.max_uses,
    )
    return InviteOut.of(invite, services.clock.now())


@routes.get(
    "/api/v1/workspaces/{workspace_id}/invites",
    summary="Invites and their state (owner, admin).",
    params=WorkspacePath,
    response=InvitesOut,
    errors=(403,),
)
async def list_invites(
    request: web.Request, principal: Principal, params: WorkspacePath
) -> InvitesOut:
    services = request.app[SERVICES]
    found = await services.workspaces.invites(principal, params.workspace_id)
    now = services.clock.now()
    return InvitesOut(invites=[InviteOut.of(i, now) for i in found])


@routes.delete(
    "/api/v1/workspaces/{workspace_id}/invites/{code}",
    summary="Revoke an invite (owner, admin).",
    params=InvitePath,
    errors=(403,),
)
async def revoke_invite(request: web.Request, principal: Principal, params: InvitePath) -> None:
    await request.app[SERVICES].workspaces.revoke_invite(
        principal, params.workspace_id, params.code
    )


@routes.post(
    "/api/v1/invites/join",
    summary="Join a workspace through an invite code (410 once expired, used up or revoked).",
    body=JoinIn,
    response=JoinOut,
    errors=(404, 410),
)
async def join(request: web.Request, principal: Principal, body: JoinIn) -> JoinOut:
    workspace, role, joined = await request.app[SERVICES].workspaces.join(principal, body.code)
    return JoinOut(workspace=WorkspaceOut.of(workspace, role), joined=joined)
