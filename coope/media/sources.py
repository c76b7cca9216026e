"""Audio to publish in a call: a WAV file played in real time, silence, or the microphone.

All are aiortc `MediaStreamTrack`s of 20 ms s16 frames at 48 kHz; give one to
`coope.client.calls.CallSession(audio=...)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import wave
from pathlib import Path
from typing import Any

import av
import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from av.frame import Frame
from av.packet import Packet

from coope.core.errors import InvalidInput, Unavailable
from coope.media.devices import load_sounddevice
from coope.media.pcm import FRAME_S, FRAME_SAMPLES, RATE, Samples, from_int16, make_frame, resample

MIC_QUEUE = 25  # 500 ms of microphone audio before the oldest blocks are dropped


def read_wav(path: Path) -> Samples:
    """A 16-bit mono or stereo WAV file as float32 samples of shape (n, channels) at 48 kHz.

    Other rates are resampled (linearly); other sample widths are refused with `InvalidInput`.
    """
    try:
        with wave.open(str(path), "rb") as wav:
            width, channels, rate = wav.getsampwidth(), wav.getnchannels(), wav.getframerate()
            raw = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as exc:
        raise InvalidInput(f"{path} is not a WAV file this can play: {exc}") from exc
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from exc
    if width != 2 or channels not in (1, 2):
        raise InvalidInput(
            f"{path} has {8 * width}-bit samples in {channels} channels: use 16-bit mono or"
            " stereo (e.g. `ffmpeg -i IN -ac 1 -ar 48000 -sample_fmt s16 OUT.wav`)"
        )
    samples = from_int16(np.frombuffer(raw, dtype="<i2")).reshape(-1, channels)
    return resample(samples, rate)


class SilenceSource(MediaStreamTrack):
    """Silence in real time, 20 ms a frame: for a participant with nothing to say (a bot that
    only listens, or a machine without a microphone). Sources that play something extend it."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._sent = 0  # samples sent
        self._start: float | None = None

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        wait = self._start + self._sent / RATE - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        frame = make_frame(self._next_block(self._sent), self._sent)
        self._sent += FRAME_SAMPLES
        return frame

    def _next_block(self, at: int) -> Samples:
        """The 20 ms starting at sample `at`: mono (n,) or stereo (n, 2)."""
        return np.zeros(FRAME_SAMPLES, np.float32)


class WavSource(SilenceSource):
    """A WAV file in real time, 20 ms a frame; silence once the file has been played.

    `finished` is set when the last sample of the file has been sent.
    """

    def __init__(self, path: Path | str) -> None:
        super().__init__()
        self._samples = read_wav(Path(path))
        self._channels = self._samples.shape[1]
        self.finished = asyncio.Event()

    @property
    def duration_s(self) -> float:
        return len(self._samples) / RATE

    def _next_block(self, at: int) -> Samples:
        chunk = self._samples[at : at + FRAME_SAMPLES]
        if len(chunk) < FRAME_SAMPLES:
            pad = np.zeros((FRAME_SAMPLES - len(chunk), self._channels), np.float32)
            chunk = np.concatenate([chunk, pad])
        if at + FRAME_SAMPLES >= len(self._samples):
            self.finished.set()
        return chunk[:, 0] if self._channels == 1 else chunk


class MicrophoneSource(MediaStreamTrack):
    """The default input device through PortAudio (`sounddevice`), mono, 20 ms a frame.

    The device is opened at once and paces the frames; its audio goes to `loop` (by default
    the running one: pass it when creating this in a thread, since opening blocks).
    Raises `Unavailable` when PortAudio or the device is missing or cannot be opened.
    """

    kind = "audio"

    def __init__(
        self, device: int | str | None = None, *, loop: asyncio.AbstractEventLoop | None = None
    ) -> None:
        super().__init__()
        self._queue: asyncio.Queue[Samples] = asyncio.Queue(MIC_QUEUE)
        self._pts = 0
        sd = load_sounddevice()
        loop = loop or asyncio.get_running_loop()

        def push(block: Samples) -> None:
            if self._queue.full():  # the sender fell behind: drop the oldest, keep it live
                self._queue.get_nowait()
            self._queue.put_nowait(block)

        def callback(indata: Any, frames: int, time: Any, status: Any) -> None:
            # PortAudio's thread: hand a copy over to the event loop (gone once closing).
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(push, from_int16(indata[:, 0].copy()))

        try:
            self._stream: Any = sd.InputStream(
                samplerate=RATE,
                channels=1,
                dtype="int16",
                blocksize=FRAME_SAMPLES,
                device=device,
                callback=callback,
            )
            self._stream.start()
        except sd.PortAudioError as exc:
            raise Unavailable(f"cannot open the microphone: {exc}") from exc

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        try:
            block = await asyncio.wait_for(self._queue.get(), 20 * FRAME_S)
        except TimeoutError:  # the device stalled: keep the stream going with silence
            block = np.zeros(FRAME_SAMPLES, np.float32)
        frame = make_frame(block, self._pts)
        self._pts += len(block)
        return frame

    def stop(self) -> None:
        """Stop the track and close the device (blocks briefly: PortAudio waits for its
        thread)."""
        super().stop()
        stream, self._stream = self._stream, None
        if stream is not None:
            with contextlib.suppress(Exception):
                stream.stop()
                stream.close()


class MuteSwitch(MediaStreamTrack):
    """Another audio track, or silence in its place while `muted`: what a mute button sends.

    The wrapped track is still read while muted, so a microphone's queue keeps draining and
    the timing (pts) runs on unbroken; only the samples are zeroed. Stopping this stops it.
    """

    kind = "audio"

    def __init__(self, source: MediaStreamTrack) -> None:
        super().__init__()
        self.source = source
        self.muted = False

    async def recv(self) -> Frame | Packet[Any]:
        if self.readyState != "live":
            raise MediaStreamError
        frame = await self.source.recv()
        if not self.muted or not isinstance(frame, av.AudioFrame):
            return frame
        return silent_like(frame)

    def stop(self) -> None:
        super().stop()
        self.source.stop()


def silent_like(frame: av.AudioFrame) -> av.AudioFrame:
    """A frame of silence in `frame`'s format, layout, rate and time: an encoder that has
    seen the one takes the other without being set up again."""
    silent = av.AudioFrame(
        format=frame.format.name, layout=frame.layout.name, samples=frame.samples
    )
    for plane in silent.planes:
        plane.update(bytes(plane.buffer_size))
    silent.pts = frame.pts
    silent.sample_rate = frame.sample_rate
    silent.time_base = frame.time_base
    return silent
