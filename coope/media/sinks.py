"""What a call sounds like: a mixer of everyone's audio, written to a WAV file or played.

`AudioMixer` keeps a short buffer per person and, every 20 ms of real time, sums one 20 ms block
of each into a 48 kHz mono block for its sink: `WavSink` (a file), `SpeakerSink` (the default
output device through PortAudio) or `DiscardSink` (nowhere: a bot that only speaks). Silence is
written when nobody speaks, so a file is as long as the call.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import wave
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from coope.core.errors import InvalidInput, Unavailable
from coope.media.devices import load_sounddevice
from coope.media.pcm import FRAME_S, FRAME_SAMPLES, RATE, Samples, to_int16

Block = npt.NDArray[np.int16]

MAX_BUFFER_S = 0.3  # a person further behind than this loses their oldest audio
START_FRAMES = 2  # wait for 40 ms of someone's audio before playing it, to ride out jitter
WAV_FLUSH_BLOCKS = 25  # write a WAV file every 500 ms, off the event loop
SPEAKER_QUEUE = 10  # blocks waiting for the speaker before the oldest are dropped


class AudioSink(Protocol):
    """Where mixed audio goes: 20 ms blocks of 48 kHz mono s16."""

    async def write(self, block: Block) -> None: ...

    async def aclose(self) -> None: ...


class WavSink:
    """A mono 16-bit WAV file (48 kHz unless told), written in batches on a worker thread."""

    def __init__(self, path: Path | str, rate: int = RATE) -> None:
        self.path = Path(path)
        # Opened here, not by `wave`: a Wave_write whose open failed complains from __del__.
        try:
            self._file = open(self.path, "wb")  # closed by aclose
        except OSError as exc:
            raise InvalidInput(f"cannot write {self.path}: {exc.strerror or exc}") from exc
        self._wav = wave.open(self._file, "wb")
        self._wav.setnchannels(1)
        self._wav.setsampwidth(2)
        self._wav.setframerate(rate)
        self._pending: list[bytes] = []
        self._closed = False

    async def write(self, block: Block) -> None:
        self._pending.append(block.astype("<i2").tobytes())
        if len(self._pending) >= WAV_FLUSH_BLOCKS:
            await self._flush()

    async def _flush(self) -> None:
        data, self._pending = b"".join(self._pending), []
        if data:
            await asyncio.to_thread(self._wav.writeframes, data)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._flush()
        await asyncio.to_thread(self._close)

    def _close(self) -> None:
        try:
            self._wav.close()  # writes the final sizes into the header
        finally:
            self._file.close()


class DiscardSink:
    """Drops every block: for a participant that does not listen, or a machine without a
    speaker."""

    async def write(self, block: Block) -> None:
        pass

    async def aclose(self) -> None:
        pass


class SpeakerSink:
    """The default output device; PortAudio's thread takes the blocks from a short queue and
    plays silence when there is none."""

    def __init__(self, device: int | str | None = None) -> None:
        sd = load_sounddevice()
        self._blocks: collections.deque[Block] = collections.deque(maxlen=SPEAKER_QUEUE)
        silence = np.zeros(FRAME_SAMPLES, np.int16)

        def callback(outdata: Any, frames: int, time: Any, status: Any) -> None:
            block = self._blocks.popleft() if self._blocks else silence
            outdata[:, 0] = block[:frames] if len(block) >= frames else silence[:frames]

        try:
            self._stream: Any = sd.OutputStream(
                samplerate=RATE,
                channels=1,
                dtype="int16",
                blocksize=FRAME_SAMPLES,
                device=device,
                callback=callback,
            )
            self._stream.start()
        except sd.PortAudioError as exc:
            raise Unavailable(f"cannot open the speaker: {exc}") from exc

    async def write(self, block: Block) -> None:
        self._blocks.append(block)  # a deque's append is safe against PortAudio's thread

    async def aclose(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            await asyncio.to_thread(_close_stream, stream)


def _close_stream(stream: Any) -> None:
    with contextlib.suppress(Exception):
        stream.stop()
        stream.close()


class _Voice:
    def __init__(self) -> None:
        self.buffer: Samples = np.zeros(0, np.float32)
        self.playing = False


class AudioMixer:
    """Sum everyone's audio into 20 ms blocks; `run()` feeds the sink in real time.

    Push each person's samples (mono float32 at 48 kHz, see `coope.media.pcm.frame_to_mono`)
    with `push`; `mix()` takes the next block out (used by `run`, and by tests directly).
    """

    def __init__(self, sink: AudioSink, *, max_buffer_s: float = MAX_BUFFER_S) -> None:
        self.sink = sink
        self._voices: dict[str, _Voice] = {}
        self._max = int(max_buffer_s * RATE)
        self.blocks_written = 0

    def push(self, user: str, samples: Samples) -> None:
        voice = self._voices.setdefault(user, _Voice())
        voice.buffer = np.concatenate([voice.buffer, samples.astype(np.float32)])[-self._max :]

    def forget(self, user: str) -> None:
        self._voices.pop(user, None)

    def mix(self) -> Block:
        total = np.zeros(FRAME_SAMPLES, np.float32)
        for voice in self._voices.values():
            if not voice.playing and len(voice.buffer) < START_FRAMES * FRAME_SAMPLES:
                continue
            voice.playing = True
            chunk, voice.buffer = voice.buffer[:FRAME_SAMPLES], voice.buffer[FRAME_SAMPLES:]
            total[: len(chunk)] += chunk
            if len(voice.buffer) == 0:  # ran dry: build up a little again before playing on
                voice.playing = False
        return to_int16(total)

    async def run(self) -> None:
        """Write a block every 20 ms until cancelled (the caller closes the sink)."""
        loop = asyncio.get_running_loop()
        start, n = loop.time(), 0
        while True:
            due = start + n * FRAME_S
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            elif -wait > 10 * FRAME_S:  # the loop stalled: catch up without a burst of blocks
                start, n = loop.time(), 0
            await self.sink.write(self.mix())
            self.blocks_written += 1
            n += 1
