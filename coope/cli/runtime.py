"""What every command shares: the common options, the client, and the one error handler."""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Awaitable, Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, overload

import typer
from typer.core import TyperArgument, TyperGroup, TyperOption

from coope.cli import output
from coope.client.profiles import PROFILE_ENV, Profiles, not_logged_in
from coope.core.errors import (
    BadRequest,
    Conflict,
    CoopeError,
    DaemonUnreachable,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    Unauthenticated,
    Unavailable,
)

if TYPE_CHECKING:
    from coope.client import CoopeClient

T = TypeVar("T")

# The variable a shell's completion script sets to ask `coope` for completions.
COMPLETE_VAR = "_COOPE_COMPLETE"


def _connection_option(flag: str, env: str, metavar: str, help: str) -> Any:
    option = typer.Option(flag, envvar=env, show_envvar=True, metavar=metavar, help=help)
    return Annotated[str | None, option]


ServerOpt = _connection_option(
    "--server",
    "COOPE_SERVER",
    "URL",
    "Daemon URL (default: the server of the last login, else http://127.0.0.1:8765).",
)
TokenOpt = _connection_option(
    "--token",
    "COOPE_TOKEN",
    "TOKEN",
    "Session or API token (default: the saved login for the server).",
)
ProfileOpt = _connection_option(
    "--profile", PROFILE_ENV, "NAME", "Use this saved login (see `coope profile list`)."
)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
PlainOpt = Annotated[
    bool,
    typer.Option(
        "--plain",
        help="Tables as a header line and tab-separated rows, also on a terminal (in a pipe"
        " they always are).",
    ),
]

# Exit codes by error family, documented in `coope --help` and the README.
EXIT_CODES: list[tuple[type[CoopeError], int]] = [
    (Unauthenticated, 3),
    (Forbidden, 4),
    (NotFound, 5),
    (Conflict, 6),
    (InvalidInput, 7),
    (BadRequest, 7),
    (PayloadTooLarge, 7),
    (RateLimited, 8),
    (DaemonUnreachable, 9),
    (Unavailable, 9),
]
EXIT_USAGE = 2
EXIT_HELP = (
    "Exit codes: 0 ok, 1 internal error, 2 usage, 3 not logged in / bad credentials, "
    "4 forbidden, 5 not found (also a missing input file), 6 conflict, 7 invalid input (also"
    " a --server that is not a URL), 8 rate limited, 9 unavailable (the daemon, an"
    " OpenAI-compatible server, an audio device or engine). With --json, an error is one JSON"
    ' line on stderr: {"error": {"code", "message", "exit"}}.'
)


def exit_code(error: CoopeError) -> int:
    for cls, code in EXIT_CODES:
        if isinstance(error, cls):
            return code
    return 1


def client(
    server: str | None, token: str | None, profile: str | None = None, *, need_login: bool = True
) -> CoopeClient:
    """A client for the chosen server, with the explicit token or the saved login."""
    return Profiles().client(server, token, profile, need_login=need_login)


def require_login(client: CoopeClient) -> None:
    """For a `login=False` command at the point where it needs the daemon's trust (before it
    sends something a daemon would refuse, or start work that it would waste)."""
    if client.token is None:
        raise not_logged_in(client.server)


@contextmanager
def handled_errors() -> Iterator[None]:
    """Every coope error as one `error: ...` line (JSON with `--json`) and its exit code;
    Ctrl-C as exit 130."""
    try:
        yield
    except CoopeError as exc:
        code = exit_code(exc)
        output.failure(exc.code, exc.message, code)
        raise typer.Exit(code) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


def take_ctrl_c() -> None:
    """Make Ctrl-C raise `KeyboardInterrupt` even when SIGINT was inherited ignored.

    A shell without job control (a script) starts `cmd &` with SIGINT ignored, exec keeps it
    ignored, and Python then installs no handler: `coope chat tail --follow` or `coope call join`
    started that way could not be stopped with Ctrl-C. A command a person runs is meant to be.
    A handler already in place (a program running the CLI in-process) is left alone.
    """
    import signal
    import threading

    # Only the main thread may set handlers; a command run in-process elsewhere leaves them.
    if (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    ):
        signal.signal(signal.SIGINT, signal.default_int_handler)


def run(work: Callable[[], Awaitable[T]]) -> T:
    """Run a command's async body with `handled_errors`."""
    import asyncio

    with handled_errors():
        return asyncio.run(_awaited(work))


async def _awaited(work: Callable[[], Awaitable[T]]) -> T:
    return await work()


def read_password(password_stdin: bool, *, confirm: bool = False) -> str:
    """The password from standard input (`--password-stdin`), or asked for at the terminal."""
    import sys

    if password_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise InvalidInput("--password-stdin: no password on standard input")
        return line
    if not sys.stdin.isatty():
        # Without a terminal the prompt would echo the password, or warn and hang on a pipe.
        raise InvalidInput(
            "no terminal to ask for the password: pass --password-stdin and write the password"
            " to standard input"
        )
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=confirm))


