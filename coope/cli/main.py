"""The `coope` command: groups are registered here; heavy imports wait inside the commands."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

import typer

from coope import __version__
from coope.cli import (
    account,
    admin,
    ai,
    auth,
    calls,
    chat,
    complete,
    daemon,
    docs,
    friends,
    notes,
    tokens,
    tui,
    workspaces,
)
from coope.cli.runtime import (
    EXIT_HELP,
    JsonOpt,
    PlainHelpGroup,
    PlainOpt,
    keep_root_options,
    take_ctrl_c,
)

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


# Taken before the command as well as after it (`coope --json whoami`); after it wins. The
# environment variables are read by the command's own options, so they are not named here.
_AFTER = " for the command that follows (the same option after it wins)."
BeforeServer = Annotated[
    str | None, typer.Option("--server", metavar="URL", help="Daemon URL" + _AFTER)
]
BeforeToken = Annotated[
    str | None, typer.Option("--token", metavar="TOKEN", help="Session or API token" + _AFTER)
]
BeforeProfile = Annotated[
    str | None, typer.Option("--profile", metavar="NAME", help="Saved login" + _AFTER)
]


@app.callback()
def root(
    ctx: typer.Context,
    server: BeforeServer = None,
    token: BeforeToken = None,
    profile: BeforeProfile = None,
    json: JsonOpt = False,
    plain: PlainOpt = False,
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Terminal-first real-time collaboration."""
    given = {"server": server, "token": token, "profile": profile, "json": json, "plain": plain}
    if ctx.invoked_subcommand == "daemon":
        _refuse_before_daemon(ctx, given)
    keep_root_options(ctx, given)
    # Every command a person runs stops on Ctrl-C, even when started from a script in the
    # background (which starts it with SIGINT ignored). The daemon sets its own handlers: SIGINT
    # and SIGTERM both stop it cleanly.
    if ctx.invoked_subcommand != "daemon":
        take_ctrl_c()


def _refuse_before_daemon(ctx: typer.Context, given: Mapping[str, object]) -> None:
    """The daemon connects to no daemon and prints no JSON: an option meant for that, given
    before `daemon`, is said to be wrong rather than left unused."""
    from typer._click.exceptions import UsageError

    wrong = [f"--{name}" for name, value in given.items() if value not in (None, False)]
    if wrong:
        raise UsageError(f"`coope daemon` takes no {', '.join(wrong)}", ctx)


app.command("daemon")(daemon.daemon)
auth.register(app)
app.add_typer(tokens.app, name="token")
app.add_typer(admin.app, name="admin")
app.add_typer(account.app, name="account")
app.add_typer(friends.app, name="friend")
app.command("status")(friends.status)
app.add_typer(chat.app, name="chat")
app.add_typer(workspaces.app, name="ws")
app.add_typer(docs.app, name="doc")
app.add_typer(calls.app, name="call")
app.add_typer(notes.app, name="notes")
app.add_typer(ai.app, name="ai")
app.command("tui")(tui.tui)
app.command("completion")(complete.completion)


def main() -> None:
    app()
