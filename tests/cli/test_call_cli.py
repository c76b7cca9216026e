"""`coope call` against a daemon subprocess: real `coope call join` processes talking through the
SFU with WAV files, checked by what each one heard."""

from __future__ import annotations

import itertools
import json
import signal
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from coope.cli.call_view import CallDisplay, CallView, level_bar
from coope.client import CoopeClient
from coope.core.errors import Unavailable
from coope.media.devices import (
    PORTAUDIO_MISSING,
    missing_audio_device,
    no_device_message,
    require_audio_devices,
)
from coope.media.levels import LevelMeter
from tests.cli.clitools import (
    Cli,
    CoopeProcess,
    assert_fails,
    assert_ok,
    eventually,
    every_command,
)
from tests.media.audio import band_energy, read_mono, tone, write_wav

# Each test starts `coope call join` processes that connect media: minutes on a busy machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

_pairs = itertools.count()


@dataclass
class Pair:
    ann: Cli
    ben: Cli
    room: str  # "#name"
    room_id: int
    names: tuple[str, str]


@pytest.fixture
def pair(call_server: str, tmp_path_factory: pytest.TempPathFactory) -> Pair:
    """Two people with fresh accounts in a group room of their own."""
    n = next(_pairs)
    ann, ben = (Cli(call_server, tmp_path_factory.mktemp("config")) for _ in range(2))
    names = (f"ann{n}", f"ben{n}")
    ann.signup(names[0])
    ben.signup(names[1])
    room = ann.json("chat", "room", "create", f"call{n}", "--member", names[1])
    ben.json("chat", "accept", f"#call{n}")  # not ann's friend: invited, and accepts
    return Pair(ann, ben, f"#call{n}", room["id"], names)


class Joined(CoopeProcess):
    """One `coope call join ROOM ... --json` process and the events it printed."""

    def __init__(self, cli: Cli, room: str, workdir: Path, name: str, *args: str) -> None:
        super().__init__(cli, workdir, name, "call", "join", room, *args)

    def saw(self, kind: str, **data: Any) -> bool:
        return any(
            e["type"] == kind and all(e["data"].get(k) == v for k, v in data.items())
            for e in self.lines()
        )


@pytest.fixture
def start_join(tmp_path: Path) -> Iterator[Callable[..., Joined]]:
    """Start `coope call join` processes; every one is killed and reaped at the end."""
    with ExitStack() as stack:

        def start(cli: Cli, room: str, name: str, *args: str) -> Joined:
            joined = Joined(cli, room, tmp_path, name, *args)
            stack.callback(joined.stop)
            return joined

        yield start


def test_two_people_hear_each_other(
    pair: Pair, tmp_path: Path, start_join: Callable[..., Joined]
) -> None:
    ann_name, ben_name = pair.names
    tone440 = write_wav(tmp_path / "tone440.wav", tone(440, 3.0))
    tone1000 = write_wav(tmp_path / "tone1000.wav", tone(1000, 3.0))
    heard_by_a, heard_by_b = tmp_path / "heard_by_a.wav", tmp_path / "heard_by_b.wav"
    # Ben stays longer, so he sees Ann leave when her time is up.
    a = start_join(
        pair.ann, pair.room, "a", "--input", str(tone440), "--output", str(heard_by_a),
        "--duration", "6",
    )  # fmt: skip
    b = start_join(
        pair.ben, str(pair.room_id), "b", "--input", str(tone1000), "--output", str(heard_by_b),
        "--duration", "8", "--audio-only",
    )  # fmt: skip

    def listed() -> list[Any]:
        return list(pair.ben.json("call", "list")["calls"])

    eventually(
        lambda: (
            [(c["room_id"], sorted(c["participants"])) for c in listed()]
            == [(pair.room_id, sorted(pair.names))]
        ),
        what="both in `coope call list`",
    )
    assert (a.wait(), b.wait()) == (0, 0), (a.stderr(), b.stderr())

    for who, heard, loud, quiet in (
        (a, heard_by_a, 1000, 440),
        (b, heard_by_b, 440, 1000),
    ):
        samples, rate = read_mono(heard)
        assert rate == 48_000
        # As long as the call, give or take joining: silence is written when nobody speaks.
        assert 4.5 < len(samples) / rate < 9
        # The other's tone, for most of its three seconds, and none of one's own.
        audible = np.abs(samples) > 0.05
        assert audible.sum() / rate > 1.5, audible.sum() / rate
        assert band_energy(samples, loud) > 20 * band_energy(samples, quiet)
        assert who.stderr() == ""

    assert a.saw("call.connected", user=ann_name)
    assert a.saw("call.speaking", user=ben_name, speaking=True)
    assert a.saw("call.left", room_id=pair.room_id)
    # Whoever joined second found the other in the call, the first saw them join.
    assert b.saw("call.participant_joined", user=ann_name) or b.saw(
        "call.joined", participants=[ann_name, ben_name]
    )
    assert b.saw("call.participant_left", user=ann_name, reason="left")  # left, not vanished
    assert b.saw("call.speaking", user=ann_name, speaking=True)
    assert b.saw("call.speaking", user=ann_name, speaking=False)  # her file ran out
    assert pair.ann.json("call", "list") == {"calls": []}


