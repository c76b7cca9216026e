"""Speech-to-text through OpenAI's transcription endpoint, or any server that speaks it.

OpenAI takes files up to 25 MB; a speaker's track of a long meeting is more than that (a 16 kHz
recording passes it after 13 minutes). A WAV over `max_upload_bytes` is sent in pieces of at
most ten minutes, each cut at the quietest moment of the half minute before its limit so that
no word is split, and the pieces' segments are shifted to where the piece began.
"""

from __future__ import annotations

import io
import struct
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from openai.types.audio import Transcription, TranscriptionVerbose

from coope.core.errors import InvalidInput
from coope.notes import openai_api
from coope.notes.settings import NotesSettings
from coope.notes.transcript import Segment

# The content type sent with each upload: the server tells formats apart by name and type.
AUDIO_TYPES = {
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".mpga": "audio/mpeg",
    ".mpeg": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".mp4": "audio/mp4",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".webm": "audio/webm",
    ".flac": "audio/flac",
}


MAX_UPLOAD_BYTES = 24 * 1024 * 1024  # under OpenAI's 25 MB limit, with room for the form
PIECE_S = 600.0  # the longest piece of a long track
CUT_SEARCH_S = 30.0  # where to look for a quiet moment before a piece's limit
QUIET_WINDOW_S = 0.1


def gives_timestamps(model: str) -> bool:
    """Whether the model answers `verbose_json` with timed segments.

    Whisper models (`whisper-1`, and whatever a local Whisper server calls its models) do; the
    `gpt-4o-transcribe` family answers `json` only, with the text and no times.
    """
    return "transcribe" not in model.rsplit("/", 1)[-1].lower()


class OpenAITranscriber:
    """Uploads a whole track and turns the answer into `Segment`s labelled with the speaker."""

    name = "openai"

    def __init__(self, settings: NotesSettings, max_upload_bytes: int = MAX_UPLOAD_BYTES) -> None:
        openai_api.require_configured(settings)  # found out before a meeting is recorded
        self.settings = settings
        self.max_upload_bytes = max_upload_bytes

    def transcribe(self, path: Path, speaker: str) -> list[Segment]:
        data = _read(path)
        if len(data) <= self.max_upload_bytes:
            return self._transcribe(path, data, speaker)
        if not _is_wav(path, data):
            raise InvalidInput(
                f"{path} is {len(data) / 1e6:.0f} MB, over the server's upload limit; only WAV"
                " files are split here: convert it (e.g. `ffmpeg -i IN -ac 1 -ar 16000 OUT.wav`)"
            )
        segments: list[Segment] = []
        for i, (start_s, piece) in enumerate(_wav_pieces(path, data, self.max_upload_bytes)):
            name = path.with_name(f"{path.stem}-{i + 1}{path.suffix}")
            segments += [s.shifted(start_s) for s in self._transcribe(name, piece, speaker)]
        return segments

    def _transcribe(self, path: Path, data: bytes, speaker: str) -> list[Segment]:
        upload = (path.name, data, AUDIO_TYPES.get(path.suffix.lower(), "application/octet-stream"))
        model = self.settings.stt_model
        if gives_timestamps(model):
            with openai_api.session(self.settings) as client:
                # Never stream=True: whisper-1 ignores it, and a client reading a stream then
                # sees an empty transcript.
                verbose = client.audio.transcriptions.create(
                    file=upload,
                    model=model,
                    response_format="verbose_json",
                    timestamp_granularities=["segment"],
                )
            return timed_segments(verbose, speaker)
        # Read before the upload, so a broken file fails here and costs no request.
        duration = wav_duration(path, data) if _is_wav(path, data) else None
        with openai_api.session(self.settings) as client:
            plain = client.audio.transcriptions.create(
                file=upload, model=model, response_format="json"
            )
        return whole_file_segment(plain, speaker, duration)


