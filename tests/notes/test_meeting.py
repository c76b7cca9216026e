"""A whole meeting: two terminal participants speak, `coope notes record` writes the notes.

Everything is real: a daemon subprocess, two `coope call join --input speech.wav` processes
playing espeak-ng speech in two voices through the SFU, the recording bot as a third process,
the offline speech-to-text engine and the offline summarizer, and the page it creates.
"""

from __future__ import annotations

import signal
import wave
from pathlib import Path
from typing import Any

import pytest

from tests.cli.clitools import Cli, CoopeProcess
from tests.helpers import eventually
from tests.notes.speech import VOICE_A, VOICE_B, track

pytestmark = pytest.mark.slow

ANN = [
    (1.0, "Good morning everyone, let us review the release plan."),
    (12.0, "We decided to ship the new version on Friday."),
]
BEN = [
    (6.0, "The tests are passing on the main branch."),
    (17.0, "I will update the documentation before the release."),
]
MEETING_S = 22.0


def _said_something(events: list[dict[str, Any]], user: str) -> bool:
    """Whether the process that printed `events` heard `user` start speaking, then stop."""
    speaking = [
        e["data"]["speaking"]
        for e in events
        if e["type"] == "call.speaking" and e["data"]["user"] == user
    ]
    return True in speaking and speaking[-1] is False


