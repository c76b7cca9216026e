"""signup, login, logout, whoami, and the saved logins (`coope profile ...`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from coope.cli import complete, output, runtime
from coope.cli.args import PasswordStdinOpt
from coope.client.profiles import Login, Profiles, check_profile_name
from coope.core.errors import CoopeError, DaemonUnreachable, Unauthenticated

if TYPE_CHECKING:
    from coope.client import CoopeClient
    from coope.core.schemas import SessionOut

# How long `coope profile status` waits for each daemon.
STATUS_TIMEOUT_S = 5.0
NO_LOGINS = "no saved logins: run `coope login USER`"

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
    help="Saved logins: list, check, pick the default, forget.", no_args_is_help=True
)
SavedLoginArg = Annotated[
    str,
    typer.Argument(
        metavar="PROFILE",
        help="A profile's name, or a server's URL for the login saved for that server.",
    ),
]


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
    saved = _save(client, session, profile)
    if json:
        output.emit_json({**session.model_dump(mode="json"), **saved.as_json()})
        return
    output.success(f"signed up and logged in as {session.user.username} on {client.server}")
    if session.first_user:
        output.note("You are the first user of this daemon, so you are its admin.")
    output.note(f"credentials saved in {saved.path}")
    saved.tell()


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
    saved = _save(client, session, profile)
    if json:
        output.emit_json({**session.model_dump(mode="json"), **saved.as_json()})
    else:
        as_profile = f" (profile {profile})" if profile else ""
        output.success(f"logged in as {session.user.username} on {client.server}{as_profile}")
        saved.tell()


@dataclass(frozen=True)
class _Saved:
    """A login just saved, and the default it took over from (a login made becomes the
    default; when that moves the default to another server or account, the person is told)."""

    login: Login
    path: Path
    previous: Login | None

    @property
    def moved(self) -> bool:
        before = self.previous
        return before is not None and (before.server, before.username) != (
            self.login.server,
            self.login.username,
        )

    def as_json(self) -> dict[str, object]:
        before = self.previous if self.moved else None
        was = None if before is None else {"server": before.server, "username": before.username}
        return {"server": self.login.server, "default": True, "previous_default": was}

    def tell(self) -> None:
        before = self.previous
        if before is None or not self.moved:
            return
        back = before.profile or before.server
        output.note(
            f"this is the default login now (it was {before.username} on {before.server}):"
            f" `coope profile use {back}` switches back"
        )


def _save(client: CoopeClient, session: SessionOut, profile: str | None) -> _Saved:
    profiles = Profiles()
    previous = profiles.default()
    login = Login(client.server, session.user.username, session.token, profile)
    return _Saved(login, profiles.save(login), previous)


@runtime.command
async def logout(client: CoopeClient, json: bool) -> None:
    """End the session on the daemon and forget it here.

    The login is forgotten here even when the daemon cannot be reached (its session then stays
    valid there until it expires, and a warning says so)."""
    saved = Profiles().holding(client.server, client.token)
    token = client.token  # (the client lets go of it once the session ends)
    ended, told = True, True
    try:
        await client.auth.logout()
    except Unauthenticated:
        ended = False  # already over on the daemon; forgetting it locally is all that is left
    except DaemonUnreachable:
        if saved is None:
            raise  # nothing saved to forget: nothing was done
        ended = told = False
    # A token given on the command line that is not a saved one is ended, but there is nothing
    # to forget.
    forgotten = saved is not None and Profiles().forget(client.server, saved.profile)
    complete.forget(client.server, token)  # its names are no one's to complete now
    if not told:
        output.warning(
            f"the daemon at {client.server} could not be told: the session stays valid there"
            " until it expires"
        )
    if json:
        output.emit_json(
            {
                "server": client.server,
                "session_ended": ended,
                "daemon_told": told,
                "forgotten": forgotten,
            }
        )
    else:
        output.success(f"logged out of {client.server}" + ("" if told else " (here)"))


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
    output.listing(
        json,
        rows,
        ["", "profile", "server", "user"],
        (
            ["*" if x == default else "", x.profile or "-", x.server, x.username]
            for x in profiles.logins()
        ),
        empty=NO_LOGINS,
    )


@profile_app.command("status")
@runtime.command(login=None)
async def profile_status(json: bool) -> None:
    """Every saved login, which commands use it, and whether its daemon still accepts it."""
    import asyncio

    profiles = Profiles()
    logins = profiles.logins()
    default = profiles.default()
    states = await asyncio.gather(*(_state(login) for login in logins))
    used = [_used_for(profiles, login, default) for login in logins]
    rows = [
        {
            "profile": login.profile,
            "server": login.server,
            "username": login.username,
            "default": login == default,
            "used_for": used_for,
            **state,
        }
        for login, used_for, state in zip(logins, used, states, strict=True)
    ]
    output.listing(
        json,
        rows,
        ["", "profile", "server", "user", "used for", "state"],
        (
            [
                "*" if login == default else "",
                login.profile or "-",
                login.server,
                login.username,
                ", ".join(used_for),
                str(state["state"]) + (f": {state['message']}" if state["message"] else ""),
            ]
            for login, used_for, state in zip(logins, used, states, strict=True)
        ),
        empty=NO_LOGINS,
    )


def _used_for(profiles: Profiles, login: Login, default: Login | None) -> list[str]:
    """The ways a command picks this login: by default, for its server, by its name."""
    used = ["default"] if login == default else []
    if profiles.for_server(login.server) == login:
        used.append("--server")
    if login.profile is not None:
        used.append(f"--profile {login.profile}")
    return used


async def _state(login: Login) -> dict[str, str | None]:
    """Whether the login still works: ok (with its role), expired, unreachable, or the error;
    the role is None but for ok (every row has the same keys)."""
    from coope.client import CoopeClient

    try:
        async with CoopeClient(login.server, login.token, timeout=STATUS_TIMEOUT_S) as client:
            me = await client.auth.whoami()
    except Unauthenticated:
        return {"state": "expired", "message": "log in again: `coope login USER`", "role": None}
    except DaemonUnreachable:
        return {"state": "unreachable", "message": "the daemon does not answer", "role": None}
    except CoopeError as exc:
        return {"state": "error", "message": exc.message, "role": None}
    return {"state": "ok", "message": None, "role": me.user.role.value}


@profile_app.command("use")
@runtime.command(login=None)
def profile_use(json: bool, name: SavedLoginArg) -> None:
    """Make a saved login the default: a profile by its name, a server's login by its URL."""
    login = Profiles().use(name)
    if json:
        output.emit_json(
            {"profile": login.profile, "server": login.server, "username": login.username}
        )
    else:
        output.success(f"{name} ({login.username} on {login.server}) is the default now")


@profile_app.command("remove")
@runtime.command(login=None)
def profile_remove(json: bool, name: SavedLoginArg) -> None:
    """Forget a saved login here (its session stays valid on the daemon until it ends)."""
    login = Profiles().named(name)  # a clear "no profile named" for a typo
    Profiles().forget(login.server, login.profile)
    complete.forget(login.server, login.token)
    if json:
        output.emit_json({"profile": login.profile, "server": login.server, "forgotten": True})
    else:
        output.success(f"forgot {name} ({login.username} on {login.server})")