def test_ctrl_c_and_sigterm_leave_cleanly(
    pair: Pair, tmp_path: Path, start_join: Callable[..., Joined]
) -> None:
    ann_name, ben_name = pair.names
    # Long enough to be heard however much later than ann's media ben's connects (a busy
    # machine); she is stopped as soon as he hears her.
    tone440 = write_wav(tmp_path / "tone440.wav", tone(440, 5.0))
    a = start_join(
        pair.ann, pair.room, "a", "--input", str(tone440), "--output", str(tmp_path / "a.wav"),
        "--duration", "30",
    )  # fmt: skip
    b = start_join(
        pair.ben, pair.room, "b", "--input", str(tone440), "--output", str(tmp_path / "b.wav"),
        "--duration", "30",
    )  # fmt: skip
    eventually(lambda: b.saw("call.speaking", user=ann_name, speaking=True), what="ben hears")
    a.proc.send_signal(signal.SIGINT)
    assert a.wait() == 130
    assert a.saw("call.left", room_id=pair.room_id)
    assert a.stderr() == ""
    eventually(lambda: b.saw("call.participant_left", user=ann_name, reason="left"))
    b.proc.send_signal(signal.SIGTERM)
    assert b.wait() == 0, b.stderr()
    # `call.ended` is not checked: it travels the room's event bus, `call.left` comes straight
    # back on the socket, and the session stops reading once it has the latter.
    assert b.saw("call.left", room_id=pair.room_id)
    assert read_mono(tmp_path / "b.wav")[0].size > 0  # the file was closed properly
    assert pair.ben.json("call", "list") == {"calls": []}  # he was the last one


def test_taking_the_call_over_ends_it_on_the_first_device(
    pair: Pair, tmp_path: Path, start_join: Callable[..., Joined]
) -> None:
    silence = write_wav(tmp_path / "silence.wav", tone(440, 0.1, amplitude=0.0))
    files = ("--input", str(silence), "--output")
    laptop = start_join(pair.ann, pair.room, "laptop", *files, str(tmp_path / "l.wav"))
    eventually(lambda: laptop.saw("call.connected"), what="the laptop in the call")
    # Without --takeover the second device is refused and the first stays.
    refused = pair.ann("call", "join", pair.room, *files, str(tmp_path / "p.wav"))
    assert_fails(refused, 6, "already in this call on another device")
    phone = start_join(
        pair.ann, pair.room, "phone", *files, str(tmp_path / "p.wav"), "--takeover",
        "--duration", "1",
    )  # fmt: skip
    assert laptop.wait() == 6
    assert laptop.saw("call.kicked", room_id=pair.room_id)
    # It ran with --json, so its error is JSON too.
    assert [json.loads(line) for line in laptop.stderr().splitlines()] == [
        {
            "error": {
                "code": "conflict",
                "message": f"you left the call in room {pair.room_id} (taken over): this account"
                " joined it from another device",
                "exit": 6,
            }
        }
    ]
    assert phone.wait() == 0, phone.stderr()


def test_join_without_files_needs_portaudio_and_devices(pair: Pair, tmp_path: Path) -> None:
    """Uses the real check of this machine: with sound hardware there is nothing to refuse."""
    try:
        require_audio_devices(input=True, output=True)
    except Unavailable as exc:
        expected = exc.message
    else:
        pytest.skip("this machine has PortAudio, a microphone and a speaker")
    assert expected in {
        PORTAUDIO_MISSING,
        no_device_message(["input"]),
        no_device_message(["output"]),
        no_device_message(["input", "output"]),
    }
    line = assert_fails(pair.ann("call", "join", pair.room), 9, expected)
    assert "PortAudio" in line or "no audio input device" in line or "no audio output" in line
    assert "--input FILE.wav --output FILE.wav" in line


