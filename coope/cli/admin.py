"""coope admin: manage accounts (admin role required)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from coope.cli import output, runtime
from coope.cli.args import PasswordStdinOpt, UserArg, YesOpt
from coope.cli.tokens import ExpiresOpt, show_created, show_tokens
from coope.core.models import Role

if TYPE_CHECKING:
    from coope.client import CoopeClient
    from coope.core.schemas import UserOut

app = typer.Typer(help="Manage accounts (admins only).", no_args_is_help=True)
token_app = typer.Typer(
    help="API tokens of any account, e.g. a bot's made with `admin create`.", no_args_is_help=True
)
app.add_typer(token_app, name="token")


def _state(user: UserOut) -> str:
    return "deleted" if user.deleted else "disabled" if user.disabled else "active"


@app.command()
@runtime.command
async def users(
    client: CoopeClient,
    json: bool,
    search: Annotated[str | None, typer.Option(help="Match username, name or email.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
) -> None:
    """List or search accounts (deleted ones show as deleted:ID)."""
    page = await client.admin.users(search, limit, offset)
    if json:
        output.emit_json(page)
        return
    output.table(
        ["username", "name", "role", "state", "created", "email"],
        [
            [
                u.username,
                u.display_name,
                u.role.value,
                _state(u),
                u.created_at.strftime("%Y-%m-%d"),
                u.email or "",
            ]
            for u in page.users
        ],
        title=f"{len(page.users)} of {page.total} users",
    )


@app.command()
@runtime.command
async def create(
    client: CoopeClient,
    json: bool,
    username: Annotated[str, typer.Argument(metavar="USER", help="3-32 characters: a-z 0-9 _ - .")],
    role: Annotated[Role, typer.Option(help="Role of the new account.")] = Role.USER,
    display_name: Annotated[str | None, typer.Option(help="Name shown to others.")] = None,
    password_stdin: PasswordStdinOpt = False,
) -> None:
    """Create an account (also when signup is closed), e.g. for a bot."""
    password = runtime.read_password(password_stdin, confirm=True)
    user = await client.admin.create_user(username, password, role=role, display_name=display_name)
    output.done(json, user, f"{user.username} created with role {user.role.value}")


@app.command()
@runtime.command
async def role(
    client: CoopeClient,
    json: bool,
    username: UserArg,
    new_role: Annotated[Role, typer.Argument(metavar="ROLE", help="user or admin")],
) -> None:
    """Change an account's role."""
    user = await client.admin.set_role(username, new_role)
    output.done(json, user, f"{user.username} is now {user.role.value}")


@app.command()
@runtime.command
async def disable(client: CoopeClient, json: bool, username: UserArg) -> None:
    """Disable an account: all its sessions and tokens end for good.

    Every session and API token it has ends at once (`admin enable` revives none of them), and
    its open connections are closed.
    """
    user = await client.admin.disable(username)
    output.done(json, user, f"{user.username} is disabled")


@app.command()
@runtime.command
async def enable(client: CoopeClient, json: bool, username: UserArg) -> None:
    """Enable a disabled account; it logs in again (its old sessions and tokens stay ended)."""
    user = await client.admin.enable(username)
    output.done(json, user, f"{user.username} is enabled")


@app.command()
@runtime.command
async def password(
    client: CoopeClient,
    json: bool,
    username: UserArg,
    password_stdin: PasswordStdinOpt = False,
    revoke_tokens: Annotated[
        bool, typer.Option("--revoke-tokens", help="Also revoke all the account's API tokens.")
    ] = False,
) -> None:
    """Set someone's password; all their sessions end.

    Asks for the new password twice at a terminal (or reads it with --password-stdin); the
    signup rule applies. Every session of theirs ends and their open connections close. Their
    API tokens keep working unless --revoke-tokens. Your own password: `coope account password`.
    """
    new = runtime.read_password(password_stdin, confirm=True)
    reset = await client.admin.reset_password(username, new, revoke_tokens=revoke_tokens)
    ended = reset.ended
    tokens = (
        f"{ended.api_tokens_revoked} API token(s) revoked"
        if revoke_tokens
        else "API tokens keep working"
    )
    output.done(
        json,
        reset,
        f"password of {reset.user.username} set; {ended.sessions_ended} session(s) ended, {tokens}",
    )


@app.command()
@runtime.command
async def name(
    client: CoopeClient,
    json: bool,
    username: UserArg,
    display_name: Annotated[str, typer.Argument(metavar="NAME", help="The new display name.")],
) -> None:
    """Set someone's display name (yours: `coope account name`)."""
    changed = await client.admin.set_display_name(username, display_name)
    user = changed.user
    output.done(json, changed, f"{user.username} is now shown as {user.display_name}")


@app.command()
@runtime.command
async def delete(client: CoopeClient, json: bool, username: UserArg, yes: YesOpt = False) -> None:
    """Delete an account; its messages and pages stay.

    Refused (exit 6) for the last admin, and while the account is the only owner of a workspace
    (they are listed): transfer or delete those first. Otherwise its password, sessions,
    API tokens and identity-provider link end at once and its connections close; it leaves
    every workspace and group room (direct conversations stay) and loses its friendships,
    requests and blocks. Its messages and pages stay, by "deleted user" (username deleted:ID);
    its username is free for a new account. It cannot be undone.
    """
    output.confirm_or_refuse(yes, f"Delete the account {username} for good?")
    gone = await client.admin.delete_user(username)
    ended = gone.ended
    output.done(
        json,
        gone,
        f"{gone.former_username} deleted (now {gone.user.username}): {ended.sessions_ended}"
        f" session(s) and {ended.api_tokens_revoked} API token(s) ended, left"
        f" {len(gone.workspaces_left)} workspace(s) and {len(gone.rooms_left)} room(s),"
        f" {gone.friendships_ended} friendship(s) ended",
    )


@token_app.command("create")
@runtime.command
async def token_create(
    client: CoopeClient,
    json: bool,
    username: UserArg,
    token_name: Annotated[
        str, typer.Argument(metavar="NAME", help="What the token is for, e.g. 'notes-bot'.")
    ],
    expires_days: ExpiresOpt = None,
) -> None:
    """Create an API token for an account. Its secret is shown once.

    The secret alone goes to standard output (`TOK=$(coope admin token create bot ci)`), the
    rest to standard error.
    """
    created = await client.admin.tokens.create(username, token_name, expires_days)
    show_created(json, created, f" for {username.removeprefix('@')}")


@token_app.command("list")
@runtime.command
async def token_list(client: CoopeClient, json: bool, username: UserArg) -> None:
    """An account's live API tokens (never their secrets)."""
    show_tokens(json, await client.admin.tokens.list(username))


@token_app.command("revoke")
@runtime.command
async def token_revoke(
    client: CoopeClient,
    json: bool,
    username: UserArg,
    token_id: Annotated[
        int, typer.Argument(metavar="ID", help="The token's id, from `admin token list USER`.")
    ],
) -> None:
    """Revoke an account's API token: it stops working at once."""
    await client.admin.tokens.revoke(username, token_id)
    output.done(
        json, {"user": username.removeprefix("@"), "revoked": token_id}, f"token {token_id} revoked"
    )
