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
def writer(make_cli: Callable[[], Cli]) -> tuple[Cli, int]:
    """One person with a page and a room, each with something in it to follow; the number that
    sets their names apart (workspace and room names are unique on the daemon the module shares)."""
    cli = make_cli()
    n = next(_people)
    cli.signup(f"follower{n}")
    cli.json("ws", "create", f"Live{n}")
    cli.json("doc", "new", f"Live{n}", "Notes")
    cli.json("doc", "append", f"Live{n}/Notes", "first words")
    cli.json("chat", "room", "create", f"desk{n}")
    cli.json("chat", "send", f"#desk{n}", "first message")
    return cli, n


@pytest.mark.parametrize(
    "command",
    [("doc", "watch", "Live{n}/Notes"), ("chat", "tail", "#desk{n}", "--follow")],
    ids=["doc watch", "chat tail --follow"],
)
def test_a_background_job_still_stops_on_ctrl_c(
    writer: tuple[Cli, int], tmp_path: Path, command: tuple[str, ...]
) -> None:
    cli, n = writer
    args = [a.format(n=n) for a in command]
    live = CoopeProcess(cli, tmp_path, "live", *args, launcher=AS_BACKGROUND_JOB)
    try:
        # Its first line says it is following; it then runs until stopped.
        eventually(lambda: bool(live.lines()), what=f"{live.stderr()} the first line")
        live.proc.send_signal(signal.SIGINT)
        assert live.wait() == 130, live.stderr()
    finally:
        live.stop()
