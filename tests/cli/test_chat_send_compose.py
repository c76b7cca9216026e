"""`coope chat send ROOM` without text: written in $EDITOR or at a prompt on a terminal, read
from stdin otherwise."""

from __future__ import annotations

import itertools
import os
import pty
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.cli.clitools import Cli

pytestmark = [pytest.mark.timeout(120)]

_people = itertools.count()


@pytest.fixture
def ann(make_cli: Callable[[], Cli]) -> Cli:
    cli = make_cli()
    cli.signup(f"writer{next(_people)}")
    return cli


@pytest.fixture
def room(ann: Cli) -> str:
    name = f"notes{ann.config_home.name}"
    ann.json("chat", "room", "create", name)
    return f"#{name}"


@contextmanager
def at_a_terminal(
    cli: Cli, tmp_path: Path, *args: str, env: dict[str, str]
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """`coope ...` with its stdin a terminal (a pty: the process and the master end to type
    into); stdout and stderr go to files."""
    master, slave = pty.openpty()
    full_env = {**os.environ, "XDG_CONFIG_HOME": str(cli.config_home), "NO_COLOR": "1"}
    for key in ("COOPE_SERVER", "COOPE_TOKEN", "COOPE_PROFILE", "VISUAL", "EDITOR"):
        full_env.pop(key, None)
    full_env.update(env)
    with open(tmp_path / "out", "w") as out, open(tmp_path / "err", "w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "coope", *args, "--server", cli.server],
            stdin=slave,
            stdout=out,
            stderr=err,
            env=full_env,
        )
    os.close(slave)
    try:
        yield proc, master
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        os.close(master)


def bodies(cli: Cli, room: str) -> list[str]:
    return [m["body"] for m in cli.json("chat", "history", room)["messages"]]


def test_on_a_terminal_the_message_is_written_in_the_editor(
    ann: Cli, room: str, tmp_path: Path
) -> None:
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nprintf 'from the editor\\nsecond line\\n\\n' > \"$1\"\n")
    editor.chmod(0o700)
    sending = at_a_terminal(ann, tmp_path, "chat", "send", room, env={"EDITOR": str(editor)})
    with sending as (proc, _):
        assert proc.wait(60) == 0, (tmp_path / "err").read_text()
    assert bodies(ann, room) == ["from the editor\nsecond line"]


def test_an_editor_left_empty_sends_nothing(ann: Cli, room: str, tmp_path: Path) -> None:
    with at_a_terminal(ann, tmp_path, "chat", "send", room, env={"VISUAL": "true"}) as (proc, _):
        assert proc.wait(60) == 7
    assert (tmp_path / "err").read_text() == "error: the message is empty: nothing sent\n"
    assert bodies(ann, room) == []


def test_a_mistyped_room_fails_before_anything_is_written(ann: Cli, tmp_path: Path) -> None:
    sending = at_a_terminal(ann, tmp_path, "chat", "send", "#no-such-room", env={"EDITOR": "false"})
    with sending as (proc, _):
        assert proc.wait(60) == 5  # not found; the failing editor never ran (exit 1)


def test_without_an_editor_the_message_is_typed_at_a_prompt(
    ann: Cli, room: str, tmp_path: Path
) -> None:
    with at_a_terminal(ann, tmp_path, "chat", "send", room, env={}) as (proc, master):
        os.write(master, b"typed here\nand here\n")
        os.write(master, b"\x04")  # Ctrl-D on a line of its own: the end
        assert proc.wait(60) == 0, (tmp_path / "err").read_text()
    assert "end it with Ctrl-D" in (tmp_path / "err").read_text()
    assert bodies(ann, room) == ["typed here\nand here"]


def test_without_a_terminal_stdin_is_the_message(ann: Cli, room: str) -> None:
    sent = ann("chat", "send", room, input="piped in\n", EDITOR="false")
    assert sent.exit_code == 0, sent.output
    assert bodies(ann, room) == ["piped in"]


def test_a_friend_s_name_is_checked_before_anything_is_written(ann: Cli, tmp_path: Path) -> None:
    sending = at_a_terminal(ann, tmp_path, "chat", "send", "@nosuchfriend", env={"EDITOR": "false"})
    with sending as (proc, _):
        assert proc.wait(60) == 5  # not your friend; the failing editor never ran (exit 1)
    assert "nosuchfriend is not your friend" in (tmp_path / "err").read_text()


def test_a_message_that_cannot_be_sent_is_given_back(ann: Cli, room: str, tmp_path: Path) -> None:
    written = "worth keeping\n" + "x" * 4100  # longer than a message may be
    editor = tmp_path / "editor.sh"
    editor.write_text(f"#!/bin/sh\nprintf '%s\\n' '{written}' > \"$1\"\n")
    editor.chmod(0o700)
    sending = at_a_terminal(ann, tmp_path, "chat", "send", room, env={"EDITOR": str(editor)})
    with sending as (proc, _):
        assert proc.wait(60) == 7
    err = (tmp_path / "err").read_text()
    assert "not sent; what you wrote:\n" + written + "\n" in err
    assert bodies(ann, room) == []


def test_an_editor_leaving_no_text_but_bytes_sends_nothing(
    ann: Cli, room: str, tmp_path: Path
) -> None:
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nprintf '\\377\\376' > \"$1\"\n")
    editor.chmod(0o700)
    sending = at_a_terminal(ann, tmp_path, "chat", "send", room, env={"EDITOR": str(editor)})
    with sending as (proc, _):
        assert proc.wait(60) != 0
    assert "not UTF-8 text" in (tmp_path / "err").read_text()
    assert bodies(ann, room) == []