# --- one declaration of the options every command shares -----------------------------------

# Async when it may reach a daemon; a plain function for a command that never does.
AsyncCommand = Callable[..., Awaitable[None] | None]
_INJECTED = ("client", "json")
_CONTEXT = "coope_context"
_SHARED: list[tuple[str, Any, Any]] = [
    ("server", ServerOpt, None),
    ("token", TokenOpt, None),
    ("profile", ProfileOpt, None),
    ("json", JsonOpt, False),
    ("plain", PlainOpt, False),
]
_CONNECTION = ("server", "token", "profile")
# Where the root group keeps the shared options given before the command (`coope --json whoami`).
_ROOT_OPTIONS = "coope.root_options"


def keep_root_options(ctx: typer.Context, values: dict[str, Any]) -> None:
    """Remember the shared options given before the command, for the command to default from
    (`coope --server URL whoami` is `coope whoami --server URL`); set how output looks."""
    ctx.meta[_ROOT_OPTIONS] = {k: v for k, v in values.items() if v not in (None, False)}
    output.configure(json=bool(values.get("json")), plain=bool(values.get("plain")))


TyperCommand = Callable[..., None]


@overload
def command(fn: AsyncCommand) -> TyperCommand: ...
@overload
def command(*, login: bool | None = True) -> Callable[[AsyncCommand], TyperCommand]: ...
def command(
    fn: AsyncCommand | None = None, *, login: bool | None = True
) -> TyperCommand | Callable[[AsyncCommand], TyperCommand]:
    """Make an async function a Typer command with the shared options declared once.

    The function states what it needs by parameter name and gets it:
    - `client`: a `CoopeClient` for `--server` / `--token` / `--profile` (or the saved login),
      open for the body and closed after it. `login=False` allows no token (signup, login);
      `login=None` adds no connection options at all (commands that never reach a daemon;
      these may also be plain functions, run without an event loop).
    - `json`: the `--json` flag, declared here for every command that takes it.
    A shared option the function declares itself is its own: it gets the value, and the
    connection does not use it (`login --profile NAME` names the profile to save). A profile
    named on the command line beats COOPE_SERVER and COOPE_TOKEN left in the environment.
    Its other parameters are the command's own arguments and options, declared the Typer way.
    Errors end as one `error: ...` line and their exit code (`run`).

        @app.command()
        @runtime.command
        async def whoami(client: CoopeClient, json: bool) -> None: ...
    """
    if fn is None:
        return functools.partial(_typer_command, login=login)
    return _typer_command(fn, login=login)


def _typer_command(fn: AsyncCommand, *, login: bool | None) -> TyperCommand:
    own = _evaluated(fn)
    takes = set(inspect.signature(fn).parameters)
    declared = {p.name for p in own}
    shared = [
        _option(name, annotation, default)
        for name, annotation, default in _SHARED
        if name not in declared
        and ("json" in takes if name in ("json", "plain") else login is not None)
    ]

    def typer_command(**values: Any) -> None:
        ctx: typer.Context = values.pop(_CONTEXT)
        before: dict[str, Any] = ctx.meta.get(_ROOT_OPTIONS, {})
        # The shared options the function does not declare itself pick the connection.
        server, token, profile = login_options(ctx, before, own=declared)
        for name, value in before.items():
            if name in values and not _on_command_line(ctx, name):
                values[name] = value
        for name in _CONNECTION:
            if name not in declared:
                values.pop(name, None)
        plain = values.pop("plain", False) if "plain" not in declared else False
        output.configure(
            json=bool(values.get("json", before.get("json"))),
            plain=bool(plain or before.get("plain")),
        )
        if not inspect.iscoroutinefunction(fn):  # a command that never reaches a daemon
            with handled_errors():
                fn(**values)
            return

        async def body() -> None:
            if "client" not in takes:
                await fn(**values)
                return
            # No token is asked for up front: the body's own checks (arguments, engines) come
            # first, and a daemon's refusal of a missing login is told as such.
            async with client(server, token, profile, need_login=False) as opened:
                try:
                    await fn(client=opened, **values)
                except Unauthenticated:
                    if login and opened.token is None:
                        raise not_logged_in(opened.server) from None
                    raise

        run(body)

    typer_command.__name__ = fn.__name__
    typer_command.__qualname__ = fn.__qualname__
    typer_command.__doc__ = fn.__doc__
    typer_command.__module__ = fn.__module__
    # Typer hands the click context to a parameter of this type: it tells where values came from.
    context = inspect.Parameter(_CONTEXT, inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context)
    parameters = [*own, *shared, context]
    typer_command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    typer_command.__annotations__ = {p.name: p.annotation for p in parameters}
    return typer_command


