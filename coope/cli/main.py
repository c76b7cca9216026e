"""The `coope` command: groups are registered here; heavy imports wait inside the commands."""

from __future__ import annotations

import typer

from coope import __version__
from coope.cli import (
    admin,
    ai,
    auth,
    calls,
    chat,
    daemon,
    docs,
    friends,
    notes,
    tokens,
    tui,
    workspaces,
)
from coope.cli.runtime import EXIT_HELP, PlainHelpGroup, take_ctrl_c

app = typer.Typer(
    name="coope",
    cls=PlainHelpGroup,
    help="Terminal-first real-time collaboration.",
    epilog=EXIT_HELP,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"coope {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Terminal-first real-time collaboration."""
    # Every command a person runs stops on Ctrl-C, even when started from a script in the
    # background (which starts it with SIGINT ignored). The daemon sets its own handlers: SIGINT
    # and SIGTERM both stop it cleanly.
    if ctx.invoked_subcommand != "daemon":
        take_ctrl_c()


app.command("daemon")(daemon.daemon)
auth.register(app)
app.add_typer(tokens.app, name="token")
app.add_typer(admin.app, name="admin")
app.add_typer(friends.app, name="friend")
app.command("status")(friends.status)
app.add_typer(chat.app, name="chat")
app.add_typer(workspaces.app, name="ws")
app.add_typer(docs.app, name="doc")
app.add_typer(calls.app, name="call")
app.add_typer(notes.app, name="notes")
app.add_typer(ai.app, name="ai")
app.command("tui")(tui.tui)


def main() -> None:
    app()
