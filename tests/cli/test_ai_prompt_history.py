"""The `coope ai chat` prompt's kept input history is the person's own to read."""

from __future__ import annotations

import stat
from pathlib import Path
from types import SimpleNamespace

import pytest

from coope.cli import ai_prompt
from coope.cli.ai_prompt import Prompt


def test_a_history_file_made_before_becomes_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A line editor that reads and writes the file in place (libedit does; GNU readline
    # writes a new file, private already): the mode is the prompt's to set.
    in_place = SimpleNamespace(
        set_history_length=lambda length: None,
        read_history_file=lambda path: None,
        write_history_file=lambda path: None,
    )
    monkeypatch.setattr(ai_prompt, "_readline", lambda: in_place)
    path = tmp_path / "ai-chat-input.history"
    path.write_text("an earlier question\n")
    path.chmod(0o644)  # as an older version, or the person, left it
    Prompt(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == "an earlier question\n"
