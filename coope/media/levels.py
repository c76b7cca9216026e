"""Who is speaking: each person's audio level (RMS) over the last few hundred milliseconds."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable

import numpy as np

from coope.media.pcm import Samples

WINDOW_S = 0.3
SPEAKING_RMS = 0.02  # about -34 dBFS: above room noise, below any voice close to a microphone


class LevelMeter:
    """`push(user, samples)` as audio arrives; `level(user)` is the RMS of what arrived in the
    last `window_s` seconds (0 after silence or nothing), on a 0..1 scale."""

    def __init__(self, clock: Callable[[], float], window_s: float = WINDOW_S) -> None:
        self._clock = clock
        self._window = window_s
        self._chunks: dict[str, deque[tuple[float, float, int]]] = {}

    def push(self, user: str, samples: Samples) -> None:
        if len(samples) == 0:
            return
        energy = float(np.dot(samples.astype(np.float64), samples.astype(np.float64)))
        chunks = self._chunks.setdefault(user, deque())
        chunks.append((self._clock(), energy, len(samples)))
        self._expire(chunks)

    def _expire(self, chunks: deque[tuple[float, float, int]]) -> None:
        oldest = self._clock() - self._window
        while chunks and chunks[0][0] < oldest:
            chunks.popleft()

    def level(self, user: str) -> float:
        chunks = self._chunks.get(user)
        if not chunks:
            return 0.0
        self._expire(chunks)
        count = sum(n for _, _, n in chunks)
        return math.sqrt(sum(e for _, e, _ in chunks) / count) if count else 0.0

    def speaking(self, user: str) -> bool:
        return self.level(user) >= SPEAKING_RMS

    def forget(self, user: str) -> None:
        self._chunks.pop(user, None)
