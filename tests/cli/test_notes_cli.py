"""`coope notes transcribe|summarize` and `record`'s early errors, as a person runs them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.clitools import Cli, assert_fails
from tests.notes.speech import VOICE_B, track

TRANSCRIPT = """\
[00:01] ann: Good morning, let us look at the release.
[00:09] ben: The build is green on the main branch.
[00:15] ann: We decided to ship the new version on Friday.
[00:21] ben: I will update the documentation before the release.
"""
OFFLINE = {"COOPE_OPENAI_API_KEY": None, "COOPE_OPENAI_BASE_URL": None}


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("speech")
    lines = [(0.5, "The build is green on the main branch.")]
    return track(lines, directory / "standup.wav", VOICE_B)


@pytest.mark.slow
@pytest.mark.timeout(120)  # loads the speech-to-text model in a new process
def test_a_wav_file_is_transcribed_by_its_speaker(speech: Path, tmp_path: Path) -> None:
    cli = Cli("http://127.0.0.1:1", tmp_path)
    segments = cli.json("notes", "transcribe", str(speech), "--speaker", "ben", **OFFLINE)[
        "segments"
    ]
    assert {s["speaker"] for s in segments} == {"ben"}
    text = " ".join(s["text"] for s in segments).lower()
    assert "build" in text and "branch" in text, text
    assert 0.0 <= segments[0]["start"] < 1.5

    # Without --speaker the file's name says who; people get `[mm:ss] Speaker: text` lines.
    result = cli("notes", "transcribe", str(speech), **OFFLINE)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("[00:00] standup: ")


def test_what_cannot_be_transcribed_is_named(tmp_path: Path, speech: Path) -> None:
    cli = Cli("http://127.0.0.1:1", tmp_path)
    not_audio = tmp_path / "notes.txt"
    not_audio.write_text("hello")
    assert_fails(cli("notes", "transcribe", str(not_audio), **OFFLINE), 7, "notes.txt")
    assert_fails(cli("notes", "transcribe", str(tmp_path), **OFFLINE), 7, "not a recording")
    missing = cli("notes", "transcribe", str(speech), COOPE_WHISPER_MODEL=str(tmp_path / "none"))
    assert_fails(missing, 9, "COOPE_WHISPER_MODEL")


def test_a_transcript_file_is_summarized(tmp_path: Path) -> None:
    cli = Cli("http://127.0.0.1:1", tmp_path)
    path = tmp_path / "standup.txt"
    path.write_text(TRANSCRIPT)
    summary = cli.json("notes", "summarize", str(path), **OFFLINE)
    assert any("friday" in d.lower() for d in summary["decisions"]), summary
    assert any(
        "documentation" in a["text"].lower() and a["owner"] == "ben"
        for a in summary["action_items"]
    ), summary
    shown = cli("notes", "summarize", str(path), **OFFLINE)
    assert shown.exit_code == 0, shown.output
    assert "Decisions" in shown.stdout and "Action items" in shown.stdout
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    assert_fails(cli("notes", "summarize", str(empty), **OFFLINE), 7, "nothing to summarize")


def test_summaries_go_into_a_workspace_and_pages_are_summarized(
    make_cli: Callable[[], Cli], tmp_path: Path
) -> None:
    dee = make_cli()
    dee.signup("dee")
    dee.json("ws", "create", "Minutes")
    path = tmp_path / "standup.txt"
    path.write_text(TRANSCRIPT)
    made = dee.json("notes", "summarize", str(path), "--into", "Minutes", **OFFLINE)
    assert made["title"] == "Notes — standup"
    page = dee.json("doc", "show", str(made["page_id"]), "--format", "json")
    todos = [b["text"] for b in page["blocks"] if b["type"] == "todo"]
    assert any("(owner: ben)" in t for t in todos), todos

    # That page's transcript, summarized again by naming the page.
    again = dee.json("notes", "summarize", "Minutes/Notes — standup", **OFFLINE)
    assert again["decisions"] == made["decisions"]


def test_record_refuses_before_joining_when_it_could_not_transcribe(tmp_path: Path) -> None:
    cli = Cli("http://127.0.0.1:1", tmp_path)  # nothing listens: the engine is checked first
    result = cli(
        "notes", "record", "#standup", "--workspace", "Team",
        COOPE_WHISPER_MODEL=str(tmp_path / "no-model"), **OFFLINE,
    )  # fmt: skip
    assert_fails(result, 9, "COOPE_WHISPER_MODEL")
    both = cli("notes", "record", "#standup", "-w", "Team", "--until-empty", "--duration", "5")
    assert both.exit_code == 2
    assert "--until-empty or --duration" in " ".join(both.output.split())


def test_a_viewer_cannot_record_notes_into_the_workspace(make_cli: Callable[[], Cli]) -> None:
    eve, bot = make_cli(), make_cli()
    eve.signup("eve")
    bot.signup("viewerbot")
    eve.json("ws", "create", "ReadOnly")
    code = eve.json("ws", "invite", "ReadOnly", "--role", "viewer")["code"]
    bot.json("ws", "join", code)
    eve.json("chat", "room", "create", "sync", "--member", "viewerbot")
    bot.json("chat", "accept", "#sync")
    result = bot("notes", "record", "#sync", "--workspace", "ReadOnly", **OFFLINE)
    assert_fails(result, 4, "you are a viewer of ReadOnly")
