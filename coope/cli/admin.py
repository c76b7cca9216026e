"""coope admin: manage accounts (admin role required)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from coope.cli import output, runtime
from coope.cli.args import PasswordStdinOpt
from coope.core.models import Role

if TYPE_CHECKING:
    from coope.client import CoopeClient

app = typer.Typer(help="Manage accounts (admins only).", no_args_is_help=True)


@app.command()
@runtime.command
async def users(
    client: CoopeClient,
    json: bool,
    search: Annotated[str | None, typer.Option(help="Match username, name or email.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
) -> None:
    """List or search accounts."""
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
                "disabled" if u.disabled else "active",
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
    username: str,
    role: Annotated[Role, typer.Option(help="Role of the new account.")] = Role.USER,
    display_name: Annotated[str | None, typer.Option()] = None,
    password_stdin: PasswordStdinOpt = False,
) -> None:
    """Create an account (also when signup is closed)."""
    password = runtime.read_password(password_stdin, confirm=True)
    user = await client.admin.create_user(username, password, role=role, display_name=display_name)
    output.done(json, user, f"{user.username} created with role {user.role.value}")


@app.command()
@runtime.command
async def role(
    client: CoopeClient,
    json: bool,
    username: str,
    new_role: Annotated[Role, typer.Argument(metavar="ROLE", help="user or admin")],
) -> None:
    """Change an account's role."""
    user = await client.admin.set_role(username, new_role)
    output.done(json, user, f"{user.username} is now {user.role.value}")


@app.command()
@runtime.command
async def disable(client: CoopeClient, json: bool, username: str) -> None:
    """Disable an account: every session and API token it has ends at once and for good
    (`admin enable` revives none of them), and its open connections are closed."""
    user = await client.admin.disable(username)
    output.done(json, user, f"{user.username} is disabled")


@app.command()
@runtime.command
async def enable(client: CoopeClient, json: bool, username: str) -> None:
    """Enable a disabled account; it logs in again (its old sessions and tokens stay ended)."""
    user = await client.admin.enable(username)
    output.done(json, user, f"{user.username} is enabled")
