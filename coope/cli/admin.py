"""coope admin: manage accounts (admin role required)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from coope.cli import output, runtime
from coope.cli.auth import PasswordStdinOpt
from coope.cli.runtime import JsonOpt, ServerOpt, TokenOpt
from coope.core.models import Role

if TYPE_CHECKING:
    from coope.core.schemas import UserOut

app = typer.Typer(help="Manage accounts (admins only).", no_args_is_help=True)


def _show(user: UserOut, json: bool, what: str) -> None:
    if json:
        output.emit_json(user)
    else:
        output.success(f"{user.username} {what}")


@app.command()
def users(
    search: Annotated[str | None, typer.Option(help="Match username, name or email.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    server: ServerOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:
    """List or search accounts."""

    async def body() -> None:
        async with runtime.client(server, token) as c:
            page = await c.admin.users(search, limit, offset)
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
                    "disabled" if u.disabled else "active",
                    u.created_at.strftime("%Y-%m-%d"),
                    u.email or "",
                ]
                for u in page.users
            ],
            title=f"{len(page.users)} of {page.total} users",
        )

    runtime.run(body)


@app.command()
def create(
    username: str,
    role: Annotated[Role, typer.Option(help="Role of the new account.")] = Role.USER,
    display_name: Annotated[str | None, typer.Option()] = None,
    password_stdin: PasswordStdinOpt = False,
    server: ServerOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:
    """Create an account (also when signup is closed)."""

    async def body() -> None:
        password = runtime.read_password(password_stdin, confirm=True)
        async with runtime.client(server, token) as c:
            user = await c.admin.create_user(
                username, password, role=role, display_name=display_name
            )
        _show(user, json, f"created with role {user.role.value}")

    runtime.run(body)


@app.command()
def role(
    username: str,
    new_role: Annotated[Role, typer.Argument(metavar="ROLE", help="user or admin")],
    server: ServerOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:
    """Change an account's role."""

    async def body() -> None:
        async with runtime.client(server, token) as c:
            user = await c.admin.set_role(username, new_role)
        _show(user, json, f"is now {user.role.value}")

    runtime.run(body)


@app.command()
def disable(
    username: str, server: ServerOpt = None, token: TokenOpt = None, json: JsonOpt = False
) -> None:
    """Disable an account: its sessions and tokens stop working at once."""

    async def body() -> None:
        async with runtime.client(server, token) as c:
            user = await c.admin.disable(username)
        _show(user, json, "is disabled")

    runtime.run(body)


@app.command()
def enable(
    username: str, server: ServerOpt = None, token: TokenOpt = None, json: JsonOpt = False
) -> None:
    """Enable a disabled account."""

    async def body() -> None:
        async with runtime.client(server, token) as c:
            user = await c.admin.enable(username)
        _show(user, json, "is enabled")

    runtime.run(body)
