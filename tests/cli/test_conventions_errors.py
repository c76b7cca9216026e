"""Errors the same way everywhere: one line (JSON with --json) on stderr, one exit code per
family, whatever the command and wherever the option was given."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from coope.cli import output
from coope.cli.runtime import exit_code
from coope.client.profiles import Login, Profiles
from coope.core.errors import NotFound
from tests.cli.clitools import Cli, assert_fails


@pytest.fixture
def stopped_server() -> str:
    """The URL of a port nothing listens on (bound, then let go)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _json_error(stderr: str) -> dict[str, object]:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    error: dict[str, object] = json.loads(lines[0])["error"]
    return error


def test_json_errors_on_stderr(make_cli: Callable[[], Cli], stopped_server: str) -> None:
    cli = make_cli()
    for args in (
        ("--json", "whoami", "--server", stopped_server),
        ("whoami", "--json", "--server", stopped_server),
    ):
        result = cli(*args)
        assert result.exit_code == 9 and result.stdout == ""
        error = _json_error(result.stderr)
        assert error["code"] == "unreachable" and error["exit"] == 9
        assert stopped_server in str(error["message"])
    not_found = cli("--json", "profile", "use", "nobody")
    assert not_found.exit_code == 5
    assert _json_error(not_found.stderr)["code"] == "not_found"


def test_usage_errors_are_one_line_with_a_hint(make_cli: Callable[[], Cli]) -> None:
    cli = make_cli()
    line = assert_fails(cli("chat", "send"), 2, "Missing argument 'ROOM'")
    assert "`coope chat send --help`" in line
    assert_fails(cli("whoami", "--bogus"), 2, "--bogus")
    assert_fails(cli("no-such-command"), 2, "no-such-command")
    as_json = cli("--json", "chat", "send")
    assert as_json.exit_code == 2
    error = _json_error(as_json.stderr)
    assert error["code"] == "usage" and error["exit"] == 2


def test_a_server_that_is_not_a_url(make_cli: Callable[[], Cli]) -> None:
    cli = make_cli()
    for args in (("--server", "notaurl", "whoami"), ("whoami", "--server", "notaurl")):
        assert_fails(cli(*args), 7, "'notaurl' is not a daemon URL")
    assert_fails(cli("chat", "rooms", COOPE_SERVER="http//x"), 7, "is not a daemon URL")
    assert_fails(cli("whoami", "--server", "http://host:port"), 7, "is not a daemon URL")


def test_a_stopped_daemon_is_exit_9_with_or_without_a_login(
    make_cli: Callable[[], Cli], stopped_server: str
) -> None:
    cli = make_cli()
    for args in (("whoami",), ("chat", "rooms"), ("friend", "list"), ("logout",)):
        assert_fails(cli(*args, "--server", stopped_server), 9, "cannot reach the daemon")
    Profiles(cli.credentials_path).save(Login(stopped_server, "ghost", "coope_stale"))
    for args in (("whoami",), ("chat", "rooms"), ("ws", "list")):
        assert_fails(cli(*args), 9, "cannot reach the daemon")


def test_logout_forgets_locally_when_the_daemon_is_away(
    make_cli: Callable[[], Cli], stopped_server: str
) -> None:
    cli = make_cli()
    cli.signup("err_lou")
    Profiles(cli.credentials_path).save(Login(stopped_server, "err_lou", "coope_away"))
    result = cli("logout", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {
        "server": stopped_server,
        "session_ended": False,
        "daemon_told": False,
        "forgotten": True,
    }
    assert "could not be told" in result.stderr
    saved = cli.credentials()
    assert stopped_server not in saved["servers"]
    assert cli.server in saved["servers"]  # the other server's login stays
    # The default moved back to nothing in particular: the remaining login is used by name only.
    assert_fails(cli("logout", "--server", stopped_server), 9, "cannot reach")


def test_a_password_prompt_without_a_terminal(make_cli: Callable[[], Cli]) -> None:
    cli = make_cli()
    result = cli("login", "err_pat", "--server", cli.server, input="secret\n")
    line = assert_fails(result, 7, "--password-stdin")
    assert "GetPassWarning" not in line


def test_a_missing_input_file_is_exit_5_everywhere(
    make_cli: Callable[[], Cli], tmp_path: Path
) -> None:
    cli = make_cli()
    cli.signup("err_fay")
    missing = str(tmp_path / "missing")
    for args in (
        ("call", "join", "@err_fay", "--input", missing),  # a path option Typer checks
        ("notes", "transcribe", missing),  # a path argument Typer checks
        ("daemon", "--tls-cert", missing, "--tls-key", missing),
        ("ws", "create", "ErrFay"),  # (setup for the next one)
    ):
        result = cli(*args)
        if args[0] != "ws":
            assert_fails(result, 5, f"no file {missing}")
    assert_fails(cli("doc", "import", "ErrFay", missing), 5, f"no file {missing}")  # read_text
    with pytest.raises(NotFound, match="no file") as raised:
        output.read_bytes(missing)
    assert exit_code(raised.value) == 5
