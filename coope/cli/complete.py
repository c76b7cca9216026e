"""Shell completion: `coope completion bash|zsh|fish` prints the script, and the arguments that
name rooms, friends, workspaces and pages complete to what the daemon knows.

A completer runs on every Tab: it asks the daemon with a short timeout (2 s, or
`COOPE_COMPLETION_TIMEOUT` seconds), keeps the answer a minute in
`$XDG_CACHE_HOME/coope/completion/` (one file per server, login and kind, mode 0600 in 0700
directories), and on any failure offers what it had, or nothing: a traceback must never reach
the shell. A failure is remembered a few seconds, so that a daemon that does not answer costs
one timeout, not one on every Tab. How each shell gets the names quoted is `shells`' part.

Every command imports this module (for its arguments' completers): what only completing needs
is imported when it is needed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from coope.cli import output, runtime

if TYPE_CHECKING:
    from coope.client import CoopeClient

CACHE_TTL_S = 60.0
FAILURE_TTL_S = 10.0
TIMEOUT_S = 2.0
TIMEOUT_ENV = "COOPE_COMPLETION_TIMEOUT"

Fetch = Callable[["CoopeClient"], Awaitable[list[str]]]


class Shell(StrEnum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


INSTALL_HINTS = {
    Shell.bash: 'to complete in every new bash, add to ~/.bashrc:  eval "$(coope completion bash)"',
    Shell.zsh: "to complete in every new zsh, add to ~/.zshrc (after compinit):"
    '  eval "$(coope completion zsh)"',
    Shell.fish: "to complete in every new fish:"
    "  coope completion fish > ~/.config/fish/completions/coope.fish",
}


@runtime.command(login=None)
def completion(
    shell: Annotated[Shell, typer.Argument(help="The shell to complete in.")],
) -> None:
    """Print the script that makes SHELL complete coope's commands, options and names (rooms,
    friends, workspaces, pages); how to install it goes to stderr."""
    from typer._completion_shared import get_completion_script

    script = get_completion_script(
        prog_name="coope", complete_var=runtime.COMPLETE_VAR, shell=shell.value
    )
    print(script)
    output.note(INSTALL_HINTS[shell])


# --- what arguments complete to ---------------------------------------------------------------


async def _rooms(client: CoopeClient) -> list[str]:
    from coope.client.names import room_label

    return [room_label(room) for room in await client.chat.rooms()]


async def _friends(client: CoopeClient) -> list[str]:
    return [friend.user.username for friend in await client.friends.list()]


async def _workspaces(client: CoopeClient) -> list[str]:
    return [workspace.name for workspace in await client.workspaces.list()]


async def _pages(client: CoopeClient) -> list[str]:
    entries = await client.pages.entries(await client.workspaces.list())
    return [entry.path for entry in entries]


def rooms(ctx: typer.Context | None, incomplete: str) -> list[str]:
    """`@friend` and `#room` names of your rooms."""
    return names(ctx, "rooms", _rooms, incomplete)


def friends(ctx: typer.Context | None, incomplete: str) -> list[str]:
    """Your friends' usernames."""
    return names(ctx, "friends", _friends, incomplete)


def workspaces(ctx: typer.Context | None, incomplete: str) -> list[str]:
    """The names of your workspaces."""
    return names(ctx, "workspaces", _workspaces, incomplete)


def pages(ctx: typer.Context | None, incomplete: str) -> list[str]:
    """Title paths (`WS/Parent/Child`) of the pages in your workspaces."""
    return names(ctx, "pages", _pages, incomplete)


def names(ctx: typer.Context | None, kind: str, fetch: Fetch, incomplete: str) -> list[str]:
    """The names of `kind` that start with `incomplete`: fresh from the cache, else from the
    daemon, else what the cache had; [] when nothing can be had (never an exception)."""
    try:
        server, token = _connection(ctx)
        key = _login_key(server, token)
        cache = cache_dir() / f"{key}-{kind}.json"
        found = _cached(cache, fresh=True)
        if found is None:
            failed = cache_dir() / f"{key}.failed"
            found = None if _recent(failed) else _asked(server, token, fetch)
            if found is not None:
                _keep(cache, found)
            else:
                _keep(failed, [])
                found = _cached(cache, fresh=False) or []
    except Exception:  # whatever happens, the shell gets no traceback
        return []
    return sorted(name for name in found if name.startswith(incomplete))


def _connection(ctx: typer.Context | None) -> tuple[str, str | None]:
    """The server and token the completed command would use, by the rule a command that runs
    follows (`runtime.login_options`), else the saved login."""
    from coope.client.profiles import PROFILE_ENV, Profiles

    if ctx is None:  # asked outside a command line: the environment alone
        server, token, profile = (
            os.environ.get(name) or None for name in ("COOPE_SERVER", "COOPE_TOKEN", PROFILE_ENV)
        )
    else:
        root = ctx.find_root()
        before = {} if root is ctx else root.params
        server, token, profile = runtime.login_options(ctx, before)
    target = Profiles().target(server, token, profile, need_login=False)
    return target.server, target.token


def _asked(server: str, token: str | None, fetch: Fetch) -> list[str] | None:
    """The daemon's answer within `TIMEOUT_S`, or None."""
    import asyncio

    from coope.client import CoopeClient

    async def ask() -> list[str]:
        timeout = float(os.environ.get(TIMEOUT_ENV) or TIMEOUT_S)
        async with CoopeClient(server, token, timeout=timeout) as client:
            return await asyncio.wait_for(fetch(client), timeout)

    try:
        return asyncio.run(ask())
    except Exception:  # no daemon, no login, a timeout: nothing to offer
        return None


# --- the cache ---------------------------------------------------------------------------------


def cache_dir() -> Path:
    return _cache_base() / "coope" / "completion"


def _cache_base() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache"))


def forget(server: str, token: str | None) -> None:
    """Delete what completion keeps for this login (it has logged out, or is forgotten)."""
    import contextlib

    key = _login_key(server, token)
    with contextlib.suppress(OSError):  # a cache that cannot be cleaned is no reason to fail
        for path in [*cache_dir().glob(f"{key}-*.json"), cache_dir() / f"{key}.failed"]:
            path.unlink(missing_ok=True)


def _login_key(server: str, token: str | None) -> str:
    # The files are named by a hash of the login, so one account never completes another's
    # names; the token itself is not written anywhere.
    import hashlib

    return hashlib.sha256(f"{server}\0{token or ''}".encode()).hexdigest()[:24]


def _recent(path: Path) -> bool:
    """Whether the failure marked at `path` is recent enough to be believed still."""
    try:
        return 0 <= time.time() - path.stat().st_mtime < FAILURE_TTL_S
    except OSError:
        return False


def _cached(path: Path, *, fresh: bool) -> list[str] | None:
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        at, found = float(data["at"]), data["names"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(found, list) or not all(isinstance(n, str) for n in found):
        return None
    if fresh and not 0 <= time.time() - at < CACHE_TTL_S:
        return None
    return found


def _keep(path: Path, found: list[str]) -> None:
    import contextlib
    import json
    import tempfile

    _private_dirs(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".names-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"at": time.time(), "names": found}, f)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _private_dirs(path: Path) -> None:
    """Make `path` and the directories above it that are missing, each 0700 (`mkdir(parents=
    True)` would make only the last one so)."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for directory in reversed(missing):
        directory.mkdir(mode=0o700, exist_ok=True)
