"""coope.media: WAV sources in real time, frame conversion, the mixer, level meters, devices."""

from __future__ import annotations

import asyncio
import math
import time
import wave
from pathlib import Path

import av
import numpy as np
import pytest

from coope.core.errors import InvalidInput, Unavailable
from coope.media.devices import (
    PORTAUDIO_MISSING,
    load_sounddevice,
    no_device_message,
    require_audio_devices,
)
from coope.media.levels import SPEAKING_RMS, LevelMeter
from coope.media.pcm import FRAME_SAMPLES, RATE, frame_to_mono, make_frame
from coope.media.sinks import MAX_BUFFER_S, AudioMixer, DiscardSink, WavSink
from coope.media.sources import SilenceSource, WavSource, read_wav
from tests.helpers import assert_eventually
from tests.media.audio import band_energy, read_mono, tone, write_wav


def test_read_wav_mono_and_stereo(tmp_path: Path) -> None:
    mono = write_wav(tmp_path / "mono.wav", tone(440, 0.5))
    samples = read_wav(mono)
    assert samples.shape == (RATE // 2, 1)
    assert samples.dtype == np.float32
    assert abs(float(np.abs(samples).max()) - 0.3) < 0.01

    left, right = tone(440, 0.5), tone(1000, 0.5)
    stereo = write_wav(tmp_path / "stereo.wav", np.stack([left, right], axis=1))
    both = read_wav(stereo)
    assert both.shape == (RATE // 2, 2)
    assert band_energy(both[:, 0], 440) > 50 * band_energy(both[:, 0], 1000)
    assert band_energy(both[:, 1], 1000) > 50 * band_energy(both[:, 1], 440)


def test_read_wav_resamples_other_rates(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "16k.wav", tone(440, 1.0, rate=16_000), rate=16_000)
    samples = read_wav(path)[:, 0]
    assert len(samples) == RATE  # still one second
    assert band_energy(samples, 440) > 50 * band_energy(samples, 1000)


def test_read_wav_refuses_what_it_cannot_play(tmp_path: Path) -> None:
    eight_bit = tmp_path / "8bit.wav"
    with wave.open(str(eight_bit), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(1)
        wav.setframerate(RATE)
        wav.writeframes(bytes(100))
    with pytest.raises(InvalidInput, match="8-bit samples in 1 channels: use 16-bit"):
        read_wav(eight_bit)
    text = tmp_path / "notes.wav"
    text.write_text("not audio")
    with pytest.raises(InvalidInput, match="is not a WAV file"):
        read_wav(text)
    with pytest.raises(InvalidInput, match="cannot read"):
        read_wav(tmp_path / "missing.wav")


async def test_wav_source_is_paced_in_real_time_then_sends_silence(tmp_path: Path) -> None:
    source = WavSource(write_wav(tmp_path / "tone.wav", tone(440, 0.1)))  # five frames
    assert source.duration_s == pytest.approx(0.1)
    started = time.monotonic()
    frames = [await source.recv() for _ in range(25)]
    elapsed = time.monotonic() - started
    # 25 frames of 20 ms: the first goes at once, the last 480 ms later.
    assert 0.45 <= elapsed < 0.8, elapsed
    for i, frame in enumerate(frames):
        assert isinstance(frame, av.AudioFrame)
        assert (frame.samples, frame.sample_rate, frame.format.name) == (FRAME_SAMPLES, RATE, "s16")
        assert frame.layout.name == "mono"
        assert frame.pts == i * FRAME_SAMPLES
    assert source.finished.is_set()
    heard = np.concatenate([frame_to_mono(f) for f in frames])
    assert band_energy(heard[: RATE // 10], 440) > 50 * band_energy(heard[: RATE // 10], 1000)
    assert not heard[RATE // 10 :].any()  # silence after the file
    source.stop()


async def test_silence_source_is_paced_silence_and_discard_sink_takes_anything() -> None:
    source = SilenceSource()
    started = time.monotonic()
    frames = [await source.recv() for _ in range(10)]
    assert 0.15 <= time.monotonic() - started < 0.5  # the last of ten 20 ms frames at 180 ms
    assert [f.pts for f in frames] == [i * FRAME_SAMPLES for i in range(10)]
    assert all(f.samples == FRAME_SAMPLES and f.layout.name == "mono" for f in frames)
    assert not np.concatenate([frame_to_mono(f) for f in frames]).any()
    source.stop()
    sink = DiscardSink()
    mixer = AudioMixer(sink)
    mixer.push("ann", tone(440, 0.1))
    await sink.write(mixer.mix())
    await sink.aclose()


async def test_wav_source_keeps_stereo(tmp_path: Path) -> None:
    stereo = np.stack([tone(440, 0.04), tone(1000, 0.04)], axis=1)
    source = WavSource(write_wav(tmp_path / "stereo.wav", stereo))
    frame = await source.recv()
    assert frame.layout.name == "stereo"
    packed = frame.to_ndarray().reshape(-1, 2)
    assert np.allclose(packed[:, 0] / 32767, stereo[:FRAME_SAMPLES, 0], atol=1e-3)
    assert np.allclose(packed[:, 1] / 32767, stereo[:FRAME_SAMPLES, 1], atol=1e-3)
    source.stop()


def test_frame_to_mono_reads_decoded_frames() -> None:
    samples = tone(440, FRAME_SAMPLES / RATE)
    # What aiortc's Opus decoder hands out: packed s16 stereo at 48 kHz.
    stereo = make_frame(np.stack([samples, samples], axis=1), 0)
    assert np.allclose(frame_to_mono(stereo), samples, atol=1e-3)
    planar = av.AudioFrame.from_ndarray(
        np.stack([samples, -samples]).astype(np.float32), format="fltp", layout="stereo"
    )
    planar.sample_rate = RATE
    assert np.allclose(frame_to_mono(planar), 0, atol=1e-6)  # the channels cancel out
    slow = av.AudioFrame.from_ndarray(
        (tone(440, 0.02, rate=16_000) * 32767).astype(np.int16).reshape(1, -1),
        format="s16",
        layout="mono",
    )
    slow.sample_rate = 16_000
    assert len(frame_to_mono(slow)) == FRAME_SAMPLES


class ListSink:
    def __init__(self) -> None:
        self.blocks: list[np.ndarray] = []
        self.closed = False

    async def write(self, block: np.ndarray) -> None:
        self.blocks.append(block)

    async def aclose(self) -> None:
        self.closed = True


def test_mixer_sums_people_after_a_short_buffer() -> None:
    mixer = AudioMixer(ListSink())
    a, b = tone(440, 0.1, amplitude=0.2), tone(1000, 0.1, amplitude=0.2)
    mixer.push("ann", a[:FRAME_SAMPLES])
    assert not mixer.mix().any()  # 20 ms is not enough to start on
    mixer.push("ann", a[FRAME_SAMPLES : 2 * FRAME_SAMPLES])
    mixer.push("ben", b[: 2 * FRAME_SAMPLES])
    first = mixer.mix().astype(np.float32) / 32767
    assert np.allclose(first, a[:FRAME_SAMPLES] + b[:FRAME_SAMPLES], atol=1e-3)
    second = mixer.mix().astype(np.float32) / 32767
    window = slice(FRAME_SAMPLES, 2 * FRAME_SAMPLES)
    assert np.allclose(second, a[window] + b[window], atol=1e-3)
    assert not mixer.mix().any()  # both ran dry


def test_mixer_clips_and_drops_what_is_too_far_behind() -> None:
    mixer = AudioMixer(ListSink())
    loud = np.full(RATE, 0.8, np.float32)  # a whole second
    mixer.push("ann", loud)
    mixer.push("ben", loud)
    assert int(mixer.mix().max()) == 32767  # 1.6 clipped, not wrapped around
    blocks = 1
    while mixer.mix().any():
        blocks += 1
    assert blocks == round(MAX_BUFFER_S * RATE / FRAME_SAMPLES)


async def test_mixer_writes_a_wav_file_in_real_time(tmp_path: Path) -> None:
    path = tmp_path / "heard.wav"
    sink = WavSink(path)
    mixer = AudioMixer(sink)
    mixer.push("ann", tone(1000, 0.2))
    wanted = round(0.6 * RATE / FRAME_SAMPLES)
    started = time.monotonic()
    task = asyncio.create_task(mixer.run())
    await assert_eventually(lambda: mixer.blocks_written >= wanted, what="0.6 s written")
    elapsed = time.monotonic() - started
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await sink.aclose()
    samples, rate = read_mono(path)
    assert rate == RATE
    assert len(samples) == mixer.blocks_written * FRAME_SAMPLES
    # Real time: never ahead of the clock (a busy machine may leave it behind, never before).
    assert 0.6 <= len(samples) / RATE <= elapsed + 0.1
    assert band_energy(samples, 1000) > 50 * band_energy(samples, 440)
    assert not samples[int(0.3 * RATE) :].any()  # silence once ann's 200 ms are played


def test_wav_sink_names_an_unwritable_path(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="cannot write"):
        WavSink(tmp_path / "no" / "such" / "dir.wav")


def test_level_meter_measures_the_last_300_ms() -> None:
    now = [100.0]
    meter = LevelMeter(lambda: now[0])
    assert meter.level("ann") == 0.0
    meter.push("ann", tone(440, 0.1, amplitude=0.5))
    assert meter.level("ann") == pytest.approx(0.5 / math.sqrt(2), rel=0.02)
    assert meter.speaking("ann")
    now[0] += 0.2
    meter.push("ann", np.zeros(4800, np.float32))  # 100 ms of silence halves the energy
    assert meter.level("ann") == pytest.approx(0.5 / 2, rel=0.02)
    now[0] += 0.25  # the tone is older than 300 ms now
    assert meter.level("ann") == 0.0
    assert not meter.speaking("ann")
    meter.push("ben", tone(440, 0.1, amplitude=SPEAKING_RMS))  # RMS below the threshold
    assert not meter.speaking("ben")


def test_no_devices_needed_means_no_portaudio_needed() -> None:
    require_audio_devices(input=False, output=False)  # never even loads PortAudio


def test_require_audio_devices_names_what_is_missing() -> None:
    """On this machine, whatever it has: PortAudio missing, devices missing, or all there."""
    try:
        require_audio_devices()
    except Unavailable as exc:
        assert exc.message in {
            PORTAUDIO_MISSING,
            no_device_message(["input"]),
            no_device_message(["output"]),
            no_device_message(["input", "output"]),
        }
        assert "--input FILE.wav --output FILE.wav" in exc.message
        if exc.message == PORTAUDIO_MISSING:
            assert "apt-get install libportaudio2" in exc.message
            with pytest.raises(Unavailable):
                load_sounddevice()
    else:
        sd = load_sounddevice()
        assert sd.query_devices(kind="input") and sd.query_devices(kind="output")


def test_device_messages() -> None:
    assert no_device_message(["input"]) == (
        "no audio input device (microphone) was found:"
        " use --input FILE.wav --output FILE.wav to call with audio files"
    )
    assert "input device (microphone) and no output device (speaker)" in no_device_message(
        ["input", "output"]
    )
