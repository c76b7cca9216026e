"""Speech-to-text: the interface every engine implements."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from coope.notes.transcript import Segment


class Transcriber(Protocol):
    """Transcribes one speaker's whole track. May block: callers run it in a thread.

    Segment times are seconds from the start of the file; `speaker` labels every segment.
    Engine failures raise `coope.core.errors.Unavailable` (engine missing or unreachable) or
    `InvalidInput` (a file it cannot read), with a message that says what to do.
    """

    name: str

    def transcribe(self, path: Path, speaker: str) -> list[Segment]: ...
