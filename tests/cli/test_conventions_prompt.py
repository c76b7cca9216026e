"""The password prompt at a real terminal (a pseudo-terminal): asked for, hidden, confirmed."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.cli.clitools import Cli, Terminal
from tests.helpers import PASSWORD

# What getpass writes once echo is off and the terminal's input is flushed (click writes the
# prompt but its last character first, then getpass turns echo off, discarding anything typed
# before, and writes that character): a password typed before it would be lost.
ASKED = "Password: "
ASKED_AGAIN = "Repeat for confirmation: "


def test_a_person_at_a_terminal_is_asked_for_the_password(make_cli: Callable[[], Cli]) -> None:
    cli = make_cli()
    with Terminal(cli, "signup", "prompt_pam", "--server", cli.server) as signup:
        signup.wait_for(ASKED)
        signup.type(PASSWORD)
        signup.wait_for(ASKED_AGAIN)
        signup.type(PASSWORD)
        signup.wait_for("signed up and logged in as prompt_pam")
        assert signup.finish() == 0
    assert PASSWORD.encode() not in signup.seen  # not echoed
    assert b"GetPassWarning" not in signup.seen
    assert cli.credentials()["servers"][cli.server]["username"] == "prompt_pam"


def test_a_failed_check_at_a_terminal_leaves_no_process(make_cli: Callable[[], Cli]) -> None:
    cli = make_cli()
    with (
        pytest.raises(RuntimeError),
        Terminal(cli, "login", "prompt_nobody", "--server", cli.server) as waiting,
    ):
        waiting.wait_for(ASKED)  # it waits for a password nobody types
        raise RuntimeError("a check that failed")
    assert waiting.proc.returncode is not None  # killed, and waited for
