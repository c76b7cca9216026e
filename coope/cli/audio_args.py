"""The audio options of the commands that join calls (`coope call join`, `coope tui`): one
declaration, so their names and help cannot drift apart."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

InputOpt = Annotated[
    Path | None,
    typer.Option(
        "--input",
        exists=True,
        dir_okay=False,
        readable=True,
        help="Send this WAV file (16-bit, mono or stereo), then silence, instead of the"
        " microphone. Without a speaker, what is heard is then discarded.",
    ),
]
OutputOpt = Annotated[
    Path | None,
    typer.Option(
        "--output",
        dir_okay=False,
        help="Write what you hear (everyone mixed, 48 kHz mono WAV) instead of playing it."
        " Without a microphone, silence is then sent.",
    ),
]
DeviceOpt = Annotated[
    str | None,
    typer.Option(
        "--device",
        help="The sound device (its number, or part of its name as `python -m sounddevice`"
        " lists them) for whichever side is not a file; default: the system's.",
    ),
]
