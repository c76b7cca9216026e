"""coope account password|name: your own account (an admin changes others' with `coope admin`)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from coope.cli import output, runtime
from coope.core.errors import InvalidInput

if TYPE_CHECKING:
    from coope.client import CoopeClient

app = typer.Typer(help="Your own account: password and display name.", no_args_is_help=True)

PasswordsStdinOpt = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the passwords from standard input: the current one on the first line, the"
        " new one on the second.",
    ),
]


@app.command()
@runtime.command
async def password(
    client: CoopeClient, json: bool, password_stdin: PasswordsStdinOpt = False
) -> None:
    """Change your password, giving the current one.

    At a terminal it asks for the current password, then the new one twice; in a script pass
    --password-stdin. The new one follows the signup rule (at least 8 characters). Every other
    session of yours ends (other terminals and devices log in again); this login goes on. API
    tokens are separate credentials and keep working: `coope token list` and `coope token
    revoke` end them. A wrong current password exits 4.
    """
    current, new = read_password_change(password_stdin)
    changed = await client.auth.change_password(current, new)
    ended = changed.ended.sessions_ended
    output.done(
        json,
        changed,
        f"password changed; {ended} other session{'' if ended == 1 else 's'} ended"
        " (API tokens keep working)",
    )


@app.command()
@runtime.command
async def name(
    client: CoopeClient,
    json: bool,
    display_name: Annotated[
        str,
        typer.Argument(
            metavar="NAME", help='The name shown beside your username, e.g. "Alice Liddell".'
        ),
    ],
) -> None:
    """Set your display name (one line, at most 64 characters)."""
    user = await client.auth.set_display_name(display_name)
    output.done(json, user, f"your display name is now {user.display_name}")


def at_terminal() -> bool:
    return sys.stdin.isatty()


def read_password_change(password_stdin: bool) -> tuple[str, str]:
    """(current, new): asked for at a terminal (the new one twice), or two lines of stdin."""
    if not password_stdin and at_terminal():
        current = typer.prompt("Current password", hide_input=True)
        new = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
        return str(current), str(new)
    # Without a terminal and without --password-stdin this refuses, saying what to pass.
    current = runtime.read_password(password_stdin)
    try:
        new = runtime.read_password(password_stdin)
    except InvalidInput:
        raise InvalidInput(
            "--password-stdin: write the current password on the first line and the new one"
            " on the second"
        ) from None
    return current, new
