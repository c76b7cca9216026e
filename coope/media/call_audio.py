"""A participant's audio in a call, as `coope call join` and `coope tui` both have it.

`open_source` and `open_sink` pick what is sent and where what is heard goes: WAV files, a
device (the default one or one named), or, when only the other side is a file and this side
has no device, silence sent or what is heard discarded (with a warning to show). `CallAudio`
then carries the call's audio: the source behind a `MuteSwitch`, everyone's audio mixed into
the sink, and each person's level for the speaking indicators.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from coope.media.choice import AudioChoice
from coope.media.devices import missing_audio_device
from coope.media.levels import LevelMeter
from coope.media.pcm import frame_to_mono
from coope.media.sinks import AudioMixer, AudioSink, DiscardSink, SpeakerSink, WavSink
from coope.media.sources import MicrophoneSource, MuteSwitch, SilenceSource, WavSource

if TYPE_CHECKING:
    from aiortc import MediaStreamTrack
    from av import AudioFrame


def open_source(
    choice: AudioChoice,
    warn: Callable[[str], None],
    loop: asyncio.AbstractEventLoop | None = None,
) -> MediaStreamTrack:
    """What to send: the input file, else the device; silence (said through `warn`) when an
    output file is given and there is no microphone.

    Opening a device blocks (PortAudio): called in a thread, pass the event loop the
    microphone's audio goes to.
    """
    if choice.input is not None:
        return WavSource(choice.input)
    if choice.output is not None and choice.device is None:
        if problem := missing_audio_device("input"):
            warn(f"{problem}: sending silence (--input FILE.wav sends a file)")
            return SilenceSource()
    return MicrophoneSource(choice.device, loop=loop)


def open_sink(choice: AudioChoice, warn: Callable[[str], None]) -> AudioSink:
    """Where what is heard goes: the output file, else the device; nowhere (said through
    `warn`) when an input file is given and there is no speaker."""
    if choice.output is not None:
        return WavSink(choice.output)
    if choice.input is not None and choice.device is None:
        if problem := missing_audio_device("output"):
            warn(f"{problem}: what is heard is discarded (--output FILE.wav keeps it)")
            return DiscardSink()
    return SpeakerSink(choice.device)


@dataclass
class CallAudio:
    """One participant's audio in a call: give `source` to the call as its audio and
    `on_audio` as its callback, run `mixer.run()` beside it, and `aclose()` at the end.

    `muted` silences what is sent (the source keeps being read, so a microphone does not
    back up); `meter` has everyone's level, for speaking indicators.
    """

    sent: MediaStreamTrack
    sink: AudioSink
    clock: Callable[[], float]
    source: MuteSwitch = field(init=False)
    meter: LevelMeter = field(init=False)
    mixer: AudioMixer = field(init=False)

    def __post_init__(self) -> None:
        self.source = MuteSwitch(self.sent)
        self.meter = LevelMeter(self.clock)
        self.mixer = AudioMixer(self.sink)

    @property
    def muted(self) -> bool:
        return self.source.muted

    @muted.setter
    def muted(self, muted: bool) -> None:
        self.source.muted = muted

    def on_audio(self, user: str, frame: AudioFrame) -> None:
        samples = frame_to_mono(frame)
        self.mixer.push(user, samples)
        self.meter.push(user, samples)

    def forget(self, user: str) -> None:
        """Someone left: their level and what was left of their audio go."""
        self.mixer.forget(user)
        self.meter.forget(user)

    async def aclose(self) -> None:
        """Stop sending (closing a device) and close the sink (finishing a file)."""
        try:
            # A microphone's stop blocks briefly (PortAudio waits for its thread): off the loop.
            await asyncio.to_thread(self.source.stop)
        finally:
            await self.sink.aclose()
