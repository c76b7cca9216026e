"""The `coope` command: every command and group is named here, and its module is imported only
when it runs or its help is shown (`coope whoami` loads none of `chat`, `doc` or `call`)."""

from __future__ import annotations

from collections.abc import Mapping
from difflib import get_close_matches
from importlib import import_module
from typing import Annotated, Any

import typer
from typer._click.exceptions import UsageError

from coope import __version__
from coope.cli.runtime import (
    EXIT_HELP,
    JsonOpt,
    PlainHelpGroup,
    PlainOpt,
    keep_root_options,
    take_ctrl_c,
)

# Each command of `coope`, in the order help lists them: the module and name of its function
# (one command) or of its Typer app (a group of commands).
COMMANDS = {
    "daemon": "coope.cli.daemon:daemon",
    "signup": "coope.cli.auth:signup",
    "login": "coope.cli.auth:login",
    "logout": "coope.cli.auth:logout",
    "whoami": "coope.cli.auth:whoami",
    "status": "coope.cli.friends:status",
    "tui": "coope.cli.tui:tui",
    "completion": "coope.cli.complete:completion",
    "profile": "coope.cli.auth:profile_app",
    "token": "coope.cli.tokens:app",
    "admin": "coope.cli.admin:app",
    "account": "coope.cli.account:app",
    "friend": "coope.cli.friends:app",
    "chat": "coope.cli.chat:app",
    "ws": "coope.cli.workspaces:app",
    "doc": "coope.cli.docs:app",
    "call": "coope.cli.calls:app",
    "notes": "coope.cli.notes:app",
    "ai": "coope.cli.ai:app",
}


class CoopeGroup(PlainHelpGroup):
    """The root group, which loads a command from `COMMANDS` when it is first asked for."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        try:
            return super().resolve_command(ctx, args)
        except UsageError as error:
            # Typer suggests from the commands loaded so far: here, from all of them.
            close = get_close_matches(args[0], COMMANDS) if args else []
            if close and "Did you mean" not in error.message:
                named = ", ".join(repr(name) for name in close)
                error.message = f"{error.message.rstrip('.')}. Did you mean {named}?"
            raise

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            self.add_command(self.prepared(_load(cmd_name, COMMANDS[cmd_name]), ctx), cmd_name)
        return self.commands.get(cmd_name)


def _load(name: str, where: str) -> Any:
    module, attribute = where.split(":")
    target = getattr(import_module(module), attribute)
    if isinstance(target, typer.Typer):
        group = typer.main.get_group(target)
        group.name = name
        return group
    one = typer.Typer(add_completion=False)
    one.command(name)(target)
    return typer.main.get_command(one)


app = typer.Typer(
    name="coope",
    cls=CoopeGroup,
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
    wrong = [f"--{name}" for name, value in given.items() if value not in (None, False)]
    if wrong:
        raise UsageError(f"`coope daemon` takes no {', '.join(wrong)}", ctx)


def main() -> None:
    app()
