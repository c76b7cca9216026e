"""Synthetic meeting speech for speech-to-text tests: espeak-ng voices placed on a timeline.

A speaker's track is one mono 16-bit WAV at 48 kHz (what the call recorder writes) with each
sentence starting at a chosen second and silence in between, so that two speakers' tracks can
interleave in time like a meeting. `word_error_rate` scores a transcript against the script.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import wave
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from tests.tools import require_tool

RATE = 48_000  # the call recorder's rate
WORDS_PER_MINUTE = 150  # espeak-ng's default is 175: a little slower is closer to a meeting
ESPEAK_HINT = (
    "install it with `apt-get install espeak-ng` (Debian/Ubuntu) or `brew install espeak-ng`"
)

# Two voices that sound clearly unlike each other: espeak-ng's American male and a female
# variant of its British voice (`espeak-ng --voices=en`, `espeak-ng --voices=variant`).
VOICE_A = "en-us"
VOICE_B = "en-gb+f3"

Samples = npt.NDArray[np.float32]


def speak(text: str, path: Path, voice: str = VOICE_A, rate: int = WORDS_PER_MINUTE) -> Path:
    """Say `text` with espeak-ng into the WAV `path` (espeak-ng's own 22050 Hz mono 16-bit)."""
    espeak = require_tool("espeak-ng", hint=ESPEAK_HINT)
    subprocess.run(
        [str(espeak), "-v", voice, "-s", str(rate), "-w", str(path), "--", text],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return path


def track(
    lines: Sequence[tuple[float, str]],
    path: Path,
    voice: str = VOICE_A,
    *,
    rate: int = WORDS_PER_MINUTE,
    duration: float | None = None,
) -> Path:
    """One speaker's track: each `(start_seconds, sentence)` spoken from that second on.

    Args:
        lines: Sentences with the second each starts at, in time order, not overlapping.
        path: The 48 kHz mono 16-bit WAV to write.
        voice: An espeak-ng voice, e.g. `VOICE_A` or `VOICE_B`.
        rate: Words per minute.
        duration: Pad the track with silence to this many seconds (default: one second after the
            last sentence), so that every speaker's track can have the meeting's length.
    """
    pieces: list[tuple[int, Samples]] = []
    end = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i, (start, sentence) in enumerate(lines):
            spoken, spoken_rate = read_wav(speak(sentence, Path(tmp) / f"{i}.wav", voice, rate))
            samples = resample(spoken, spoken_rate, RATE)
            first = round(start * RATE)
            if first < end:
                raise ValueError(f"the sentence at {start} s overlaps the one before it")
            pieces.append((first, samples))
            end = first + len(samples)
    total = max(end + RATE, round((duration or 0) * RATE))
    out = np.zeros(total, dtype=np.float32)
    for first, samples in pieces:
        out[first : first + len(samples)] = samples
    return write_wav(path, out, RATE)


def resample(samples: Samples, rate: int, to_rate: int) -> Samples:
    """Linear interpolation: enough for speech going up in rate, where nothing can alias."""
    if rate == to_rate:
        return samples
    count = round(len(samples) * to_rate / rate)
    positions = np.arange(count) * (rate / to_rate)
    resampled: Samples = np.interp(positions, np.arange(len(samples)), samples).astype(np.float32)
    return resampled


def read_wav(path: Path) -> tuple[Samples, int]:
    """A mono 16-bit WAV as floats in [-1, 1), and its rate."""
    with wave.open(str(path), "rb") as wav:
        if (wav.getnchannels(), wav.getsampwidth()) != (1, 2):
            raise ValueError(f"{path} is not mono 16-bit")
        raw = wav.readframes(wav.getnframes())
        rate = wav.getframerate()
    return (np.frombuffer(raw, "<i2") / np.float32(32768)).astype(np.float32), rate


def write_wav(path: Path, samples: Samples, rate: int = RATE) -> Path:
    """Mono 16-bit PCM."""
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm.tobytes())
    return path


_NUMBERS = {
    word: str(n)
    for n, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen"
        " fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
}


def words(text: str) -> list[str]:
    """Lowercase words without punctuation; number words up to twenty become digits."""
    text = re.sub(r"[-–—/]", " ", text.lower())
    text = re.sub(r"[^\w\s]", "", text)
    return [_NUMBERS.get(word, word) for word in text.split()]


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word-level edit distance (substitutions, insertions, deletions) over the reference length."""
    ref, hyp = words(reference), words(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        current = [i]
        for j, h in enumerate(hyp, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h)))
        previous = current
    return previous[-1] / len(ref)
