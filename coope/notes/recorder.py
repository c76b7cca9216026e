"""The recording side of the meeting bot: one WAV file per speaker, placed in time.

The bot is an ordinary call participant that joins with `recording=True` (so everyone in the
call is told) and receives each person's audio on a slot of its own, already decoded and
labelled by `CallSession`. `SpeakerRecorder` writes every person's frames to their own 16 kHz
mono WAV and notes when that person was first heard, counted from the meeting's start (the
moment the bot joined). Within one stream, frames are placed by their own timestamps, so a
network stall followed by a burst changes nothing; a person who leaves and comes back (a new
stream) leaves a gap, placed by the clock and filled with silence, so that the file's own clock
stays the meeting's. Transcribing each track on its own and shifting it by its offset then puts
everyone's words on one time line.

A recording is a directory: the WAV files and `meeting.json`, which names the room, the start
time and each track's speaker and offset, so it can be transcribed again later. The manifest is
written when the recording starts and whenever someone is first heard, so even a recording cut
short by a crash can be transcribed.

What people said in a call is kept like credentials: the directories are readable by their owner
only (0700) and so are the files in them (0600), whatever the umask.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from coope.core.errors import InvalidInput, Unavailable
from coope.media.sinks import WavSink

MANIFEST = "meeting.json"
# Arrival times jitter by tens of milliseconds; only a longer shortfall is a real gap.
GAP_S = 0.25
# A jump in a stream's own timestamps up to this long is a pause within it; beyond it (or
# backwards) it is a new stream, placed by the clock.
STREAM_GAP_S = 30.0
# What speech-to-text listens at (Whisper resamples everything to 16 kHz): a third of the call's
# 48 kHz on disk, about 1.9 MB per speaker-minute, and nothing lost for transcription.
RECORDING_RATE = 16_000


@dataclass(frozen=True)
class SpeakerTrack:
    speaker: str
    file: str  # within the recording's directory
    offset_s: float  # when its first sample was heard, from the meeting's start
    duration_s: float


@dataclass(frozen=True)
class Recording:
    directory: Path
    room: str
    room_id: int
    started_at: str  # ISO 8601, UTC
    tracks: list[SpeakerTrack]

    def path(self, track: SpeakerTrack) -> Path:
        return self.directory / track.file

    def save(self) -> None:
        manifest = {
            "room": self.room,
            "room_id": self.room_id,
            "started_at": self.started_at,
            "tracks": [asdict(t) for t in self.tracks],
        }
        path = _private_file(self.directory / MANIFEST)
        with _storing(path), path.open("w") as file:
            file.write(json.dumps(manifest, indent=2) + "\n")

    @classmethod
    def load(cls, directory: Path) -> Recording:
        try:
            raw = json.loads((directory / MANIFEST).read_text())
            recording = cls(
                directory=directory,
                room=str(raw["room"]),
                room_id=int(raw["room_id"]),
                started_at=str(raw["started_at"]),
                tracks=[SpeakerTrack(**t) for t in raw["tracks"]],
            )
            for track in recording.tracks:
                if Path(track.file).name != track.file or track.file in ("", ".", ".."):
                    raise ValueError(
                        f"a track file must be a name in the directory: {track.file!r}"
                    )
            return recording
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InvalidInput(f"{directory} is not a recording this can read: {exc}") from exc


class _Track:
    def __init__(self, path: Path, offset_s: float) -> None:
        self.path = path
        self.offset_s = offset_s
        self.sink = WavSink(_private_file(path), RECORDING_RATE)
        self.next_pts_s: float | None = None  # where the stream's next frame should start
        # libswresample, band-limited: plain decimation would fold 8-24 kHz into the speech.
        self.resampler = av.AudioResampler(format="s16", layout="mono", rate=RECORDING_RATE)
        self.samples = 0

    async def write(self, frames: list[av.AudioFrame]) -> None:
        for frame in frames:
            pcm = frame.to_ndarray().reshape(-1).astype(np.int16, copy=False)  # s16 already
            await self.sink.write(pcm)
            self.samples += len(pcm)


class SpeakerRecorder:
    """Collects `(speaker, frame)` pairs into one WAV per speaker under `directory`.

    Args:
        directory: Created if missing; one file per speaker is written into it.
        room: The room's name, for the manifest and the notes' title.
        room_id: The chat room whose call this is.
        clock: Seconds, monotonic; the meeting starts when the recorder is made.
    """

    def __init__(
        self,
        directory: Path,
        *,
        room: str,
        room_id: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.directory = directory
        self.room = room
        self.room_id = room_id
        self.started_at = datetime.now(UTC)
        self._clock = clock
        self._start = clock()
        self._tracks: dict[str, _Track] = {}
        _private_dir(directory)
        self.snapshot().save()

    @property
    def speakers(self) -> list[str]:
        return sorted(self._tracks)

    def seconds(self) -> float:
        """How long the meeting has been recorded so far."""
        return self._clock() - self._start

    async def add(self, speaker: str, frame: av.AudioFrame) -> None:
        """One decoded frame of `speaker`'s audio (any rate or layout), as it arrives."""
        # The frame has just been received: it began one frame's length ago.
        began = self.seconds() - frame.samples / frame.sample_rate
        track = self._tracks.get(speaker)
        if track is None:
            track = _Track(self.directory / _file_name(speaker, self._tracks), max(0.0, began))
            self._tracks[speaker] = track
            self.snapshot().save()
        pts_s = _seconds(frame.pts, frame.time_base)
        gap = _stream_gap(track.next_pts_s, pts_s)
        if gap is None:  # a new stream: the clock says where it belongs
            behind = began - track.offset_s - track.samples / RECORDING_RATE
            gap = behind if behind > GAP_S else 0.0
        if gap > 0:
            silence = np.zeros(round(gap * RECORDING_RATE), np.int16)
            await track.sink.write(silence)
            track.samples += len(silence)
        if pts_s is not None:
            track.next_pts_s = pts_s + frame.samples / frame.sample_rate
        await track.write(track.resampler.resample(frame))

    def snapshot(self) -> Recording:
        """The recording as it stands (durations so far)."""
        return Recording(
            directory=self.directory,
            room=self.room,
            room_id=self.room_id,
            started_at=self.started_at.isoformat(timespec="seconds"),
            tracks=[
                SpeakerTrack(
                    speaker=speaker,
                    file=track.path.name,
                    offset_s=round(track.offset_s, 3),
                    duration_s=round(track.samples / RECORDING_RATE, 3),
                )
                for speaker, track in sorted(self._tracks.items())
            ],
        )

    async def finish(self) -> Recording:
        """Close every file and write the manifest."""
        for track in self._tracks.values():
            await track.write(track.resampler.resample(None))  # what it still holds
            await track.sink.aclose()
        recording = self.snapshot()
        recording.save()
        return recording