def login_options(
    ctx: Any, before: Mapping[str, Any], *, own: Collection[str] = ()
) -> tuple[str | None, str | None, str | None]:
    """The `--server`, `--token` and `--profile` that pick the login of the command `ctx` is
    the context of (running, or having its line completed): each as given after the command,
    else before it (`before`), else by its environment variable. `own`: those the command
    declares for its own use (`login --profile NAME`), which pick nothing.

    A profile named on the command line is what the person means now: a server or token left in
    the environment for another purpose does not go with it.
    """
    chosen: dict[str, str | None] = dict.fromkeys(_CONNECTION)
    from_environment = dict.fromkeys(_CONNECTION, False)
    for name in _CONNECTION:
        if name in own:
            continue
        if before.get(name) is not None and not _on_command_line(ctx, name):
            chosen[name] = before[name]  # an option given before the command
        else:
            chosen[name] = ctx.params.get(name)
            from_environment[name] = bool(_from_environment(ctx, name))
    if chosen["profile"] and not from_environment["profile"]:
        for name in ("server", "token"):
            if from_environment[name]:
                chosen[name] = None
    return chosen["server"], chosen["token"], chosen["profile"]


def _on_command_line(ctx: typer.Context, option: str) -> bool:
    source = ctx.get_parameter_source(option)
    return source is not None and source.name == "COMMANDLINE"


def _from_environment(ctx: typer.Context, option: str) -> bool | None:
    """Whether the command's `option` got its value from its environment variable (None: it
    has no value)."""
    source = ctx.get_parameter_source(option)
    if source is None or ctx.params.get(option) is None:
        return None
    return source.name == "ENVIRONMENT"


def _evaluated(fn: AsyncCommand) -> list[inspect.Parameter]:
    """`fn`'s own parameters with their annotations evaluated (modules postpone annotations),
    leaving out the injected ones, whose types may exist only for the type checker."""
    namespace = getattr(fn, "__globals__", {})
    params = []
    for p in inspect.signature(fn).parameters.values():
        if p.name in _INJECTED:
            continue
        annotation = p.annotation
        if isinstance(annotation, str):
            annotation = eval(annotation, namespace)  # the module's own annotation text
        params.append(p.replace(annotation=annotation, kind=inspect.Parameter.KEYWORD_ONLY))
    return params


def _option(name: str, annotation: Any, default: Any = None) -> inspect.Parameter:
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
    )


# --- help that reads like a manual, and errors that read as one line -------------------------


class PlainArgument(TyperArgument):
    """An argument shown by its name (`ROOM`, `[TEXT]`), never by a Python type."""

    def _usage_display_name(self) -> str:
        name = self.display_name_raw
        if not self.required and not name.startswith("["):  # a metavar may bring its own
            name = f"[{name}]"
        return name + ("..." if self.nargs != 1 else "")

    def display_type_rich(self, ctx: Any) -> str | None:
        return None  # the name column already says what it is


def plain_help(command: Any, ctx: Any) -> None:
    """Make the help of `command` and everything under it read as plain text: arguments and
    values by name (`ROOM`, `--limit N`, `--format rich|md|json`) instead of Python types
    (`<str>`, `<list[str]>`, `{name}`), and paragraphs that are joined lines, not lines broken
    where the source code broke them.

    Typer builds its parameter objects itself, with no way to pass it a class: an argument is
    made a `PlainArgument` here (a subclass adding no state, so nothing else changes)."""
    command.help = unwrapped(command.help)
    for param in [*getattr(command, "params", []), command.get_help_option(ctx)]:
        if isinstance(param, TyperArgument):
            param.__class__ = PlainArgument
            if param.metavar is None:
                param.metavar = _argument_name(param)
        elif isinstance(param, TyperOption) and param.metavar is None:
            param.metavar = "" if param.is_flag else _value_name(param, ctx)
        elif param is not None and getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    for sub in getattr(command, "commands", {}).values():
        plain_help(sub, ctx)


def _argument_name(argument: TyperArgument) -> str:
    """What an argument is called in help: its choices (`bash|zsh|fish`), else its name."""
    described = argument.type_descriptor
    if described.is_choice and described.choices:
        return "|".join(str(getattr(choice, "value", choice)) for choice in described.choices)
    return (argument.name or "value").upper()


def _value_name(option: TyperOption, ctx: Any) -> str:
    """What an option's value is called in help: its choices, N for a number, FILE or DIR for
    a path, else the last word of its name (`--display-name NAME`)."""
    described = option.type_descriptor
    if described.is_choice:
        return option.display_type(ctx).strip("<>").removeprefix("list[").removesuffix("]")
    if described.annotation in (int, float) or described.is_ranged:
        return "N"
    if described.is_path:
        return "DIR" if not getattr(described.parameter_info, "file_okay", True) else "FILE"
    if described.is_datetime:
        return "TIME"
    return (option.name or "value").rsplit("_", 1)[-1].upper()


