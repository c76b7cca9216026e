"""coope.media for a participant: the mute switch, choosing sources and sinks from the options,
and `CallAudio` (what the CLI's `call join` and the TUI's calls share)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from coope.core.errors import Unavailable
from coope.media import devices
from coope.media.call_audio import CallAudio, open_sink, open_source
from coope.media.choice import AudioChoice, parse_device
from coope.media.pcm import FRAME_SAMPLES, frame_to_mono, make_frame
from coope.media.sinks import DiscardSink, WavSink
from coope.media.sources import MuteSwitch, SilenceSource, WavSource
from tests.media.audio import tone, write_wav


async def test_muted_sends_silence_in_the_same_format_and_time(tmp_path: Path) -> None:
    stereo = np.stack([tone(440, 1.0), tone(1000, 1.0)], axis=1)
    switch = MuteSwitch(WavSource(write_wav(tmp_path / "s.wav", stereo)))
    try:
        loud = await switch.recv()
        switch.muted = True
        quiet = await switch.recv()
        switch.muted = False
        again = await switch.recv()
    finally:
        switch.stop()
    assert isinstance(loud, av.AudioFrame) and isinstance(quiet, av.AudioFrame)
    assert isinstance(again, av.AudioFrame)
    assert float(np.abs(frame_to_mono(loud)).max()) > 0.1
    assert float(np.abs(quiet.to_ndarray()).max()) == 0
    assert float(np.abs(frame_to_mono(again)).max()) > 0.1
    # An encoder set up for the first frame takes the silent one as it is.
    assert (quiet.format.name, quiet.layout.name, quiet.sample_rate, quiet.samples) == (
        loud.format.name,
        loud.layout.name,
        loud.sample_rate,
        loud.samples,
    )
    assert [loud.pts, quiet.pts, again.pts] == [0, FRAME_SAMPLES, 2 * FRAME_SAMPLES]
    assert switch.source.readyState == "ended"  # stopping the switch stops what it wraps


def test_devices_are_named_by_number_or_name() -> None:
    assert parse_device(None) is None
    assert parse_device(" ") is None
    assert parse_device("3") == 3
    assert parse_device(" USB headset ") == "USB headset"


def no_portaudio(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing() -> None:
        raise Unavailable(devices.PORTAUDIO_MISSING)

    monkeypatch.setattr(devices, "load_sounddevice", missing)


async def test_files_or_devices_and_what_is_said_without_hardware(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_portaudio(monkeypatch)
    with pytest.raises(Unavailable, match="PortAudio"):
        AudioChoice().check()  # the microphone and speaker: said before anything opens
    AudioChoice(device=2).check()  # a device named is looked for when it is opened
    warnings: list[str] = []
    wav = write_wav(tmp_path / "in.wav", tone(440, 0.1))

    only_in = AudioChoice(input=wav)
    only_in.check()
    source = open_source(only_in, warnings.append)
    sink = open_sink(only_in, warnings.append)
    assert isinstance(source, WavSource) and isinstance(sink, DiscardSink)
    assert warnings == [
        "the PortAudio library was not found: what is heard is discarded"
        " (--output FILE.wav keeps it)"
    ]
    source.stop()

    warnings.clear()
    only_out = AudioChoice(output=tmp_path / "out.wav")
    source = open_source(only_out, warnings.append)
    sink = open_sink(only_out, warnings.append)
    assert isinstance(source, SilenceSource) and isinstance(sink, WavSink)
    assert warnings == [
        "the PortAudio library was not found: sending silence (--input FILE.wav sends a file)"
    ]
    source.stop()
    await sink.aclose()


async def test_call_audio_mixes_what_is_heard_and_measures_who_speaks(tmp_path: Path) -> None:
    now = [0.0]
    sink = WavSink(tmp_path / "heard.wav")
    audio = CallAudio(SilenceSource(), sink, lambda: now[0])
    for pts in range(0, 5 * FRAME_SAMPLES, FRAME_SAMPLES):
        audio.on_audio("bob", make_frame(tone(440, 0.02), pts))
    assert audio.meter.speaking("bob")
    assert float(np.abs(audio.mixer.mix()).max()) > 0
    audio.muted = True
    assert audio.source.muted
    audio.forget("bob")
    assert not audio.meter.speaking("bob")
    assert float(np.abs(audio.mixer.mix()).max()) == 0
    await audio.aclose()
    assert audio.source.readyState == "ended"
