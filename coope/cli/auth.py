"""signup, login, logout, whoami, and the saved logins (`coope profile ...`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from coope.cli import output, runtime
from coope.cli.args import PasswordStdinOpt
from coope.client.profiles import Login, Profiles, check_profile_name
from coope.core.errors import Unauthenticated

if TYPE_CHECKING:
    from coope.client import CoopeClient
    from coope.core.schemas import SessionOut

# Saving is said on the command line only: COOPE_PROFILE picks a login to use, never one to
# overwrite.
SaveAsOpt = Annotated[
    str | None,
    typer.Option(
        "--profile",
        help="Save the login as this named profile (several accounts or servers side by side).",
    ),
]

profile_app = typer.Typer(
    help="Saved logins: list, pick the default, forget.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.command()(signup)
    app.command()(login)
    app.command()(logout)
    app.command()(whoami)
    app.add_typer(profile_app, name="profile")


@runtime.command(login=False)
async def signup(
    client: CoopeClient,
    json: bool,
    username: Annotated[str, typer.Argument(help="3-32 characters: a-z 0-9 _ - .")],
    display_name: Annotated[str | None, typer.Option(help="Name shown to others.")] = None,
    password_stdin: PasswordStdinOpt = False,
    profile: SaveAsOpt = None,
) -> None:
    """Create an account on the daemon and log in to it."""
    if profile is not None:
        check_profile_name(profile)  # before an account or a session exists in its name
    password = runtime.read_password(password_stdin, confirm=True)
    session = await client.auth.signup(username, password, display_name)
    path = _save(client, session, profile)
    if json:
        output.emit_json({**session.model_dump(mode="json"), "server": client.server})
        return
    output.success(f"signed up and logged in as {session.user.username} on {client.server}")
    if session.first_user:
        output.info("[bold]You are the first user of this daemon, so you are its admin.[/bold]")
    output.info(f"credentials saved in {output.escape(str(path))}")


@runtime.command(login=False)
async def login(
    client: CoopeClient,
    json: bool,
    username: str,
    password_stdin: PasswordStdinOpt = False,
    profile: SaveAsOpt = None,
) -> None:
    """Log in and save the session for later commands (as the default login)."""
    if profile is not None:
        check_profile_name(profile)
    password = runtime.read_password(password_stdin)
    session = await client.auth.login(username, password)
    _save(client, session, profile)
    if json:
        output.emit_json({**session.model_dump(mode="json"), "server": client.server})
    else:
        as_profile = f" (profile {profile})" if profile else ""
        output.success(f"logged in as {session.user.username} on {client.server}{as_profile}")


def _save(client: CoopeClient, session: SessionOut, profile: str | None) -> str:
    login = Login(client.server, session.user.username, session.token, profile)
    return str(Profiles().save(login))


@runtime.command
async def logout(client: CoopeClient, json: bool) -> None:
    """End the session on the daemon and forget it here."""
    saved = Profiles().holding(client.server, client.token)
    ended = True
    try:
        await client.auth.logout()
    except Unauthenticated:
        ended = False  # already over on the daemon; forgetting it locally is all that is left
    # A token given on the command line that is not a saved one is ended, but there is nothing
    # to forget.
    forgotten = saved is not None and Profiles().forget(client.server, saved.profile)
    if json:
        output.emit_json({"server": client.server, "session_ended": ended, "forgotten": forgotten})
    else:
        output.success(f"logged out of {client.server}")


@runtime.command
async def whoami(client: CoopeClient, json: bool) -> None:
    """Show who you are logged in as."""
    me = await client.auth.whoami()
    if json:
        output.emit_json({**me.model_dump(mode="json"), "server": client.server})
        return
    expires = me.expires_at.strftime("%Y-%m-%d %H:%M UTC") if me.expires_at else "never"
    name, server_url = output.escape(me.user.display_name), output.escape(client.server)
    output.info(
        f"[bold]{output.escape(me.user.username)}[/bold] ({name}) on {server_url}\n"
        f"role: {me.user.role.value}   credential: {me.auth.value}   expires: {expires}"
    )


@profile_app.command("list")
@runtime.command(login=None)
def profile_list(json: bool) -> None:
    """Every saved login: each server's own, then the named profiles; * marks the default."""
    profiles = Profiles()
    default = profiles.default()
    rows = [
        {
            "profile": login.profile,
            "server": login.server,
            "username": login.username,
            "default": login == default,
        }
        for login in profiles.logins()
    ]
    if json:
        output.emit_json(rows)
        return
    if not rows:
        output.info("no saved logins: run `coope login USER`")
        return
    output.table(
        ["", "profile", "server", "user"],
        [
            ["*" if x == default else "", x.profile or "-", x.server, x.username]
            for x in profiles.logins()
        ],
    )


@profile_app.command("use")
@runtime.command(login=None)
def profile_use(json: bool, name: Annotated[str, typer.Argument(metavar="PROFILE")]) -> None:
    """Make a named profile the default login."""
    login = Profiles().use(name)
    if json:
        output.emit_json({"profile": name, "server": login.server, "username": login.username})
    else:
        output.success(f"{name} ({login.username} on {login.server}) is the default now")


@profile_app.command("remove")
@runtime.command(login=None)
def profile_remove(json: bool, name: Annotated[str, typer.Argument(metavar="PROFILE")]) -> None:
    """Forget a named profile here (its session stays valid on the daemon until it ends)."""
    Profiles().profile(name)  # a clear "no profile named" for a typo
    Profiles().forget(profile=name)
    if json:
        output.emit_json({"profile": name, "forgotten": True})
    else:
        output.success(f"forgot profile {name}")
