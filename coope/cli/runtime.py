"""What every command shares: the common options, the client, and the one error handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from coope.cli import credentials, output
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

ServerOpt = Annotated[
    str | None,
    typer.Option(
        "--server",
        envvar="COOPE_SERVER",
        show_envvar=True,
        help="Daemon URL (default: the last one logged in to, else http://127.0.0.1:8765).",
    ),
]
TokenOpt = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="COOPE_TOKEN",
        show_envvar=True,
        help="Session or API token (default: the saved login for the server).",
    ),
]
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


def resolve_server(server: str | None) -> str:
    from coope.client import DEFAULT_SERVER

    return (server or credentials.default_server() or DEFAULT_SERVER).rstrip("/")


def client(server: str | None, token: str | None, *, need_login: bool = True) -> CoopeClient:
    """A client for the chosen server, with the explicit token or the saved login."""
    from coope.client import CoopeClient

    url = resolve_server(server)
    if token is None:
        saved = credentials.saved_login(url)
        token = saved["token"] if saved else None
    if token is None and need_login:
        raise Unauthenticated(f"not logged in to {url}: run `coope login USER` or pass --token")
    return CoopeClient(url, token)


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
