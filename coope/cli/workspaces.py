"""coope ws ...: workspaces, their members and invite links.

A workspace is named by its id or by its name (among your workspaces). Names are unique on the
daemon, compared without case after Unicode normalisation: no two workspaces are "Team" and
"team", so a name always means one workspace.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

import typer

from coope.cli import output, runtime
from coope.cli.args import ExistOkOpt, UserArg, WsArg, YesOpt

if TYPE_CHECKING:
    from coope.client import CoopeClient
    from coope.core.workspace_schemas import InviteOut, MemberOut, WorkspaceOut

app = typer.Typer(
    help="Workspaces: members, roles and invite links.\n\nA workspace's name is unique on the"
    ' daemon, whatever the case ("Team" and "team" are one name): a taken name is refused'
    " (exit 6).",
    no_args_is_help=True,
)

MemberRole = Literal["editor", "viewer"]


def _show_members(members: list[MemberOut], json: bool, message: str | None = None) -> None:
    if json:
        output.emit_json(members)
        return
    if message:
        output.success(message)
    output.table(
        ["user", "role", "joined"],
        [[m.username, m.role.value, output.local_time(m.joined_at)] for m in members],
    )


def _show_workspace(ws: WorkspaceOut, json: bool, what: str) -> None:
    output.done(json, ws, f"{ws.name} (workspace {ws.id}) {what}")


@app.command()
@runtime.command
async def create(
    client: CoopeClient,
    json: bool,
    name: Annotated[str, typer.Argument(help="The workspace's name.")],
    exist_ok: ExistOkOpt = False,
) -> None:
    """Create a workspace; you own it. Its name must be free on the daemon (any case).

    Names are unique across the daemon, so anyone signed in can learn that a name is taken."""
    made = await client.workspaces.create(name, exist_ok=exist_ok)
    _show_workspace(made, json, "created" if made.created else "exists already")


@app.command("list")
@runtime.command
async def list_(
    client: CoopeClient,
    json: bool,
    everything: Annotated[
        bool, typer.Option("--all", help="Every workspace of the daemon (admins only).")
    ] = False,
) -> None:
    """Your workspaces and your role in each."""
    found = await client.workspaces.list(everything=everything)
    output.listing(
        json,
        found,
        ["id", "name", "role", "created"],
        ([str(w.id), w.name, w.role.value, output.local_time(w.created_at)] for w in found),
        empty="no workspaces yet: `coope ws create NAME` or `coope ws join CODE`",
    )


@app.command()
@runtime.command
async def rename(
    client: CoopeClient,
    json: bool,
    ws: WsArg,
    name: Annotated[str, typer.Argument(help="The new name.")],
) -> None:
    """Rename a workspace (its owner only; the new name must be free on the daemon)."""
    target = await client.workspaces.resolve(ws)
    _show_workspace(await client.workspaces.rename(target.id, name), json, "renamed")


@app.command()
@runtime.command
async def delete(client: CoopeClient, json: bool, ws: WsArg, yes: YesOpt = False) -> None:
    """Delete a workspace with all its pages, for good (its owner only)."""
    target = await client.workspaces.resolve(ws)
    output.confirm_or_refuse(
        yes, f"Delete workspace {target.name!r} (id {target.id}) and all its pages?"
    )
    await client.workspaces.delete(target.id)
    output.done(
        json, {"workspace_id": target.id, "deleted": True}, f"workspace {target.name} deleted"
    )


@app.command()
@runtime.command
async def members(client: CoopeClient, json: bool, ws: WsArg) -> None:
    """The members of a workspace and their roles."""
    target = await client.workspaces.resolve(ws)
    _show_members(await client.workspaces.members(target.id), json)


@app.command()
@runtime.command
async def invite(
    client: CoopeClient,
    json: bool,
    ws: WsArg,
    role: Annotated[MemberRole, typer.Option(help="The role the invite gives.")] = "editor",
    expires_days: Annotated[float, typer.Option(help="Stop working after this many days.")] = 7,
    no_expiry: Annotated[bool, typer.Option("--no-expiry", help="Never expire.")] = False,
    max_uses: Annotated[
        int | None, typer.Option(help="Stop working after this many joins.")
    ] = None,
) -> None:
    """Make an invite code and link (the workspace's owner only)."""
    target = await client.workspaces.resolve(ws)
    made = await client.workspaces.invite(
        target.id, role, expires_in_days=None if no_expiry else expires_days, max_uses=max_uses
    )
    link = client.workspaces.invite_link(made.code)
    if json:
        output.emit_json({**made.model_dump(mode="json"), "link": link})
        return
    output.success(f"invite to {target.name} as {made.role.value} created")
    output.info(f"code: {output.escape(made.code)}")
    output.info(f"link: {output.escape(link)}")
    limits = [f"expires {output.local_time(made.expires_at, 'never')}"]
    if made.max_uses is not None:
        limits.append(f"{made.max_uses} use{'s' if made.max_uses != 1 else ''}")
    output.info(f"[dim]{output.escape(', '.join(limits))}[/dim]")


def _invite_row(i: InviteOut) -> list[str]:
    uses = f"{i.uses}/{i.max_uses}" if i.max_uses is not None else str(i.uses)
    return [i.code, i.role.value, uses, output.local_time(i.expires_at, "never"), i.status]


@app.command()
@runtime.command
async def invites(client: CoopeClient, json: bool, ws: WsArg) -> None:
    """The invites of a workspace, with their uses and state (its owner only)."""
    target = await client.workspaces.resolve(ws)
    found = await client.workspaces.invites(target.id)
    output.listing(
        json,
        found,
        ["code", "role", "uses", "expires", "status"],
        (_invite_row(i) for i in found),
        empty=f"no invites for {output.escape(target.name)}",
    )


@app.command()
@runtime.command
async def revoke(
    client: CoopeClient,
    json: bool,
    ws: WsArg,
    code: Annotated[str, typer.Argument(help="The invite code, from `coope ws invites`.")],
) -> None:
    """Revoke an invite: it stops working at once."""
    invite_code = code.strip().rstrip("/").rsplit("/", 1)[-1]
    target = await client.workspaces.resolve(ws)
    await client.workspaces.revoke_invite(target.id, invite_code)
    output.done(
        json,
        {"workspace_id": target.id, "code": invite_code, "revoked": True},
        f"invite {invite_code} revoked",
    )


@app.command()
@runtime.command
async def join(
    client: CoopeClient,
    json: bool,
    code: Annotated[str, typer.Argument(metavar="CODE-or-URL", help="An invite code or link.")],
) -> None:
    """Join a workspace with an invite code or link."""
    joined = await client.workspaces.join(code)
    ws = joined.workspace
    already = "you joined" if joined.joined else "you are already in"
    output.done(json, joined, f"{already} {ws.name} (workspace {ws.id}) as {ws.role.value}")


@app.command()
@runtime.command
async def role(
    client: CoopeClient,
    json: bool,
    ws: WsArg,
    username: UserArg,
    new_role: Annotated[MemberRole, typer.Argument(metavar="editor|viewer")],
) -> None:
    """Add someone to a workspace, or change a member's role (the owner only)."""
    user = username.lstrip("@")
    target = await client.workspaces.resolve(ws)
    found = await client.workspaces.set_member(target.id, user, new_role)
    _show_members(found, json, f"{user} is now {new_role} in {target.name}")


@app.command()
@runtime.command
async def remove(client: CoopeClient, json: bool, ws: WsArg, username: UserArg) -> None:
    """Remove a member (the owner only)."""
    user = username.lstrip("@")
    target = await client.workspaces.resolve(ws)
    await client.workspaces.remove_member(target.id, user)
    output.done(
        json, {"workspace_id": target.id, "removed": user}, f"{user} removed from {target.name}"
    )


@app.command()
@runtime.command
async def leave(client: CoopeClient, json: bool, ws: WsArg) -> None:
    """Leave a workspace (an owner transfers it first)."""
    target = await client.workspaces.resolve(ws)
    await client.workspaces.leave(target.id)
    output.done(json, {"workspace_id": target.id, "left": True}, f"you left {target.name}")


@app.command()
@runtime.command
async def transfer(client: CoopeClient, json: bool, ws: WsArg, username: UserArg) -> None:
    """Hand the workspace over to a member; you stay on as an editor."""
    user = username.lstrip("@")
    target = await client.workspaces.resolve(ws)
    found = await client.workspaces.transfer(target.id, user)
    _show_members(found, json, f"{user} now owns {target.name}")
