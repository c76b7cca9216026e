"""`coope chat tail` in a terminal: changes as update lines, every room with --all, -n 0,
multi-line messages and mentions; `chat react` with short codes and honest removals."""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.clitools import Cli, assert_fails, assert_ok
from tests.helpers import eventually

pytestmark = [pytest.mark.timeout(120)]

_pairs = itertools.count()


class Tail:
    """`coope chat tail ...` as `cli`'s person at a shell: a subprocess whose output goes to
    files read while it runs."""

    def __init__(self, cli: Cli, workdir: Path, *args: str, env: dict[str, str] | None = None):
        self.out, self.err = workdir / "tail.out", workdir / "tail.err"
        full_env = {**os.environ, "XDG_CONFIG_HOME": str(cli.config_home), "NO_COLOR": "1"}
        for key in ("COOPE_SERVER", "COOPE_TOKEN", "COOPE_PROFILE", "FORCE_COLOR"):
            full_env.pop(key, None)
        full_env.update(env or {})
        with open(self.out, "w") as out, open(self.err, "w") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "coope", "chat", "tail", *args, "--server", cli.server],
                stdout=out,
                stderr=err,
                env=full_env,
            )

    def lines(self) -> list[str]:
        return self.out.read_text().splitlines()

    def json_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines() if line.strip()]

    def wait_for_lines(self, count: int, what: str) -> list[str]:
        def enough() -> bool:
            assert self.proc.poll() is None, self.err.read_text()
            return len(self.lines()) >= count

        eventually(enough, what=what)
        return self.lines()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


@pytest.fixture
def pair(make_cli: Callable[[], Cli]) -> tuple[Cli, Cli, str, str]:
    """ann and ben, friends (the module shares one daemon), and their names."""
    n = next(_pairs)
    ann, ben = make_cli(), make_cli()
    ann.signup(f"ann{n}")
    ben.signup(f"ben{n}")
    ann.json("friend", "add", f"ben{n}")
    ben.json("friend", "add", f"ann{n}")
    return ann, ben, f"ann{n}", f"ben{n}"


@pytest.fixture
def tails(tmp_path: Path) -> Iterator[Callable[..., Tail]]:
    started: list[Tail] = []

    def start(cli: Cli, *args: str, env: dict[str, str] | None = None) -> Tail:
        folder = tmp_path / f"tail{len(started)}"
        folder.mkdir()
        started.append(Tail(cli, folder, *args, env=env))
        return started[-1]

    yield start
    for tail in started:
        tail.stop()


def test_live_changes_are_json_lines_with_their_kind(
    pair: tuple[Cli, Cli, str, str], tails: Callable[..., Tail]
) -> None:
    ann, ben, ann_name, ben_name = pair
    room = f"#json{ann_name}"
    ann.json("chat", "room", "create", room[1:], "-m", ben_name)
    first = ann.json("chat", "send", room, "before")
    tail = tails(ann, room, "--follow", "-n", "1", "--json")
    tail.wait_for_lines(1, "the history")
    sent = ben.json("chat", "send", room, "hello")
    tail.wait_for_lines(2, "the new message")
    ben.json("chat", "edit", room, str(sent["seq"]), "hello, all")
    ben.json("chat", "react", room, str(first["seq"]), ":thumbsup:")
    ann.json("chat", "react", room, str(first["seq"]), "👍")
    ben.json("chat", "react", room, str(first["seq"]), "👍", "--remove")
    ben.json("chat", "delete", room, str(sent["seq"]))
    tail.wait_for_lines(7, "every change")

    seen = [
        (line["kind"], line["seq"], line.get("emoji"), line.get("by")) for line in tail.json_lines()
    ]
    assert seen == [
        ("created", first["seq"], None, None),
        ("created", sent["seq"], None, None),
        ("edited", sent["seq"], None, None),
        ("reaction_added", first["seq"], "👍", ben_name),
        ("reaction_added", first["seq"], "👍", ann_name),
        ("reaction_removed", first["seq"], "👍", ben_name),
        ("deleted", sent["seq"], None, None),
    ]
    lines = tail.json_lines()
    assert lines[2]["message"]["body"] == "hello, all"
    assert [line["change"] for line in lines] == [
        "created",
        "created",
        "updated",
        "updated",
        "updated",
        "updated",
        "deleted",
    ]


