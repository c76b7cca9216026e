"""A whole meeting: two terminal participants speak, `coope notes record` writes the notes.

Everything is real: a daemon subprocess, two `coope call join --input speech.wav` processes
playing espeak-ng speech in two voices through the SFU, the recording bot as a third process,
the offline speech-to-text engine and the offline summarizer, and the page it creates.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.clitools import Cli
from tests.helpers import DaemonProcess
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


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    daemon = DaemonProcess(tmp_path_factory.mktemp("daemon") / "data", "--ice-host", "127.0.0.1")
    daemon.start()
    try:
        yield daemon.url
    finally:
        try:
            daemon.terminate()
        finally:
            daemon.kill()


class Process:
    """A `python -m coope ...` process as one person; output goes to files, killed at the end."""

    def __init__(self, cli: Cli, workdir: Path, name: str, *args: str, env: dict[str, str]) -> None:
        self.out, self.err = workdir / f"{name}.out", workdir / f"{name}.err"
        full_env = {**os.environ, "XDG_CONFIG_HOME": str(cli.config_home), "NO_COLOR": "1"}
        for key in ("COOPE_SERVER", "COOPE_TOKEN", "COOPE_OPENAI_API_KEY", "COOPE_OPENAI_BASE_URL"):
            full_env.pop(key, None)
        full_env.update(env)
        with open(self.out, "w") as out, open(self.err, "w") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "coope", *args, "--server", cli.server, "--json"],
                stdout=out,
                stderr=err,
                env=full_env,
            )

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.out.read_text().splitlines() if line.strip()]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


def wait_for(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.2)


def test_the_bot_records_a_meeting_and_writes_its_notes(
    server: str, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    ann, ben, scribe = (Cli(server, tmp_path_factory.mktemp("config")) for _ in range(3))
    ann.signup("ann")
    ben.signup("ben")
    scribe.signup("scribe")
    ann.json("ws", "create", "Team")
    code = ann.json("ws", "invite", "Team", "--role", "editor")["code"]
    scribe.json("ws", "join", code)
    ann.json("chat", "room", "create", "standup", "--member", "ben", "--member", "scribe")
    ann_wav = track(ANN, tmp_path / "ann.wav", VOICE_A, duration=MEETING_S)
    ben_wav = track(BEN, tmp_path / "ben.wav", VOICE_B, duration=MEETING_S)

    data_home = tmp_path / "data"
    started = []
    try:
        bot = Process(
            scribe,
            tmp_path,
            "bot",
            "notes", "record", "#standup", "--workspace", "Team", "--until-empty",
            env={"XDG_DATA_HOME": str(data_home)},
        )  # fmt: skip
        started.append(bot)
        wait_for(
            lambda: any(e.get("type") == "call.connected" for e in bot.lines()),
            30,
            f"the bot in the call ({bot.err.read_text()})",
        )
        for cli, wav, name in ((ann, ann_wav, "ann"), (ben, ben_wav, "ben")):
            started.append(
                Process(
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
        assert bot.proc.wait(MEETING_S + 120) == 0, bot.err.read_text()
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


def test_ctrl_c_ends_the_recording_and_still_writes_the_notes(
    server: str, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    cat, bot_cli = (Cli(server, tmp_path_factory.mktemp("config")) for _ in range(2))
    cat.signup("cat")
    bot_cli.signup("minutes")
    cat.json("ws", "create", "Ops")
    code = cat.json("ws", "invite", "Ops", "--role", "editor")["code"]
    bot_cli.json("ws", "join", code)
    cat.json("chat", "room", "create", "oncall", "--member", "minutes")
    wav = track([(0.5, "We agreed to rotate the keys tonight.")], tmp_path / "cat.wav")
    started = []
    try:
        bot = Process(
            bot_cli,
            tmp_path,
            "bot",
            "notes", "record", "#oncall", "--workspace", "Ops", "--title", "On-call sync",
            env={"XDG_DATA_HOME": str(tmp_path / "data")},
        )  # fmt: skip
        started.append(bot)
        wait_for(lambda: bot.out.stat().st_size > 0, 30, "the bot in the call")
        # cat stays in the call well past her sentence: only Ctrl-C can end this recording.
        started.append(
            Process(
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
        wait_for(
            lambda: any(
                e["type"] == "call.participant_joined" and e["data"]["user"] == "cat"
                for e in bot.lines()
            ),
            30,
            "cat in the call",
        )
        time.sleep(6)  # her sentence, heard by the bot
        bot.proc.send_signal(signal.SIGINT)
        assert bot.proc.wait(120) == 0, bot.err.read_text()
    finally:
        for process in started:
            process.stop()
    notes = bot.lines()[-1]["data"]
    assert notes["title"] == "On-call sync"
    assert [s["speaker"] for s in notes["transcript"]] == ["cat"]
    assert any("keys" in d.lower() for d in notes["decisions"]), notes


def test_when_transcription_fails_the_recording_is_kept_and_the_way_on_named(
    server: str, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    dan, bot_cli = (Cli(server, tmp_path_factory.mktemp("config")) for _ in range(2))
    dan.signup("dan")
    bot_cli.signup("notetaker")
    dan.json("ws", "create", "Lab")
    code = dan.json("ws", "invite", "Lab", "--role", "editor")["code"]
    bot_cli.json("ws", "join", code)
    dan.json("chat", "room", "create", "lab", "--member", "notetaker")
    wav = track([(0.3, "Let us measure it again.")], tmp_path / "dan.wav")
    data_home = tmp_path / "data"
    # An OpenAI-compatible server that is not there: found out only after the meeting.
    dead = {"COOPE_OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "COOPE_OPENAI_RETRIES": "0"}
    started = []
    try:
        bot = Process(
            bot_cli, tmp_path, "bot", "notes", "record", "#lab", "-w", "Lab", "--duration", "6",
            env={"XDG_DATA_HOME": str(data_home), **dead},
        )  # fmt: skip
        started.append(bot)
        wait_for(lambda: bot.out.stat().st_size > 0, 30, "the bot in the call")
        started.append(
            Process(
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
        assert bot.proc.wait(60) == 9, bot.err.read_text()
    finally:
        for process in started:
            process.stop()
    [recording] = (data_home / "coope" / "recordings").iterdir()
    error = bot.err.read_text()
    assert "127.0.0.1:9" in error and f"The recording is kept in {recording}" in error, error
    assert "coope notes summarize transcript.txt --into Lab" in error
    assert (recording / "dan.wav").stat().st_size > 16_000 * 2  # over a second of dan


def test_a_refused_join_leaves_no_recording_behind(
    server: str, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    eli, bot_cli = (Cli(server, tmp_path_factory.mktemp("config")) for _ in range(2))
    eli.signup("eli")
    bot_cli.signup("twice")
    eli.json("ws", "create", "Desk")
    code = eli.json("ws", "invite", "Desk", "--role", "editor")["code"]
    bot_cli.json("ws", "join", code)
    eli.json("chat", "room", "create", "desk", "--member", "twice")
    wav = track([(0.2, "Hello.")], tmp_path / "hello.wav")
    data_home = tmp_path / "data"
    started = []
    try:
        # The bot's account is already in the call on another device.
        other = Process(
            bot_cli, tmp_path, "other", "call", "join", "#desk", "--input", str(wav),
            "--output", str(tmp_path / "heard.wav"), "--duration", "30", env={},
        )  # fmt: skip
        started.append(other)
        wait_for(lambda: other.out.stat().st_size > 0, 30, "the other device in the call")
        bot = Process(
            bot_cli, tmp_path, "bot", "notes", "record", "#desk", "-w", "Desk",
            env={"XDG_DATA_HOME": str(data_home)},
        )  # fmt: skip
        started.append(bot)
        assert bot.proc.wait(30) == 6, bot.err.read_text()
    finally:
        for process in started:
            process.stop()
    assert "join with takeover" in bot.err.read_text()
    assert list((data_home / "coope" / "recordings").iterdir()) == []
