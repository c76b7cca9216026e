"""`coope chat tail --follow` as a person leaves it running: a daemon that dies and comes back."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.clitools import Cli
from tests.helpers import DaemonProcess, eventually

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def test_tail_follow_rides_out_a_daemon_killed_and_started_again(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = DaemonProcess(data_dir).start()
    second: DaemonProcess | None = None
    tail: subprocess.Popen[bytes] | None = None
    try:
        cli = Cli(first.url, tmp_path / "config")
        cli.signup("tailer")
        cli.json("chat", "room", "create", "ops")
        cli.json("chat", "send", "#ops", "before the crash")
        out, err = tmp_path / "tail.out", tmp_path / "tail.err"
        env = {**os.environ, "XDG_CONFIG_HOME": str(cli.config_home), "NO_COLOR": "1"}
        for key in ("COOPE_SERVER", "COOPE_TOKEN", "COOPE_PROFILE"):
            env.pop(key, None)
        with open(out, "w") as stdout, open(err, "w") as stderr:
            tail = subprocess.Popen(
                [sys.executable, "-m", "coope", "chat", "tail", "#ops", "--follow"],
                stdout=stdout,
                stderr=stderr,
                env=env,
            )
        eventually(lambda: "before the crash" in out.read_text(), what="the first message")
        # History is printed before the live connection opens: a message that comes live says
        # it is open (a first connection that fails ends the command instead).
        cli.json("chat", "send", "#ops", "while connected")
        eventually(lambda: "while connected" in out.read_text(), what="a live message")

        first.kill()  # SIGKILL: no goodbye on the socket
        eventually(lambda: "reconnecting" in err.read_text(), what="the lost connection told")
        port = first.url.rsplit(":", 1)[1]
        second = DaemonProcess(data_dir, "--port", port).start()
        cli.json("chat", "send", "#ops", "after the crash")

        eventually(lambda: "after the crash" in out.read_text(), 60, "the message after")
        eventually(lambda: "reconnected" in err.read_text(), what="the return told")
        lines = out.read_text().splitlines()
        bodies = [line.split(": ", 1)[1] for line in lines]
        assert bodies == ["before the crash", "while connected", "after the crash"]
        assert err.read_text().splitlines() == [
            "warning: lost the daemon: reconnecting (no message will be missed)",
            "reconnected",
        ]
    finally:
        if tail is not None:
            tail.kill()
            tail.wait(10)
        for daemon in (first, second):
            if daemon is not None:
                daemon.kill()