def test_people_see_one_line_per_change_not_the_message_again(
    pair: tuple[Cli, Cli, str, str], tails: Callable[..., Tail]
) -> None:
    ann, ben, ann_name, ben_name = pair
    room = f"#human{ann_name}"
    ann.json("chat", "room", "create", room[1:], "-m", ben_name)
    sent = ben.json("chat", "send", room, "two lines\nof text")
    tail = tails(ann, room, "-f", "-n", "1")
    tail.wait_for_lines(2, "the history")  # from then on, nothing can be missed
    n = sent["seq"]
    ben.json("chat", "edit", room, str(n), "now\nedited")
    tail.wait_for_lines(4, "the edit")
    ann.json("chat", "react", room, str(n), ":tada:")
    ben.json("chat", "react", room, str(n), "🎉")
    ann.json("chat", "react", room, str(n), "🎉", "--remove")
    ben.json("chat", "delete", room, str(n))
    lines = tail.wait_for_lines(8, "every change")

    assert re.fullmatch(rf"\d\d:\d\d +{n} {ben_name}: two lines", lines[0])
    assert lines[1] == " " * lines[0].index("two lines") + "of text"
    assert re.fullmatch(rf"\d\d:\d\d +{n} ✎ {ben_name} edited: now", lines[2])
    assert lines[3] == " " * lines[2].index("now") + "edited"
    changes = [re.fullmatch(rf"\d\d:\d\d +{n} (.*)", line) for line in lines[4:]]
    assert [change and change[1] for change in changes] == [
        f"+ 🎉 by {ann_name}",
        f"+ 🎉 by {ben_name}",
        f"- 🎉 by {ann_name}",
        "✗ deleted",
    ]
    assert tail.err.read_text() == ""


def test_all_follows_every_room_and_marks_the_others(
    pair: tuple[Cli, Cli, str, str], tails: Callable[..., Tail]
) -> None:
    ann, ben, ann_name, ben_name = pair
    main, other = f"#main{ann_name}", f"#other{ann_name}"
    ann.json("chat", "room", "create", main[1:], "-m", ben_name)
    ann.json("chat", "room", "create", other[1:], "-m", ben_name)
    ann.json("chat", "send", main, "history of the main room")
    ann.json("chat", "send", main, "the latest of the main room")
    tail = tails(ann, main, "--all", "-n", "1", "--json")
    eventually(lambda: "following 2 rooms" in tail.err.read_text(), what="the rooms listed")
    ben.json("chat", "send", main, "in the main room")
    ben.json("chat", "send", other, "in the other room")
    ben.json("chat", "send", f"@{ann_name}", "a first direct message")  # a new room
    joined = f"#joined{ann_name}"
    ben.json("chat", "room", "create", joined[1:], "-m", ann_name)
    ben.json("chat", "send", joined, "in a room joined while tailing")
    tail.wait_for_lines(5, "every room's messages")

    seen = [(line.get("room"), line["message"]["body"]) for line in tail.json_lines()]
    assert seen[:2] == [(None, "the latest of the main room"), (None, "in the main room")]
    assert sorted(seen[2:]) == sorted(
        [
            (other, "in the other room"),
            (f"@{ben_name}", "a first direct message"),
            (joined, "in a room joined while tailing"),
        ]
    )
    # Shown is read, in every room.
    eventually(
        lambda: all(r["unread"] == 0 for r in ann.json("chat", "rooms")), what="all rooms read"
    )


def test_all_without_a_room_marks_every_line(
    pair: tuple[Cli, Cli, str, str], tails: Callable[..., Tail]
) -> None:
    ann, ben, ann_name, ben_name = pair
    room = f"#every{ann_name}"
    ann.json("chat", "room", "create", room[1:], "-m", ben_name)
    ann.json("chat", "send", room, "old, not shown")
    tail = tails(ann, "--all")
    eventually(lambda: "following 1 room " in tail.err.read_text(), what="the room listed")
    ben.json("chat", "send", room, "new")
    (line,) = tail.wait_for_lines(1, "the live message")
    assert re.fullmatch(rf"{room} \d\d:\d\d +\d+ {ben_name}: new", line)


def test_limit_zero_shows_no_history_and_a_negative_one_is_a_usage_error(
    pair: tuple[Cli, Cli, str, str],
) -> None:
    ann, _, ann_name, _ = pair
    room = f"#limits{ann_name}"
    ann.json("chat", "room", "create", room[1:])
    ann.json("chat", "send", room, "something")
    assert ann.json("chat", "tail", room, "-n", "0") == {"messages": [], "has_more": True}
    assert ann.json("chat", "rooms")[0]["unread"] == 0  # own message; nothing marked either
    human = ann("chat", "tail", room, "-n", "0")
    assert_ok(human)
    assert human.stdout == ""
    for bad in ("-1", "501", "x"):
        refused = ann("chat", "tail", room, "-n", bad)
        assert refused.exit_code == 2, (bad, refused.stdout, refused.stderr)
    neither = ann("chat", "tail")
    assert neither.exit_code == 2 and "--all" in neither.stderr


def test_history_indents_continuation_lines(pair: tuple[Cli, Cli, str, str]) -> None:
    ann, ben, ann_name, ben_name = pair
    ann.json("chat", "send", f"@{ben_name}", "first line\nsecond line\n  kept indent")
    shown = ben("chat", "history", f"@{ann_name}")
    assert_ok(shown)
    first, second, third = shown.stdout.splitlines()
    column = first.index("first line")
    assert second == " " * column + "second line"
    assert third == " " * column + "  kept indent"


