"""coope ws ...: workspaces, their members and invite links.

A workspace is named by its id or by its name (case-insensitive, among your workspaces).
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from coope.cli import output, runtime
from coope.cli.runtime import JsonOpt, ServerOpt, TokenOpt
from coope.core.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from coope.client import CoopeClient
    from coope.core.workspace_schemas import InviteOut, MemberOut, WorkspaceOut

app = typer.Typer(help="Workspaces: members, roles and invite links.", no_args_is_help=True)

WsArg = Annotated[str, typer.Argument(metavar="WS", help="A workspace id or name.")]
UserArg = Annotated[str, typer.Argument(metavar="USER", help="A username (with or without @).")]
MemberRole = Literal["editor", "viewer"]


async def resolve_workspace(client: CoopeClient, target: str) -> WorkspaceOut:
    """The workspace a person means by an id or a name (case-insensitive, among theirs)."""
    target = target.strip()
    if target.lstrip("#").isdigit():
        try:
            return await client.workspaces.get(int(target.lstrip("#")))
        except NotFound:
            if target.startswith("#"):
                raise
    wanted = target.casefold()
    matches = [w for w in await client.workspaces.list() if w.name.casefold() == wanted]
    if not matches:
        if target.isdigit():
            raise NotFound(f"no workspace {target}")
        raise NotFound(f"you are in no workspace called {target!r}")
    if len(matches) > 1:
        ids = ", ".join(str(w.id) for w in matches)
        raise InvalidInput(f"{target!r} could be workspaces {ids}: use the id")
    return matches[0]


def confirm_or_refuse(yes: bool, question: str, flag: str = "--yes") -> None:
    """Go on if `--yes` was given or a person at a terminal said yes; refuse otherwise."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise InvalidInput(f"not asking for confirmation without a terminal: pass {flag}")
    if not typer.confirm(question, default=False):
        output.info("nothing done")
        raise typer.Exit(1)


def when(value: datetime | None, empty: str = "-") -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M") if value is not None else empty


def invite_link(server: str, code: str) -> str:
    return f"{server.rstrip('/')}/invite/{code}"


def _show_members(members: list[MemberOut], json: bool, message: str | None = None) -> None:
    if json:
        output.emit_json(members)
        return
    if message:
        output.success(message)
    output.table(
        ["user", "role", "joined"],
        [[m.username, m.role.value, when(m.joined_at)] for m in members],
    )


def _show_workspace(ws: WorkspaceOut, json: bool, what: str) -> None:
    if json:
        output.emit_json(ws)
    else:
        output.success(f"{ws.name} (workspace {ws.id}) {what}")


@app.command()
def create(
    name: Annotated[str, typer.Argument(help="The workspace's name.")],
    server: ServerOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:
    """Create a workspace; you own it."""

    async def body() -> None:
        async with runtime.client(server, token) as c:
            ws = await c.workspaces.create(name)
        _show_workspace(ws, json, "created")

    runtime.run(body)


@app.command("list")
def list_(
    everything: Annotated[
        bool, typer.Option("--all", help="Every workspace of the daemon (admins only).")
    ] = False,
    server: ServerOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:
    """Your workspaces and your role in each."""

    async def body() -> None:
        async with runtime.client(server, token) as c:
            found = await c.workspaces.list(everything=everything)
        if json:
            output.emit_json(found)
            return
        if not found:
            output.info("no workspaces yet: `coope ws create NAME` or `coope ws join CODE`")
            return
        output.table(
            ["id", "name", "role", "created"],
            [[str(w.id), w.name, w.role.value, when(w.created_at)] for w in found],
        )

    runtime.run(body)


@app.command()
def rename(
    ws: WsArg,
    name: Annotated[str, typer.Argument(help="The new name.")],
    server: ServerOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:
    """Rename a workspace (its owner only)."""

    async def body() -> None:
        async with runtime.client(server, token) as c:
            target = await resolve_workspace(c, ws)
            renamed = await c.workspaces.rename(target.id, name)
        _show_workspace(renamed, json, "renamed")

    runtime.run(body)


@app.command()
def delete(
    ws: WsArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    server: ServerOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:
    """Delete a workspace with all its pages, for good (its owner only)."""

    async def body() -> None:
        async with runtime.client(server, token) as c:
            target = await resolve_workspace(c, ws)
            confirm_or_refuse(
                yes, f"Delete workspace {target.name!r} (id {target.id}) and all its pages?"
            )
            await c.workspaces.delete(target.id)
        if json:
            output.emit_json({"workspace_id": target.id, "deleted": True})
        else:
            output.success(f"workspace {target.name} deleted")

    runtime.run(body)


@app.command()
def members(
    ws: WsArg, server: ServerOpt = None, token: TokenOpt = None, json: JsonOpt = False
) -> None:
    """The members of a workspace and their roles."""

    async def body() -> None:
        async with runtime.client(server, token) as c:
            target = await resolve_workspace(c, ws)
            found = await c.workspaces.members(target.id)
        _show_members(found, json)

    runtime.run(body)


@app.command()
def invite(
    ws: WsArg,
    role: Annotated[MemberRole, typer.Option(help="The role the invite gives.")] = "editor",
    expires_days: Annotated[float, typer.Option(help="Stop working after this many days.")] = 7,
    no_expiry: Annotated[bool, typer.Option("--no-expiry", help="Never expire.")] = False,
    max_uses: Annotated[
        int | None, typer.Option(help="Stop working after this many joins.")
    ] = None,
    server: ServerOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:
    """Make an invite code and link (the workspace's owner only)."""

    async def body() -> None:
        async with runtime.client(server, token) as c:
            target = await resolve_workspace(c, ws)
            made = await c.workspaces.invite(
                target.id,
                role,
                expires_in_days=None if no_expiry else expires_days,
                max_uses=max_uses,
            )
            link = invite_link(c.server, made.code)
        if json:
            output.emit_json({**made.model_dump(mode="json"), "link": link})
            return
        output.success(f"invite to {target.name} as {made.role.value} created")
        output.info(f"code: {output.escape(made.code)}")
        output.info(f"link: {output.escape(link)}")
        limits = [f"expires {when(made.expires_at, 'never')}"]
        if made.max_uses is not None:
            limits.append(f"{made.max_uses} use{'s' if made.max_uses != 1 else ''}")
        output.info(f"[dim]{output.escape(', '.join(limits))}[/dim]")

    runtime.run(body)


def _invite_row(i: InviteOut) -> list[str]:
    uses = f"{i.uses}/{i.max_uses}" if i.max_uses is not None else str(i.uses)
    return [i.code, i.role.value, uses, when(i.expires_at, "never"), i.status]


@app.command()
def invites(
    ws: WsArg, server: ServerOpt = None, token: TokenOpt = None, json: JsonOpt = False
) -> None:
    """The invites of a workspace, with their uses and state (its owner only)."""

    async def body() -> None:
        async with runtime.client(server, token) as c:
            target = await resolve_workspace(c, ws)
            found = await c.workspaces.invites(target.id)
        if json:
            output.emit_json(found)
        elif not found:
            output.info(f"no invites for {output.escape(target.name)}")
        else:
            output.table(
                ["code", "role", "uses", "expires", "status"], [_invite_row(i) for i in found]
            )

    runtime.run(body)


@app.command()
def revoke(
    ws: WsArg,
    code: Annotated[str, typer.Argument(help="The invite code, from `coope ws invites`.")],
    server: ServerOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:
    """Revoke an invite: it stops working at once."""

    async def body() -> None:
        invite_code = code.strip().rstrip("/").rsplit("/", 1)[-1]
        async with runtime.client(server, token) as c:
            target = await resolve_workspace(c, ws)
            await c.workspaces.revoke_invite(target.id, invite_code)
        if json:
            output.emit_json({"workspace_id": target.id, "code": invite_code, "revoked": True})
        else:
            output.success(f"invite {invite_code} revoked")

    runtime.run(body)


@app.command()
def join(
    code: Annotated[str, typer.Argument(metavar="CODE-or-URL", help="An invite code or link.")],
    server: ServerOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:
    """Join a workspace with an invite code or link."""

    async def body() -> None:
        async with runtime.client(server, token) as c:
            joined = await c.workspaces.join(code)
        if json:
            output.emit_json(joined)
            return
        ws = joined.workspace
        if joined.joined:
            output.success(f"you joined {ws.name} (workspace {ws.id}) as {ws.role.value}")
        else:
            output.success(f"you are already in {ws.name} (workspace {ws.id}) as {ws.role.value}")

    runtime.run(body)


@app.command()
def role(
    ws: WsArg,
    username: UserArg,
    new_role: Annotated[MemberRole, typer.Argument(metavar="editor|viewer")],
    server: ServerOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:
    """Add someone to a workspace, or change a member's role (the owner only)."""

    async def body() -> None:
        user = username.lstrip("@")
        async with runtime.client(server, token) as c:
            target = await resolve_workspace(c, ws)
            found = await c.workspaces.set_member(target.id, user, new_role)
        _show_members(found, json, f"{user} is now {new_role} in {target.name}")

    runtime.run(body)


@app.command()
def remove(
    ws: WsArg,
    username: UserArg,
    server: ServerOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:
    """Remove a member (the owner only)."""

    async def body() -> None:
        user = username.lstrip("@")
        async with runtime.client(server, token) as c:
            target = await resolve_workspace(c, ws)
            await c.workspaces.remove_member(target.id, user)
        if json:
            output.emit_json({"workspace_id": target.id, "removed": user})
        else:
            output.success(f"{user} removed from {target.name}")

    runtime.run(body)


@app.command()
def leave(
    ws: WsArg, server: ServerOpt = None, token: TokenOpt = None, json: JsonOpt = False
) -> None:
    """Leave a workspace (an owner transfers it first)."""

    async def body() -> None:
        async with runtime.client(server, token) as c:
            target = await resolve_workspace(c, ws)
            await c.workspaces.leave(target.id)
        if json:
            output.emit_json({"workspace_id": target.id, "left": True})
        else:
            output.success(f"you left {target.name}")

    runtime.run(body)


@app.command()
def transfer(
    ws: WsArg,
    username: UserArg,
    server: ServerOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:
    """Hand the workspace over to a member; you stay on as an editor."""

    async def body() -> None:
        user = username.lstrip("@")
        async with runtime.client(server, token) as c:
            target = await resolve_workspace(c, ws)
            found = await c.workspaces.transfer(target.id, user)
        _show_members(found, json, f"{user} now owns {target.name}")

    runtime.run(body)