def unwrapped(text: str | None) -> str | None:
    """`text` with each paragraph's lines joined into one, so help wraps to the terminal instead
    of where the source code wrapped. A line that starts a list item or is indented (an
    example) keeps its own line; so does a paragraph marked `\\b`."""
    if not text:
        return text
    paragraphs = []
    for paragraph in inspect.cleandoc(text).split("\n\n"):
        if paragraph.startswith("\b"):
            paragraphs.append(paragraph)
            continue
        lines: list[str] = []
        for line in paragraph.split("\n"):
            # An indented line is an example, as typed: nothing is joined onto it.
            if lines and not _starts_own_line(line) and not lines[-1][:1].isspace():
                lines[-1] = f"{lines[-1]} {line.strip()}"
            else:
                lines.append(line)
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


def _starts_own_line(line: str) -> bool:
    return line[:1].isspace() or line.lstrip().startswith(("- ", "* ", "• ", "$ "))


def shows_help(root: Any, ctx: Any, args: Sequence[str]) -> bool:
    """Whether `coope ARGS` may answer with help: `-h` or `--help` is given, or the command
    words lead to a group and no further (`coope chat` shows the help of `chat`)."""
    words = args[: args.index("--")] if "--" in args else args
    if "-h" in words or "--help" in words:
        return True
    command = root
    for word in words:
        if hasattr(command, "commands"):
            command = command.get_command(ctx, word) or command
    return hasattr(command, "commands")


def usage_failure(error: Any, json: bool) -> int:
    """A usage error (or a missing file Typer checked) as one line, with where to find help."""
    message = error.format_message()
    code, exit_with = "usage", EXIT_USAGE
    missing = _missing_file(error, message)
    if missing is not None:
        code, exit_with, message = NotFound.code, exit_code(NotFound("")), f"no file {missing}"
    else:
        ctx = getattr(error, "ctx", None)
        where = f"{ctx.command_path} --help" if ctx is not None else "coope --help"
        message = f"{message.rstrip('.')} (see `{where}`)"
    output.configure(json=json)
    output.failure(code, " ".join(message.split()), exit_with)
    return exit_with


def _missing_file(error: Any, message: str) -> str | None:
    """The file named by a path option that must exist and does not."""
    import re

    param = getattr(error, "param", None)
    described = getattr(param, "type_descriptor", None)
    if described is None or not described.is_path:
        return None
    found = re.search(r"(?:^|: )\w+ '(.*)' does not exist\.$", message)
    return found.group(1) if found else None


class PlainHelpGroup(TyperGroup):
    """The root group: plain help for every command under it (`plain_help`), and one handler
    for what goes wrong before a command runs (usage errors, shell completion)."""

    help_may_show = False

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        # Before parsing, as `--help` is answered while parsing; and only when help may be
        # shown, as the walk through every command costs each run a few milliseconds.
        if shows_help(self, ctx, args):
            self.help_may_show = True
            plain_help(self, ctx)
        return super().parse_args(ctx, args)

    def prepared(self, command: Any, ctx: Any) -> Any:
        """`command`, loaded after parsing began, made plain if help may show it."""
        if self.help_may_show:
            plain_help(command, ctx)
        return command

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        import sys

        from typer._click.exceptions import ClickException, NoArgsIsHelpError

        argv = list(sys.argv[1:] if args is None else args)
        before_end = argv[: argv.index("--")] if "--" in argv else argv
        if os.environ.get(COMPLETE_VAR):
            from coope.cli import shells

            shells.register()  # the shells coope completes for, known to click
        try:
            result = super().main(argv, prog_name, COMPLETE_VAR, standalone_mode=False, **extra)
        except NoArgsIsHelpError as exc:
            if not standalone_mode:
                raise
            if exc.message:  # without Rich the help is the message; with Rich it is printed
                print(exc.message, file=sys.stderr)
            sys.exit(EXIT_USAGE)
        except ClickException as exc:
            if not standalone_mode:
                raise
            failed_in = getattr(exc, "ctx", None)
            if failed_in is not None:
                plain_help(self, failed_in)  # the message names arguments as help does
            sys.exit(usage_failure(exc, "--json" in before_end))
        except CoopeError as exc:  # raised while parsing (an option's own check)
            if not standalone_mode:
                raise
            output.configure(json="--json" in before_end)
            output.failure(exc.code, exc.message, exit_code(exc))
            sys.exit(exit_code(exc))
        except typer.Abort:
            if not standalone_mode:
                raise
            output.failure("aborted", "aborted", 1)
            sys.exit(1)
        if not standalone_mode:
            return result
        sys.exit(result if isinstance(result, int) else 0)