def _run(cli: Cli, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "XDG_CONFIG_HOME": str(cli.config_home), **env}
    for key in ("COOPE_SERVER", "COOPE_TOKEN", "COOPE_PROFILE", "NO_COLOR", "FORCE_COLOR"):
        if key not in env:
            full_env.pop(key, None)
    return subprocess.run(
        [sys.executable, "-m", "coope", *args, "--server", cli.server],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=60,
        check=False,
    )


def test_mentions_of_the_reader_stand_out_on_a_terminal_only(
    pair: tuple[Cli, Cli, str, str],
) -> None:
    ann, ben, ann_name, ben_name = pair
    ben.json("chat", "send", f"@{ann_name}", f"@{ann_name}: look, not @{ann_name}x or @{ben_name}")
    terminal = _run(ann, "chat", "tail", f"@{ben_name}", env={"FORCE_COLOR": "1"})
    assert terminal.returncode == 0, terminal.stderr
    styled = re.findall(r"\x1b\[[0-9;]*m(@[a-z0-9]+)\x1b\[0m", terminal.stdout)
    assert styled == [f"@{ann_name}"]  # ann's own mention, not @annNx nor ben's
    piped = _run(ann, "chat", "tail", f"@{ben_name}", env={})
    assert piped.returncode == 0, piped.stderr
    assert "\x1b" not in piped.stdout
    assert piped.stdout.rstrip().endswith(f"@{ann_name}: look, not @{ann_name}x or @{ben_name}")


def test_react_takes_short_codes_and_a_removal_must_remove_something(
    pair: tuple[Cli, Cli, str, str],
) -> None:
    ann, ben, _, ben_name = pair
    room = f"@{ben_name}"
    sent = ann.json("chat", "send", room, "react to me")
    n = str(sent["seq"])
    added = ann("chat", "react", room, n, ":thumbsup:")
    assert added.exit_code == 0, added.stderr
    assert f"✓ added 👍 on message {n}" in added.output  # a remark: stdout or stderr
    assert_fails(ann("chat", "react", room, n, "lol"), 7, "a reaction is one emoji")
    assert_fails(ann("chat", "react", room, n, ":nope:"), 7, "unknown short code :nope:")
    assert_fails(
        ann("chat", "react", room, n, "🎉", "--remove"),
        5,
        f"you have not reacted with 🎉 to message {n}: nothing to take back",
    )
    taken = ann("chat", "react", room, n, ":+1:", "--remove")
    assert taken.exit_code == 0, taken.stderr
    assert f"✓ took back 👍 on message {n}" in taken.output
    assert ann.json("chat", "history", room)["messages"][0]["reactions"] == {}


def test_all_tells_a_change_to_an_old_message_of_another_room_as_a_change(
    pair: tuple[Cli, Cli, str, str], tails: Callable[..., Tail]
) -> None:
    ann, ben, ann_name, ben_name = pair
    main, other = f"#oldmain{ann_name}", f"#oldother{ann_name}"
    ann.json("chat", "room", "create", main[1:], "-m", ben_name)
    ann.json("chat", "room", "create", other[1:], "-m", ben_name)
    old = ben.json("chat", "send", other, "an old message")
    ann.json("chat", "history", other)  # read by nobody: history marks nothing
    unread = {r["id"]: r["unread"] for r in ann.json("chat", "rooms")}
    tail = tails(ann, main, "--all", "-n", "0", "--json")
    eventually(lambda: "following 2 rooms" in tail.err.read_text(), what="the rooms listed")
    ben.json("chat", "react", other, str(old["seq"]), "🎉")
    (line,) = tail.wait_for_lines(1, "the reaction")

    told = json.loads(line)
    assert (told["room"], told["kind"], told["seq"]) == (other, "updated", old["seq"])
    assert told["message"]["reactions"] == {"🎉": [ben_name]}
    # Not shown as a new message: the room is not marked read by it.
    assert {r["id"]: r["unread"] for r in ann.json("chat", "rooms")} == unread


def test_all_follows_a_room_left_and_joined_again(
    pair: tuple[Cli, Cli, str, str], tails: Callable[..., Tail]
) -> None:
    ann, ben, ann_name, ben_name = pair
    room = f"#again{ann_name}"
    ben.json("chat", "room", "create", room[1:], "-m", ann_name)
    tail = tails(ann, "--all", "--json")
    eventually(lambda: "following 1 room " in tail.err.read_text(), what="the room listed")
    ann.json("chat", "room", "leave", room)
    eventually(lambda: "no longer following" in tail.err.read_text(), what="the room left")
    ben.json("chat", "room", "add", room, ann_name)
    ben.json("chat", "send", room, "welcome back")
    (line,) = tail.wait_for_lines(1, "the message in the room joined again")

    told = json.loads(line)
    assert (told["room"], told["kind"], told["message"]["body"]) == (
        room,
        "created",
        "welcome back",
    )