def timed_segments(answer: TranscriptionVerbose, speaker: str) -> list[Segment]:
    """The server's segments; one spanning the file when it sent text without segments."""
    if answer.segments:
        return [
            Segment(speaker, s.start, s.end, s.text.strip())
            for s in answer.segments
            if s.text.strip()
        ]
    text = answer.text.strip()
    return [Segment(speaker, 0.0, answer.duration, text)] if text else []


def whole_file_segment(
    answer: Transcription, speaker: str, duration: float | None
) -> list[Segment]:
    """One segment for the whole file: the `json` answer has text but no times.

    The length comes from the WAV header, else from the usage the server reports in seconds.
    """
    text = answer.text.strip()
    if not text:
        return []
    if duration is None:
        usage = answer.usage
        duration = usage.seconds if usage is not None and usage.type == "duration" else 0.0
    return [Segment(speaker, 0.0, duration, text)]


def wav_duration(path: Path, data: bytes) -> float:
    """Seconds of audio in a RIFF/WAVE file, from its `fmt ` byte rate and `data` size.

    Read by hand rather than with `wave`, which refuses non-PCM (e.g. float) WAV files.

    Raises:
        InvalidInput: the header is not a readable WAV header.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise InvalidInput(f"{path} is not a WAV file (no RIFF/WAVE header)")
    byte_rate = 0
    offset = 12
    while offset + 8 <= len(data):
        chunk_id: bytes = data[offset : offset + 4]
        size: int = struct.unpack_from("<I", data, offset + 4)[0]
        body = offset + 8
        if chunk_id == b"fmt " and size >= 16 and body + 16 <= len(data):
            byte_rate = struct.unpack_from("<I", data, body + 8)[0]
        elif chunk_id == b"data" and byte_rate > 0:
            # A WAV written while recording may still carry a placeholder size: trust the file.
            return min(size, len(data) - body) / byte_rate
        offset = body + size + (size & 1)  # chunks are padded to an even length
    raise InvalidInput(f"{path} is not a readable WAV file (no format or data chunk)")


def _wav_pieces(path: Path, data: bytes, max_bytes: int) -> Iterator[tuple[float, bytes]]:
    """(start second, WAV bytes) pieces of a PCM WAV, each under `max_bytes`, cut in quiet."""
    try:
        with wave.open(io.BytesIO(data)) as wav:
            channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            frames = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as exc:
        raise InvalidInput(f"{path} is too large to send whole and not a PCM WAV: {exc}") from None
    frame_bytes = channels * width
    count = len(frames) // frame_bytes
    limit = min(int(PIECE_S * rate), (max_bytes - 1024) // frame_bytes)
    start = 0
    while start < count:
        end = (
            count
            if count - start <= limit
            else _quiet_cut(frames, start + limit, rate, width, channels)
        )
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as out:
            out.setnchannels(channels)
            out.setsampwidth(width)
            out.setframerate(rate)
            out.writeframes(frames[start * frame_bytes : end * frame_bytes])
        yield start / rate, buffer.getvalue()
        start = end


def _quiet_cut(frames: bytes, limit: int, rate: int, width: int, channels: int) -> int:
    """The frame index, at most `limit`, that ends the quietest short window of the search
    span before it: where nobody is mid-word."""
    window = max(1, int(QUIET_WINDOW_S * rate))
    first = max(0, limit - int(CUT_SEARCH_S * rate))
    if width != 2 or limit - first < 2 * window:
        return limit
    samples = np.frombuffer(
        frames, "<i2", count=(limit - first) * channels, offset=first * width * channels
    )
    energy = np.square(samples.reshape(-1, channels).astype(np.float64)).sum(axis=1)
    windows = energy[: len(energy) // window * window].reshape(-1, window).sum(axis=1)
    return first + (int(np.argmin(windows)) + 1) * window


def _is_wav(path: Path, data: bytes) -> bool:
    return path.suffix.lower() == ".wav" or data[:4] == b"RIFF"


def _read(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from None
    if not data:
        raise InvalidInput(f"{path} is empty: there is no audio to transcribe")
    return data
