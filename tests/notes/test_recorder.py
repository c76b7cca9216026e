"""The speaker recorder: files that keep the meeting's clock, a manifest that survives a crash."""

from __future__ import annotations

import json
import os
import wave
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from coope.core.errors import InvalidInput
from coope.notes.recorder import (
    MANIFEST,
    RECORDING_RATE,
    Recording,
    SpeakerRecorder,
    new_recording_dir,
    prune_recordings,
)

FRAME = 960  # 20 ms at 48 kHz, as the call decodes Opus


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def frame(pts: int, level: int = 8000) -> av.AudioFrame:
    """20 ms of a 48 kHz stereo s16 tone, stamped `pts` (in samples), as aiortc hands them."""
    tone = (np.sin(np.arange(pts, pts + FRAME) * 0.05) * level).astype(np.int16)
    out = av.AudioFrame.from_ndarray(
        np.repeat(tone, 2).reshape(1, -1), format="s16", layout="stereo"
    )
    out.sample_rate, out.pts, out.time_base = 48_000, pts, Fraction(1, 48_000)
    return out


def seconds_in(path: Path) -> float:
    with wave.open(str(path)) as wav:
        assert wav.getframerate() == RECORDING_RATE
        return wav.getnframes() / RECORDING_RATE


async def test_a_stall_then_a_burst_keeps_the_stream_in_place(tmp_path: Path) -> None:
    clock = Clock()
    recorder = SpeakerRecorder(tmp_path / "rec", room="#x", room_id=1, clock=clock)
    clock.now += 1.0  # ann is first heard a second in
    pts = 0
    for _ in range(50):  # 1 s in real time
        clock.now += 0.02
        await recorder.add("ann", frame(pts))
        pts += FRAME
    clock.now += 0.5  # the network stalls, then half a second arrives at once
    for _ in range(75):
        await recorder.add("ann", frame(pts))
        pts += FRAME
    recording = await recorder.finish()
    [track] = recording.tracks
    assert track.offset_s == pytest.approx(1.0, abs=0.03)
    # Exactly the 2.5 s she sent: the stall added no silence, nothing drifted.
    assert seconds_in(recording.path(track)) == pytest.approx(2.5, abs=0.01)


async def test_a_pause_in_the_stream_and_a_new_stream_are_filled_with_silence(
    tmp_path: Path,
) -> None:
    clock = Clock()
    recorder = SpeakerRecorder(tmp_path / "rec", room="#x", room_id=1, clock=clock)
    for i in range(50):  # 1 s
        clock.now += 0.02
        await recorder.add("ben", frame(i * FRAME))
    # Two seconds missing from his stream (lost packets): its own timestamps say so.
    clock.now += 2.0
    for i in range(150, 200):
        clock.now += 0.02
        await recorder.add("ben", frame(i * FRAME))
    assert recorder.snapshot().tracks[0].duration_s == pytest.approx(4.0, abs=0.03)
    # He leaves and comes back ten seconds later: a new stream, placed by the clock.
    clock.now += 10.0
    for i in range(50):
        clock.now += 0.02
        await recorder.add("ben", frame(i * FRAME))  # its timestamps start over
    recording = await recorder.finish()
    assert seconds_in(recording.path(recording.tracks[0])) == pytest.approx(15.0, abs=0.1)


async def test_the_manifest_exists_from_the_start_and_names_each_speaker_when_heard(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "rec"
    recorder = SpeakerRecorder(directory, room="#standup", room_id=7, clock=Clock())
    assert Recording.load(directory).tracks == []
    await recorder.add("ann", frame(0))
    # As a crash would leave it: the files open, the manifest already names ann's track.
    [track] = Recording.load(directory).tracks
    assert (track.speaker, track.file) == ("ann", "ann.wav")
    await recorder.finish()


def test_a_manifest_may_name_only_files_in_its_own_directory(tmp_path: Path) -> None:
    for bad in ("../secret.wav", "/etc/passwd", ".."):
        manifest = {
            "room": "#x",
            "room_id": 1,
            "started_at": "2026-01-01T00:00:00+00:00",
            "tracks": [{"speaker": "x", "file": bad, "offset_s": 0, "duration_s": 1}],
        }
        (tmp_path / MANIFEST).write_text(json.dumps(manifest))
        with pytest.raises(InvalidInput, match="a name in the directory"):
            Recording.load(tmp_path)


def test_recording_dirs_are_unique_even_when_started_together(tmp_path: Path) -> None:
    now = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
    first = new_recording_dir(tmp_path, "#team", now)
    second = new_recording_dir(tmp_path, "#team", now)
    assert first != second and first.is_dir() and second.is_dir()
    assert first.name == "20261126T093000Z-team"


def test_old_recordings_go_with_or_without_a_manifest(tmp_path: Path) -> None:
    now = datetime(2026, 11, 26, tzinfo=UTC)
    old, crashed, recent = (new_recording_dir(tmp_path, r, now) for r in ("old", "crash", "new"))
    (old / MANIFEST).write_text("{}")
    (recent / MANIFEST).write_text("{}")
    month_ago = now.timestamp() - 31 * 86400
    for path in (old / MANIFEST, old, crashed):
        os.utime(path, (month_ago, month_ago))
    removed = prune_recordings(tmp_path, keep_days=30, now=now.timestamp())
    assert sorted(p.name for p in removed) == sorted([old.name, crashed.name])
    assert recent.exists()
    assert prune_recordings(tmp_path, keep_days=0, now=now.timestamp() + 1e9) == []
