"""coope ws ...: workspaces, their members and invite links.

A workspace is named by its id or by its name. Names are unique on the daemon, compared without
case after Unicode normalisation: no two workspaces are "Team" and "team", so a name always means
one workspace. Who may do what is `coope.core.rules.WORKSPACE_PERMISSIONS`, shown in `coope ws
--help`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

import typer

from coope.cli import output, runtime
from coope.cli.args import ExistOkOpt, UserArg, WsArg, YesOpt
from coope.core.rules import workspace_roles_table

if TYPE_CHECKING:
    from coope.cli.member_lists import Entry
    from coope.client import CoopeClient
    from coope.core.workspace_schemas import (
        InviteOut,
        MemberChangesOut,
        MemberOut,
        WorkspaceListedOut,
        WorkspaceOut,
    )

SERVICE_ADMINS = (
    "A service admin (`coope admin role USER admin`) acts as an owner of every workspace, named"
    " by id or by name alike. To anyone else who is not a member a workspace does not exist: by"
    " id or by name, the answer is the same 'no workspace' (exit 5)."
)

app = typer.Typer(
    help="Workspaces: members, roles and invite links.\n\nA workspace's name is unique on the"
    ' daemon, whatever the case ("Team" and "team" are one name): a taken name is refused'
    " (exit 6).\n\nWho may do what (nobody changes or removes an owner: ownership changes hands"
    " only by `coope ws transfer`):\n\n"
    + "\n".join(f"  {line}" for line in workspace_roles_table())
    + f"\n\n{SERVICE_ADMINS}",
    no_args_is_help=True,
)

InviteRole = Literal["editor", "viewer"]
# `coope.core.workspace_schemas.GivenRole`, spelled out so that `--help` needs no pydantic (a
# test keeps the two the same).
GivenRole = Literal["admin", "editor", "viewer"]
RoleOpt = Annotated[
    GivenRole | None,
    typer.Option(
        "--role",
        metavar="admin|editor|viewer",
        help="The role to give (ownership is handed over with `coope ws transfer` instead).",
    ),
]


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


def _show_changes(done: MemberChangesOut, json: bool, workspace: WorkspaceOut) -> None:
    """The changes (`--json`: the list of them, `[]` for none); members who kept a role of
    their own are told to a person only: they are no change."""
    if json:
        output.emit_json(done.changed)
        return
    for change in done.changed:
        was = "added" if change.previous is None else f"was {change.previous.value}"
        output.success(f"{change.username} is now {change.role.value} in {workspace.name} ({was})")
    for kept in done.kept:
        output.note(
            f"{kept.username} kept as {kept.role.value} (a member already: --role or a role in"
            " the list changes it)"
        )
    if not done.changed:
        output.note(f"nothing changed in {workspace.name}")


async def _set_roles(
    client: CoopeClient, json: bool, ws: str, entries: list[Entry], source: str
) -> None:
    """Give everyone in `entries` their role in one request: all of them or, if the daemon
    refuses any, none (its refusal told by the lines the entries came from)."""
    from coope.cli.member_lists import daemon_refusal
    from coope.core.errors import InvalidInput

    target = await client.workspaces.resolve(ws)
    try:
        done = await client.workspaces.set_members(
            target.id, [(e.username, e.role, e.keep_existing) for e in entries]
        )
    except InvalidInput as refused:
        raise daemon_refusal(source, entries, refused) from None
    _show_changes(done, json, target)


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


def _owners(ws: WorkspaceListedOut) -> str:
    return ", ".join(ws.owners) or "-"


@app.command("list")
@runtime.command
async def list_(
    client: CoopeClient,
    json: bool,
    everything: Annotated[
        bool,
        typer.Option(
            "--all",
            help="Every workspace of the daemon, with its owners and member count (service"
            " admins only: anyone else gets exit 4).",
        ),
    ] = False,
) -> None:
    """Your workspaces: your role in each, its owners and how many members it has."""
    found = await client.workspaces.list(everything=everything)
    if everything:
        columns = ["id", "name", "owner", "members", "created"]
        rows = (
            [str(w.id), w.name, _owners(w), str(w.member_count), output.local_time(w.created_at)]
            for w in found
        )
    else:
        columns = ["id", "name", "role", "owner", "members", "created"]
        rows = (
            [
                str(w.id),
                w.name,
                w.role.value,
                _owners(w),
                str(w.member_count),
                output.local_time(w.created_at),
            ]
            for w in found
        )
    output.listing(
        json,
        found,
        columns,
        rows,
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
    """Rename a workspace (its owner, or a service admin; the new name must be free on the
    daemon)."""
    target = await client.workspaces.resolve(ws)
    _show_workspace(await client.workspaces.rename(target.id, name), json, "renamed")


@app.command()
@runtime.command
async def delete(client: CoopeClient, json: bool, ws: WsArg, yes: YesOpt = False) -> None:
    """Delete a workspace with all its pages, for good (its owner, or a service admin)."""
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
    """The members of a workspace and their roles (any member, or a service admin)."""
    target = await client.workspaces.resolve(ws)
    _show_members(await client.workspaces.members(target.id), json)


@app.command()
@runtime.command
async def invite(
    client: CoopeClient,
    json: bool,
    ws: WsArg,
    role: Annotated[InviteRole, typer.Option(help="The role the invite gives.")] = "editor",
    expires_days: Annotated[float, typer.Option(help="Stop working after this many days.")] = 7,
    no_expiry: Annotated[bool, typer.Option("--no-expiry", help="Never expire.")] = False,
    max_uses: Annotated[
        int | None, typer.Option(help="Stop working after this many joins.")
    ] = None,
) -> None:
    """Make an invite code and link (the workspace's owner or admins, or a service admin).

    An invite makes editors or viewers; `coope ws role` makes admins."""
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
    output.note(", ".join(limits))


def _invite_row(i: InviteOut) -> list[str]:
    uses = f"{i.uses}/{i.max_uses}" if i.max_uses is not None else str(i.uses)
    return [i.code, i.role.value, uses, output.local_time(i.expires_at, "never"), i.status]


@app.command()
@runtime.command
async def invites(client: CoopeClient, json: bool, ws: WsArg) -> None:
    """The invites of a workspace, with their uses and state (its owner or admins, or a
    service admin)."""
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
    """Revoke an invite: it stops working at once (the workspace's owner or admins, or a
    service admin)."""
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
    users: Annotated[
        list[str],
        typer.Argument(
            metavar="USER",
            help="Usernames (with or without @). Without --role the last word is the role:"
            " `coope ws role Team bob editor`.",
        ),
    ],
    new_role: RoleOpt = None,
) -> None:
    """Give people a role, adding those who are not members (the workspace's owner or admins,
    or a service admin). Several people at once get it all together or not at all: every wrong
    name is reported (exit 7) and nothing is changed. Nobody's role changes to or from owner.

    With --json, the list of changes, one per person whose role changed: username, role and
    previous (null: added); `[]` when everyone had the role already."""
    from coope.cli.member_lists import GIVEN_ROLES, from_arguments

    last = users[-1].strip().lower()
    if new_role is not None and last in (*GIVEN_ROLES, "owner"):
        raise typer.BadParameter(
            f"{last} is a role and --role gives one: give the role once (a user called {last}"
            f" is @{last})"
        )
    if new_role is None:
        last = last if len(users) > 1 else ""
        if last == "owner":
            raise typer.BadParameter(
                "owner is not given: ownership is handed over with `coope ws transfer`"
            )
        given = next((r for r in GIVEN_ROLES if r == last), None)
        if given is None:
            raise typer.BadParameter(
                "give the role with --role admin|editor|viewer, or as the last word"
            )
        users, new_role = users[:-1], given
    await _set_roles(client, json, ws, from_arguments(users, new_role), "the users given")


@app.command()
@runtime.command
async def add(
    client: CoopeClient,
    json: bool,
    ws: WsArg,
    users: Annotated[
        list[str] | None,
        typer.Argument(metavar="USER", help="Usernames (with or without @)."),
    ] = None,
    from_file: Annotated[
        str | None,
        typer.Option(
            "--from",
            metavar="FILE",
            help="A CSV list: `username,role` a line, separated by commas (the header line"
            " `username,role` is optional, a missing role is --role's, blank lines and lines"
            " starting with # are skipped); - reads standard input. At most 1000 people and"
            " 1024 kB.",
        ),
    ] = None,
    new_role: RoleOpt = None,
) -> None:
    """For the workspace's owner or admins, or a service admin: add people to it with their
    roles, from the command line or a CSV list.

    Whom no role is given for (no --role, no role in their line) joins as an editor, and a
    member already in the workspace keeps their role ("kept as admin"); a role that is given
    is set, so a list can be applied again. Everything is checked first and then applied all
    together or not at all: every wrong line is reported by its number (exit 7) and nothing is
    changed. With --json, the list of changes, as `coope ws role` gives it."""
    from coope.cli.member_lists import from_arguments, from_csv, read_list

    if from_file is not None and users:
        raise typer.BadParameter("give USERs or --from FILE, not both")
    if from_file is not None:
        source = "standard input" if from_file == "-" else from_file
        entries = from_csv(read_list(from_file), new_role, source)
    elif users:
        source = "the users given"
        entries = from_arguments(users, new_role)
    else:
        raise typer.BadParameter("name the people to add: USER... or --from FILE")
    await _set_roles(client, json, ws, entries, source)


@app.command()
@runtime.command
async def remove(client: CoopeClient, json: bool, ws: WsArg, username: UserArg) -> None:
    """Remove a member (the workspace's owner or admins, or a service admin); an owner is never
    removed (exit 6: hand the workspace over first)."""
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
    """Hand the workspace over to a member; the old owner stays on as an admin (the owner, or a
    service admin)."""
    user = username.lstrip("@")
    target = await client.workspaces.resolve(ws)
    found = await client.workspaces.transfer(target.id, user)
    _show_members(found, json, f"{user} now owns {target.name}")