def _seconds(pts: int | None, time_base: Fraction | None) -> float | None:
    return float(pts * time_base) if pts is not None and time_base is not None else None


def _stream_gap(expected_s: float | None, pts_s: float | None) -> float | None:
    """Seconds of silence before a frame of the same stream; None when it is not one."""
    if expected_s is None or pts_s is None:
        return None
    gap = pts_s - expected_s
    if -0.001 <= gap <= STREAM_GAP_S:
        return max(0.0, gap)
    return None


def _file_name(speaker: str, taken: dict[str, _Track]) -> str:
    """A file name from the speaker's name, safe on every file system and unique."""
    stem = _safe(speaker, "speaker")
    names = {t.path.name for t in taken.values()}
    name, n = f"{stem}.wav", 1
    while name in names:
        n += 1
        name = f"{stem}-{n}.wav"
    return name


def _safe(name: str, fallback: str) -> str:
    """`name` as a file name on every file system: letters, digits, `_`, `.` and `-`."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or fallback


def parse_started(started_at: str) -> datetime:
    """A manifest's `started_at` back as an aware datetime."""
    try:
        return datetime.fromisoformat(started_at)
    except ValueError as exc:
        raise InvalidInput(f"a recording's start time is not a date: {started_at!r}") from exc


def recordings_dir(data_dir: Path) -> Path:
    return data_dir / "recordings"


@contextmanager
def _storing(path: Path) -> Iterator[None]:
    """A disk that refuses a recording (full, read-only, not allowed) as `Unavailable`: the
    place is in coope's data dir, not something a command was given, so it is the machine that
    cannot record now, not the input that is wrong."""
    try:
        yield
    except OSError as exc:
        raise Unavailable(f"cannot store the recording in {path}: {exc.strerror or exc}") from exc


def _private_dir(path: Path) -> None:
    """`path` made if missing (with its parents), then readable by its owner only (0700)."""
    with _storing(path):
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.chmod(0o700)  # made before, or by an older version, with the umask's mode


def _private_file(path: Path) -> Path:
    """`path` created empty if missing, readable by its owner only (0600); whoever opens it for
    writing next keeps that mode. Returns `path`."""
    with _storing(path):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        path.chmod(0o600)
    return path


def new_recording_dir(data_dir: Path, room: str, now: datetime | None = None) -> Path:
    """`recordings/<UTC time>-<room>`: sorted by time, readable by people."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    base = recordings_dir(data_dir) / f"{stamp}-{_safe(room, 'room')}"
    _private_dir(base.parent)
    path, n = base, 1
    with _storing(base.parent):
        while True:  # made here, not only named: two bots starting together get one each
            try:
                path.mkdir(mode=0o700)
                return path
            except FileExistsError:
                n += 1
                path = base.with_name(f"{base.name}-{n}")


def prune_recordings(data_dir: Path, keep_days: float, now: float | None = None) -> list[Path]:
    """Delete recordings older than `keep_days` (0 keeps everything); returns what went."""
    root = recordings_dir(data_dir)
    if keep_days <= 0 or not root.is_dir():
        return []
    cutoff = (time.time() if now is None else now) - keep_days * 86400
    removed = []
    for entry in sorted(root.iterdir()):
        if not entry.is_dir():
            continue
        manifest = entry / MANIFEST
        # A recording that never got its manifest (a crash) ages by its directory.
        changed = (manifest if manifest.exists() else entry).stat().st_mtime
        if changed < cutoff:
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed
