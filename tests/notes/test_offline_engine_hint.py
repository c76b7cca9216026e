"""`coope notes transcribe` without the offline engine says how to get it, or what instead."""

from __future__ import annotations

import sys
import wave
from pathlib import Path

import pytest

from tests.cli.clitools import Cli, assert_fails


def test_transcribe_without_faster_whisper_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "faster_whisper", None)  # imports fail, as if missing
    talk = tmp_path / "talk.wav"
    with wave.open(str(talk), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16_000)
        wav.writeframes(b"\0\0" * 1600)
    cli = Cli("http://127.0.0.1:9", tmp_path / "config")  # transcribing needs no daemon

    line = assert_fails(
        cli(
            "notes", "transcribe", str(talk), COOPE_OPENAI_API_KEY=None, COOPE_OPENAI_BASE_URL=None
        ),
        9,
        "needs faster-whisper",
    )

    assert f"{sys.executable} -m pip install 'coope[offline]'" in line
    assert "pip install -e '.[offline]'" in line
    assert "COOPE_OPENAI_API_KEY" in line