def test_a_bot_that_only_speaks_or_only_listens_needs_no_sound_hardware(
    pair: Pair, tmp_path: Path, start_join: Callable[..., Joined]
) -> None:
    """Ann only speaks (--input, no --output), Ben only listens (--output, no --input). Where
    this machine lacks the other device, Ann's call discards what it hears and Ben's sends
    silence, each saying so on stderr; with the device, it is used and nothing is said."""
    ann_name, _ = pair.names
    talk = write_wav(tmp_path / "talk.wav", tone(440, 2.0))
    heard = tmp_path / "heard.wav"
    speaker, microphone = missing_audio_device("output"), missing_audio_device("input")
    ben = start_join(pair.ben, pair.room, "ben", "--output", str(heard), "--duration", "6")
    eventually(lambda: ben.saw("call.connected"), what="ben in the call")
    ann = start_join(pair.ann, pair.room, "ann", "--input", str(talk), "--duration", "3")
    assert (ann.wait(), ben.wait()) == (0, 0), (ann.stderr(), ben.stderr())

    assert ann.stderr().splitlines() == (
        [f"warning: {speaker}: what is heard is discarded (--output FILE.wav keeps it)"]
        if speaker
        else []
    )
    assert ben.stderr().splitlines() == (
        [f"warning: {microphone}: sending silence (--input FILE.wav sends a file)"]
        if microphone
        else []
    )
    assert ben.saw("call.speaking", user=ann_name, speaking=True)
    samples, _ = read_mono(heard)
    assert band_energy(samples, 440) > 0
    assert (np.abs(samples) > 0.05).sum() / 48_000 > 1.0  # most of her two seconds


def test_join_refuses_bad_files_and_unknown_rooms(pair: Pair, tmp_path: Path) -> None:
    text = tmp_path / "notes.wav"
    text.write_text("not audio")
    out = str(tmp_path / "out.wav")
    assert_fails(
        pair.ann("call", "join", pair.room, "--input", str(text), "--output", out),
        7,
        "is not a WAV file",
    )
    ok = write_wav(tmp_path / "ok.wav", tone(440, 0.1))
    assert_fails(
        pair.ann("call", "join", "#nowhere", "--input", str(ok), "--output", out),
        5,
        "you are in no room called #nowhere",
    )
    assert not Path(out).exists()  # nothing written for a call that never started
    missing = pair.ann("call", "join", pair.room, "--input", str(tmp_path / "missing.wav"))
    assert_fails(missing, 5, "no file")  # as every missing input file is


def test_link_and_list(pair: Pair) -> None:
    link = pair.ben.json("call", "link", pair.room)
    assert link == {"room_id": pair.room_id, "url": f"{pair.ben.server}/call/{pair.room_id}"}
    shown = pair.ben("call", "link", str(pair.room_id))
    assert_ok(shown)
    assert shown.stdout.strip() == f"{pair.ben.server}/call/{pair.room_id}"
    listed = pair.ann("call", "list")
    assert (listed.exit_code, listed.stdout) == (0, "")
    assert "no calls going on in your rooms" in listed.stderr
    assert_fails(pair.ann("call", "list", "--token", "nope"), 3, "")


def test_level_bar() -> None:
    assert level_bar(0.0) == "·" * 20
    assert level_bar(1.0) == "█" * 20
    assert level_bar(10 ** (-30 / 20)) == "█" * 10 + "·" * 10  # -30 dBFS: half way


async def test_the_call_display_keeps_the_last_state_or_prints_speaking_lines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The one piece that keeps a call on screen, for `coope call join` and `coope notes
    record`: drawn for people (in a pipe, once, as it was when it stopped), JSON lines for
    scripts."""
    async with CoopeClient("http://127.0.0.1:1") as client:
        session = client.calls.join(7)  # never started: only who is in it is drawn
        session.username, session.participants = "ann", {"ann", "ben"}
        meter = LevelMeter(lambda: 0.0)
        with CallDisplay(CallView(session, "#team", meter, json_lines=False, duration=None)) as d:
            d.refresh()
            session.participants.add("cat")  # after the last refresh
        shown = capsys.readouterr().out
        assert shown.count("call in #team") == 1, shown
        assert shown.endswith("\n") and "cat" in shown.splitlines()[-1], shown

        with CallDisplay(CallView(session, "#team", meter, json_lines=True, duration=None)) as d:
            meter.push("ben", np.full(960, 0.5, dtype=np.float32))
            d.refresh()
            d.refresh()  # only changes are printed
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert [(e["type"], e["data"]["user"], e["data"]["speaking"]) for e in lines] == [
            ("call.speaking", "ben", True)
        ]


def test_coope_tui_and_call_join_share_their_audio_options() -> None:
    """One declaration (`coope.cli.audio_args`): the same names and help in both commands."""
    from typer.core import TyperGroup, TyperOption

    root = every_command()
    assert isinstance(root, TyperGroup)
    call = root.commands["call"]
    assert isinstance(call, TyperGroup)

    def audio_options(name: str, group: TyperGroup) -> list[tuple[list[str], str | None]]:
        return [
            (p.opts, p.help)
            for p in group.commands[name].params
            if isinstance(p, TyperOption) and p.opts[0] in ("--input", "--output", "--device")
        ]

    in_tui, in_join = audio_options("tui", root), audio_options("join", call)
    assert [opts for opts, _ in in_tui] == [["--input"], ["--output"], ["--device"]]
    assert in_tui == in_join
