"""Ctrl-C stops a live command however it was started, even as a script's background job."""

from __future__ import annotations

import itertools
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.clitools import Cli, CoopeProcess
from tests.helpers import AS_BACKGROUND_JOB, eventually

pytestmark = pytest.mark.slow

_people = itertools.count()


@pytest.fixture
def writer(make_cli: Callable[[], Cli]) -> Cli:
    """One person with a page and a room, each with something in it to follow."""
    cli = make_cli()
    cli.signup(f"follower{next(_people)}")
    cli.json("ws", "create", "Live")
    cli.json("doc", "new", "Live", "Notes")
    cli.json("doc", "append", "Live/Notes", "first words")
    cli.json("chat", "room", "create", "desk")
    cli.json("chat", "send", "#desk", "first message")
    return cli


@pytest.mark.parametrize(
    "command",
    [("doc", "watch", "Live/Notes"), ("chat", "tail", "#desk", "--follow")],
    ids=["doc watch", "chat tail --follow"],
)
def test_a_background_job_still_stops_on_ctrl_c(
    writer: Cli, tmp_path: Path, command: tuple[str, ...]
) -> None:
    live = CoopeProcess(writer, tmp_path, "live", *command, launcher=AS_BACKGROUND_JOB)
    try:
        # Its first line says it is following; it then runs until stopped.
        eventually(lambda: bool(live.lines()), what=f"{live.stderr()} the first line")
        live.proc.send_signal(signal.SIGINT)
        assert live.wait() == 130, live.stderr()
    finally:
        live.stop()
