"""What every command shares: the common options, the client, and the one error handler."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, overload

import typer
from typer.core import TyperGroup

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
    RateLimited,
    Unauthenticated,
    Unavailable,
)

if TYPE_CHECKING:
    from coope.client import CoopeClient

T = TypeVar("T")


def _connection_option(flag: str, env: str, help: str) -> Any:
    option = typer.Option(flag, envvar=env, show_envvar=True, help=help)
    return Annotated[str | None, option]


ServerOpt = _connection_option(
    "--server",
    "COOPE_SERVER",
    "Daemon URL (default: the server of the last login, else http://127.0.0.1:8765).",
)
TokenOpt = _connection_option(
    "--token", "COOPE_TOKEN", "Session or API token (default: the saved login for the server)."
)
ProfileOpt = _connection_option(
    "--profile", PROFILE_ENV, "Use this saved login (see `coope profile list`)."
)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]

# Exit codes by error family, documented in `coope --help` and the README.
EXIT_CODES: list[tuple[type[CoopeError], int]] = [
    (Unauthenticated, 3),
    (Forbidden, 4),
    (NotFound, 5),
    (Conflict, 6),
    (InvalidInput, 7),
    (BadRequest, 7),
    (RateLimited, 8),
    (DaemonUnreachable, 9),
    (Unavailable, 9),
]
EXIT_HELP = (
    "Exit codes: 0 ok, 1 internal error, 2 usage, 3 not logged in / bad credentials, "
    "4 forbidden, 5 not found, 6 conflict, 7 invalid input, 8 rate limited, 9 unavailable (the"
    " daemon, an OpenAI-compatible server, an audio device or engine)."
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
    """Every coope error as one `error: ...` line and its exit code; Ctrl-C as exit 130."""
    try:
        yield
    except CoopeError as exc:
        output.error(exc.message)
        raise typer.Exit(exit_code(exc)) from None
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
    if password_stdin:
        import sys

        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise InvalidInput("--password-stdin: no password on standard input")
        return line
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
]


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
        if name not in declared and (name in takes if name == "json" else login is not None)
    ]

    def typer_command(**values: Any) -> None:
        # The shared options the function does not declare itself pick the connection.
        ctx: typer.Context = values.pop(_CONTEXT)
        server, token, profile = (
            None if name in declared else values.pop(name, None)
            for name in ("server", "token", "profile")
        )
        if not inspect.iscoroutinefunction(fn):  # a command that never reaches a daemon
            with handled_errors():
                fn(**values)
            return
        if profile and _from_environment(ctx, "profile") is False:
            # A profile named on the command line is what the person means now: a server or
            # token left in the environment for another purpose must not go with it.
            server = None if _from_environment(ctx, "server") else server
            token = None if _from_environment(ctx, "token") else token

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


def plain_help_types(command: Any, ctx: Any) -> None:
    """No type shown beside a flag in help (`--json` takes no value, so `<bool>` misleads),
    for `command` and everything under it."""
    params = [*getattr(command, "params", []), command.get_help_option(ctx)]
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    for sub in getattr(command, "commands", {}).values():
        plain_help_types(sub, ctx)


class PlainHelpGroup(TyperGroup):
    """The root group: help of every command under it drawn with `plain_help_types`."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        plain_help_types(self, ctx)  # before parsing: `--help` is answered while parsing
        return super().parse_args(ctx, args)
