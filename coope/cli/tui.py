"""`coope tui`: the terminal UI, started as `python -m coope.tui` in place of this process.

The CLI and the TUI never import each other (Textual stays out of `coope --help`): this command
only hands its options over. Options left out are read from the environment by the TUI itself.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from coope.cli import runtime

# No `envvar=` here: the TUI reads the environment itself, and tells an option given on the
# command line from one left in the environment (a profile named here beats both variables).
ServerOpt = Annotated[str | None, typer.Option(help="Daemon URL. (env: COOPE_SERVER)")]
TokenOpt = Annotated[str | None, typer.Option(help="Session or API token. (env: COOPE_TOKEN)")]
ProfileOpt = Annotated[str | None, typer.Option(help="Use this saved login. (env: COOPE_PROFILE)")]


@runtime.command(login=None)
def tui(
    server: ServerOpt = None,
    token: TokenOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Open the terminal UI: rooms, friends, pages and chat, live."""
    given = {"--server": server, "--token": token, "--profile": profile}
    options = [part for flag, value in given.items() if value is not None for part in (flag, value)]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "coope.tui", *options])
