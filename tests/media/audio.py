"""Test audio: tones, WAV files written and read back, energy around a frequency."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt

from coope.media.pcm import RATE

Samples = npt.NDArray[np.float32]


def tone(hz: float, seconds: float, *, rate: int = RATE, amplitude: float = 0.3) -> Samples:
    t = np.arange(round(seconds * rate)) / rate
    return (np.sin(2 * np.pi * hz * t) * amplitude).astype(np.float32)


def write_wav(path: Path, samples: Samples, *, rate: int = RATE) -> Path:
    """16-bit PCM; `samples` of shape (n,) for mono or (n, channels)."""
    channels = 1 if samples.ndim == 1 else samples.shape[1]
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes((samples * 32767).astype("<i2").tobytes())
    return path


def read_mono(path: Path) -> tuple[Samples, int]:
    with wave.open(str(path), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth()) == (1, 2)
        raw = wav.readframes(wav.getnframes())
        rate = wav.getframerate()
    return (np.frombuffer(raw, "<i2").astype(np.float32) / 32768), rate


def band_energy(samples: Samples, hz: float, *, rate: int = RATE, width: float = 20.0) -> float:
    """Spectral magnitude within `width` Hz of `hz` (FFT over all of `samples`)."""
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
    freqs = np.fft.rfftfreq(len(samples), 1 / rate)
    return float(spectrum[np.abs(freqs - hz) < width].sum())
