"""Where a participant's audio comes from and goes (files, a device, the defaults), as the
front ends' options say it. Light: nothing here loads numpy, aiortc or PortAudio."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

Device = int | str | None
"""A sound device by index or (part of its) name; None for the system's default."""


@dataclass(frozen=True)
class AudioChoice:
    """`--input WAV`, `--output WAV`, `--device D`.

    Args:
        input: Send this WAV file (then silence) instead of the microphone.
        output: Write what is heard into this WAV file instead of playing it.
        device: The device for whichever side is not a file (None: the defaults).
    """

    input: Path | None = None
    output: Path | None = None
    device: Device = None

    def check(self) -> None:
        """With no file on either side and no device named, the default devices are needed:
        `Unavailable` says what is missing (the PortAudio library, a microphone, a speaker)
        before anything is opened."""
        from coope.media.devices import require_audio_devices

        if self.input is None and self.output is None and self.device is None:
            require_audio_devices(input=True, output=True)


def parse_device(text: str | None) -> Device:
    """A device as typed: a number is an index, anything else (part of) a name."""
    if text is None or not text.strip():
        return None
    return int(text) if text.strip().isdigit() else text.strip()