@pytest.mark.timeout(300)  # a 22 s meeting in real time, then speech-to-text and a summary
def test_the_bot_records_a_meeting_and_writes_its_notes(
    call_server: str, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    ann, ben, scribe = (Cli(call_server, tmp_path_factory.mktemp("config")) for _ in range(3))
    ann.signup("ann")
    ben.signup("ben")
    scribe.signup("scribe")
    ann.json("ws", "create", "Team")
    code = ann.json("ws", "invite", "Team", "--role", "editor")["code"]
    scribe.json("ws", "join", code)
    ann.json("chat", "room", "create", "standup", "--member", "ben", "--member", "scribe")
    for invited in (ben, scribe):  # not ann's friends: invited, and they accept
        invited.json("chat", "accept", "#standup")
    ann_wav = track(ANN, tmp_path / "ann.wav", VOICE_A, duration=MEETING_S)
    ben_wav = track(BEN, tmp_path / "ben.wav", VOICE_B, duration=MEETING_S)

    data_home = tmp_path / "data"
    started = []
    try:
        bot = CoopeProcess(
            scribe,
            tmp_path,
            "bot",
            "notes", "record", "#standup", "--workspace", "Team", "--until-empty",
            env={"XDG_DATA_HOME": str(data_home)},
        )  # fmt: skip
        started.append(bot)
        eventually(
            lambda: any(e.get("type") == "call.connected" for e in bot.lines()),
            30,
            f"the bot in the call ({bot.stderr()})",
        )
        for cli, wav, name in ((ann, ann_wav, "ann"), (ben, ben_wav, "ben")):
            started.append(
                CoopeProcess(
                    cli,
                    tmp_path,
                    name,
                    "call",
                    "join",
                    "#standup",
                    "--input",
                    str(wav),
                    "--output",
                    str(tmp_path / f"{name}-heard.wav"),
                    "--duration",
                    str(MEETING_S + 1),
                    env={},
                )  # fmt: skip
            )
        assert bot.proc.wait(MEETING_S + 120) == 0, bot.stderr()
    finally:
        for process in started:
            process.stop()

    *events, last = bot.lines()
    assert last["type"] == "notes.written", last
    notes = last["data"]
    # It joined as a recorder, heard both, and left when the others had.
    connected = next(e for e in events if e["type"] == "call.connected")
    assert connected["data"]["recording"] is True
    left = [e["data"]["user"] for e in events if e["type"] == "call.participant_left"]
    assert sorted(left) == ["ann", "ben", "scribe"], events  # scribe last, on its way out
    transcript = notes["transcript"]
    speakers = [s["speaker"] for s in transcript]
    assert set(speakers) == {"ann", "ben"}, transcript
    # Who spoke when: ann, ben, ann, ben, each line in its own place.
    said = " | ".join(f"{s['speaker']}: {s['text'].lower()}" for s in transcript)
    order = [said.index(marker) for marker in ("release plan", "tests", "friday", "documentation")]
    assert order == sorted(order), said
    assert [s["start"] for s in transcript] == sorted(s["start"] for s in transcript)
    assert any("friday" in d.lower() for d in notes["decisions"]), notes
    items = [(a["text"].lower(), a["owner"]) for a in notes["action_items"]]
    assert any("documentation" in text and owner == "ben" for text, owner in items), items

    # The page, as a member reads it.
    page = ann.json("doc", "show", str(notes["page_id"]), "--format", "json")
    assert page["page"]["title"].startswith("Meeting notes — #standup — ")
    blocks = [(b["type"], b["text"]) for b in page["blocks"]]
    headings = [text for kind, text in blocks if kind == "heading2"]
    assert headings == ["Summary", "Decisions", "Action items", "Transcript"]
    todos = [text for kind, text in blocks if kind == "todo"]
    assert any("documentation" in t.lower() and "(owner: ben)" in t for t in todos), todos
    lines = [text for kind, text in blocks if kind == "paragraph" and text.startswith("[")]
    assert [line.split("] ", 1)[1].split(":", 1)[0] for line in lines] == speakers

    # The recording stays in the data dir: one file per speaker and the manifest.
    [recording] = (data_home / "coope" / "recordings").iterdir()
    assert sorted(p.name for p in recording.iterdir()) == ["ann.wav", "ben.wav", "meeting.json"]
    # At the rate speech-to-text hears, each as long as the person was in the call.
    for name in ("ann.wav", "ben.wav"):
        with wave.open(str(recording / name)) as wav:
            assert wav.getframerate() == 16_000
            assert MEETING_S - 1 < wav.getnframes() / 16_000 < MEETING_S + 4


@pytest.mark.timeout(240)  # three processes in a call, then speech-to-text and a summary
def test_ctrl_c_ends_the_recording_and_still_writes_the_notes(
    call_server: str, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    cat, bot_cli = (Cli(call_server, tmp_path_factory.mktemp("config")) for _ in range(2))
    cat.signup("cat")
    bot_cli.signup("minutes")
    cat.json("ws", "create", "Ops")
    code = cat.json("ws", "invite", "Ops", "--role", "editor")["code"]
    bot_cli.json("ws", "join", code)
    cat.json("chat", "room", "create", "oncall", "--member", "minutes")
    bot_cli.json("chat", "accept", "#oncall")
    wav = track([(0.5, "We agreed to rotate the keys tonight.")], tmp_path / "cat.wav")
    started = []
    try:
        bot = CoopeProcess(
            bot_cli,
            tmp_path,
            "bot",
            "notes", "record", "#oncall", "--workspace", "Ops", "--title", "On-call sync",
            env={"XDG_DATA_HOME": str(tmp_path / "data")},
        )  # fmt: skip
        started.append(bot)
        eventually(lambda: bot.out.stat().st_size > 0, 30, "the bot in the call")
        # cat stays in the call well past her sentence: only Ctrl-C can end this recording.
        started.append(
            CoopeProcess(
                cat,
                tmp_path,
                "cat",
                "call",
                "join",
                "#oncall",
                "--input",
                str(wav),
                "--output",
                str(tmp_path / "heard.wav"),
                "--duration",
                "60",
                env={},
            )  # fmt: skip
        )
        eventually(
            lambda: any(
                e["type"] == "call.participant_joined" and e["data"]["user"] == "cat"
                for e in bot.lines()
            ),
            30,
            "cat in the call",
        )
        eventually(lambda: _said_something(bot.lines(), "cat"), 60, f"cat heard ({bot.stderr()})")
        bot.proc.send_signal(signal.SIGINT)
        assert bot.proc.wait(120) == 0, bot.stderr()
    finally:
        for process in started:
            process.stop()
    notes = bot.lines()[-1]["data"]
    assert notes["title"] == "On-call sync"
    assert [s["speaker"] for s in notes["transcript"]] == ["cat"]
    assert any("keys" in d.lower() for d in notes["decisions"]), notes


@pytest.mark.timeout(180)  # an 8 s call, then a failing transcription
def test_when_transcription_fails_the_recording_is_kept_and_the_way_on_named(
    call_server: str, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    dan, bot_cli = (Cli(call_server, tmp_path_factory.mktemp("config")) for _ in range(2))
    dan.signup("dan")
    bot_cli.signup("notetaker")
    dan.json("ws", "create", "Lab")
    code = dan.json("ws", "invite", "Lab", "--role", "editor")["code"]
    bot_cli.json("ws", "join", code)
    dan.json("chat", "room", "create", "lab", "--member", "notetaker")
    bot_cli.json("chat", "accept", "#lab")
    wav = track([(0.3, "Let us measure it again.")], tmp_path / "dan.wav")
    data_home = tmp_path / "data"
    # An OpenAI-compatible server that is not there: found out only after the meeting.
    dead = {"COOPE_OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "COOPE_OPENAI_RETRIES": "0"}
    started = []
    try:
        bot = CoopeProcess(
            bot_cli, tmp_path, "bot", "notes", "record", "#lab", "-w", "Lab", "--duration", "6",
            env={"XDG_DATA_HOME": str(data_home), **dead},
        )  # fmt: skip
        started.append(bot)
        eventually(lambda: bot.out.stat().st_size > 0, 30, "the bot in the call")
        started.append(
            CoopeProcess(
                dan,
                tmp_path,
                "dan",
                "call",
                "join",
                "#lab",
                "--input",
                str(wav),
                "--output",
                str(tmp_path / "heard.wav"),
                "--duration",
                "8",
                env={},
            )  # fmt: skip
        )
        assert bot.proc.wait(60) == 9, bot.stderr()
    finally:
        for process in started:
            process.stop()
    [recording] = (data_home / "coope" / "recordings").iterdir()
    error = bot.stderr()
    assert "127.0.0.1:9" in error and f"The recording is kept in {recording}" in error, error
    assert "coope notes summarize transcript.txt --into Lab" in error
    assert (recording / "dan.wav").stat().st_size > 16_000 * 2  # over a second of dan


@pytest.mark.timeout(120)  # two processes joining a call
def test_a_refused_join_leaves_no_recording_behind(
    call_server: str, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    eli, bot_cli = (Cli(call_server, tmp_path_factory.mktemp("config")) for _ in range(2))
    eli.signup("eli")
    bot_cli.signup("twice")
    eli.json("ws", "create", "Desk")
    code = eli.json("ws", "invite", "Desk", "--role", "editor")["code"]
    bot_cli.json("ws", "join", code)
    eli.json("chat", "room", "create", "desk", "--member", "twice")
    bot_cli.json("chat", "accept", "#desk")
    wav = track([(0.2, "Hello.")], tmp_path / "hello.wav")
    data_home = tmp_path / "data"
    started = []
    try:
        # The bot's account is already in the call on another device.
        other = CoopeProcess(
            bot_cli, tmp_path, "other", "call", "join", "#desk", "--input", str(wav),
            "--output", str(tmp_path / "heard.wav"), "--duration", "30", env={},
        )  # fmt: skip
        started.append(other)
        eventually(lambda: other.out.stat().st_size > 0, 30, "the other device in the call")
        bot = CoopeProcess(
            bot_cli, tmp_path, "bot", "notes", "record", "#desk", "-w", "Desk",
            env={"XDG_DATA_HOME": str(data_home)},
        )  # fmt: skip
        started.append(bot)
        assert bot.proc.wait(30) == 6, bot.stderr()
    finally:
        for process in started:
            process.stop()
    assert "join with takeover" in bot.stderr()
    assert list((data_home / "coope" / "recordings").iterdir()) == []
