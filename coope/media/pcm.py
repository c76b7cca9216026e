"""PCM helpers shared by sources, sinks and meters: the call's rate, frames in and out of numpy.

Samples are handled as float32 in [-1, 1] inside coope and as signed 16-bit on the wire and in
WAV files.
"""

from __future__ import annotations

import fractions

import av
import numpy as np
import numpy.typing as npt

RATE = 48_000  # Opus in WebRTC always runs at 48 kHz
FRAME_SAMPLES = 960  # 20 ms at RATE
FRAME_S = FRAME_SAMPLES / RATE
TIME_BASE = fractions.Fraction(1, RATE)

Samples = npt.NDArray[np.float32]


def resample(samples: Samples, rate: int, to_rate: int = RATE) -> Samples:
    """Linear interpolation to `to_rate`; `samples` has shape (n,) or (n, channels).

    Good enough for speech and test tones; not a band-limited resampler.
    """
    if rate == to_rate or len(samples) == 0:
        return samples
    n_out = round(len(samples) * to_rate / rate)
    src = np.arange(len(samples), dtype=np.float64)
    dst = np.arange(n_out, dtype=np.float64) * (rate / to_rate)
    if samples.ndim == 1:
        return np.interp(dst, src, samples).astype(np.float32)
    columns = [np.interp(dst, src, samples[:, c]) for c in range(samples.shape[1])]
    return np.stack(columns, axis=1).astype(np.float32)


def to_int16(samples: Samples) -> npt.NDArray[np.int16]:
    return (np.clip(samples, -1.0, 1.0) * 32767).astype(np.int16)


def from_int16(samples: npt.NDArray[np.int16]) -> Samples:
    return (samples.astype(np.float32) / 32768).astype(np.float32)


def make_frame(samples: Samples, pts: int) -> av.AudioFrame:
    """An s16 frame at RATE from samples of shape (n,) (mono) or (n, 2) (stereo)."""
    channels = 1 if samples.ndim == 1 else samples.shape[1]
    packed = to_int16(samples).reshape(1, -1)  # interleaved, as packed s16 wants
    frame = av.AudioFrame.from_ndarray(
        packed, format="s16", layout="mono" if channels == 1 else "stereo"
    )
    frame.pts = pts
    frame.sample_rate = RATE
    frame.time_base = TIME_BASE
    return frame


def frame_to_mono(frame: av.AudioFrame) -> Samples:
    """Any decoded frame (packed or planar, integer or float, any rate) as mono float32 at
    RATE."""
    data = frame.to_ndarray()
    channels = len(frame.layout.channels)
    if frame.format.is_planar:
        per_channel = data.reshape(channels, -1).T
    else:
        per_channel = data.reshape(-1, channels)
    floats: Samples = per_channel.astype(np.float32)
    if per_channel.dtype == np.uint8:
        floats = ((floats - 128) / 128).astype(np.float32)
    elif per_channel.dtype == np.int16:
        floats /= 32768
    elif per_channel.dtype == np.int32:
        floats /= 2**31
    mono = floats.mean(axis=1).astype(np.float32)
    return resample(mono, frame.sample_rate)
