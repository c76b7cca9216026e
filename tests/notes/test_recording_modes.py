"""Recordings are private: directories 0700 and files 0600, whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from coope.cli.runtime import exit_code
from coope.core.errors import Unavailable
from coope.notes.recorder import MANIFEST, SpeakerRecorder, new_recording_dir, recordings_dir


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    """The most open umask: whatever stays private is made so by the recorder itself."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def frame(pts: int) -> av.AudioFrame:
    tone = (np.sin(np.arange(pts, pts + 960) * 0.05) * 8000).astype(np.int16)
    out = av.AudioFrame.from_ndarray(tone.reshape(1, -1), format="s16", layout="mono")
    out.sample_rate, out.pts, out.time_base = 48_000, pts, Fraction(1, 48_000)
    return out


async def test_a_recording_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    directory = new_recording_dir(tmp_path, "#team")
    recorder = SpeakerRecorder(directory, room="#team", room_id=1)
    await recorder.add("ann", frame(0))
    await recorder.add("bob", frame(0))
    recording = await recorder.finish()

    assert mode(recordings_dir(tmp_path)) == 0o700
    assert mode(directory) == 0o700
    files = sorted(p.name for p in directory.iterdir())
    assert files == sorted(["ann.wav", "bob.wav", MANIFEST])
    for track in recording.tracks:
        assert recording.path(track).stat().st_size > 44  # a header and samples
    assert {p.name: mode(p) for p in directory.iterdir()} == dict.fromkeys(files, 0o600)


async def test_folders_made_open_before_are_made_private(tmp_path: Path) -> None:
    root = recordings_dir(tmp_path)
    root.mkdir(mode=0o755)
    own = tmp_path / "elsewhere"
    own.mkdir(mode=0o777)

    new_recording_dir(tmp_path, "#team")
    recorder = SpeakerRecorder(own, room="#team", room_id=1)
    await recorder.finish()

    assert mode(root) == 0o700
    assert mode(own) == 0o700
    assert mode(own / MANIFEST) == 0o600


# A disk that refuses the recording: the data dir is coope's own, not a path a command was
# given, so it is the machine that cannot record (Unavailable, exit 9), not wrong input.


def test_a_data_dir_that_cannot_hold_recordings_is_unavailable(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "data"
    not_a_dir.write_text("")

    with pytest.raises(Unavailable, match="cannot store the recording in"):
        new_recording_dir(not_a_dir, "#team")
    assert exit_code(Unavailable("")) == 9


async def test_a_manifest_or_track_that_cannot_be_written_is_unavailable(tmp_path: Path) -> None:
    blocked = tmp_path / "blocked"
    (blocked / MANIFEST).mkdir(parents=True)  # a folder where the file goes
    with pytest.raises(Unavailable, match=MANIFEST):
        SpeakerRecorder(blocked, room="#team", room_id=1)

    directory = new_recording_dir(tmp_path, "#team")
    recorder = SpeakerRecorder(directory, room="#team", room_id=1)
    (directory / "ann.wav").mkdir()
    with pytest.raises(Unavailable, match="ann.wav"):
        await recorder.add("ann", frame(0))
    await recorder.finish()
