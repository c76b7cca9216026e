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
from coope.cli.audio_args import DeviceOpt, InputOpt, OutputOpt

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
    input: InputOpt = None,
    output: OutputOpt = None,
    device: DeviceOpt = None,
) -> None:
    """Open the terminal UI: rooms, friends, pages, chat and calls, live.

    Calls use the microphone and speaker, or WAV files as `coope call join` does:
    --input and --output name them, --device names another device.
    """
    given = {
        "--server": server,
        "--token": token,
        "--profile": profile,
        "--input": str(input) if input is not None else None,
        "--output": str(output) if output is not None else None,
        "--device": device,
    }
    options = [part for flag, value in given.items() if value is not None for part in (flag, value)]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "coope.tui", *options])
