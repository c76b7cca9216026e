"""signup, login, logout, whoami."""

from __future__ import annotations

from typing import Annotated

import typer

from coope.cli import credentials, output, runtime
from coope.cli.runtime import JsonOpt, ServerOpt, TokenOpt
from coope.core.errors import Unauthenticated

PasswordStdinOpt = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input.")
]


def register(app: typer.Typer) -> None:
    app.command()(signup)
    app.command()(login)
    app.command()(logout)
    app.command()(whoami)


def signup(
    username: Annotated[str, typer.Argument(help="3-32 characters: a-z 0-9 _ - .")],
    display_name: Annotated[str | None, typer.Option(help="Name shown to others.")] = None,
    password_stdin: PasswordStdinOpt = False,
    server: ServerOpt = None,
    json: JsonOpt = False,
) -> None:
    """Create an account on the daemon and log in to it."""

    async def body() -> None:
        password = runtime.read_password(password_stdin, confirm=True)
        async with runtime.client(server, None, need_login=False) as c:
            session = await c.auth.signup(username, password, display_name)
            path = credentials.save_login(c.server, session.user.username, session.token)
        if json:
            output.emit_json({**session.model_dump(mode="json"), "server": c.server})
            return
        output.success(f"signed up and logged in as {session.user.username} on {c.server}")
        if session.first_user:
            output.info("[bold]You are the first user of this daemon, so you are its admin.[/bold]")
        output.info(f"credentials saved in {output.escape(str(path))}")

    runtime.run(body)


def login(
    username: str,
    password_stdin: PasswordStdinOpt = False,
    server: ServerOpt = None,
    json: JsonOpt = False,
) -> None:
    """Log in and save the session for later commands."""

    async def body() -> None:
        password = runtime.read_password(password_stdin)
        async with runtime.client(server, None, need_login=False) as c:
            session = await c.auth.login(username, password)
            credentials.save_login(c.server, session.user.username, session.token)
        if json:
            output.emit_json({**session.model_dump(mode="json"), "server": c.server})
        else:
            output.success(f"logged in as {session.user.username} on {c.server}")

    runtime.run(body)


def logout(server: ServerOpt = None, token: TokenOpt = None, json: JsonOpt = False) -> None:
    """End the session on the daemon and forget it here."""

    async def body() -> None:
        url = runtime.resolve_server(server)
        ended = True
        try:
            async with runtime.client(url, token) as c:
                await c.auth.logout()
        except Unauthenticated:
            ended = False  # already over on the daemon; forgetting it locally is all that is left
        forgotten = credentials.forget_login(url) if token is None else False
        if json:
            output.emit_json({"server": url, "session_ended": ended, "forgotten": forgotten})
        else:
            output.success(f"logged out of {url}")

    runtime.run(body)


def whoami(server: ServerOpt = None, token: TokenOpt = None, json: JsonOpt = False) -> None:
    """Show who you are logged in as."""

    async def body() -> None:
        async with runtime.client(server, token) as c:
            me = await c.auth.whoami()
        if json:
            output.emit_json({**me.model_dump(mode="json"), "server": c.server})
            return
        expires = me.expires_at.strftime("%Y-%m-%d %H:%M UTC") if me.expires_at else "never"
        name, server_url = output.escape(me.user.display_name), output.escape(c.server)
        output.info(
            f"[bold]{output.escape(me.user.username)}[/bold] ({name}) on {server_url}\n"
            f"role: {me.user.role.value}   credential: {me.auth.value}   expires: {expires}"
        )

    runtime.run(body)
