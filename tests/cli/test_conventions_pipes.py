"""Output in a pipe: tables plain (a header, then tab-separated rows, whole at any width), data
alone on stdout and what decorates it on stderr; `--plain` asks for the same on a terminal."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from coope.cli import output
from tests.cli.clitools import Cli, Terminal, assert_ok
from tests.helpers import PASSWORD

BOX = set("│┃━─┏┓┗┛╭╮╰╯┡┩")


def _login_as_profile(cli: Cli, username: str, profile: str) -> None:
    cli.json(
        "login", username, "--password-stdin", "--server", cli.server, "--profile", profile,
        input=PASSWORD + "\n",
    )  # fmt: skip


def test_a_piped_table_is_tab_separated_and_whole(make_cli: Callable[[], Cli]) -> None:
    cli = make_cli()
    cli.signup("pipe_pia")
    long_name = "a-workspace-name-far-longer-than-fifty-columns-allow-in-a-table"
    cli.json("ws", "create", long_name)
    result = cli("ws", "list", COLUMNS="50")
    assert_ok(result)
    assert not BOX & set(result.stdout)
    header, *rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert "name" in header
    (row,) = rows
    assert len(row) == len(header)
    assert row[header.index("name")] == long_name
    # The same for a table a command draws itself, and for --plain and --json before it.
    _login_as_profile(cli, "pipe_pia", "pia")
    listed = cli("--plain", "profile", "list")
    assert listed.stdout.splitlines()[0].split("\t") == ["", "profile", "server", "user"]


def test_decorations_go_to_stderr(make_cli: Callable[[], Cli]) -> None:
    cli = make_cli()
    cli.signup("pipe_pat")
    created = cli("token", "create", "pipe-bot")
    assert created.exit_code == 0, created.stderr
    (secret,) = created.stdout.splitlines()  # TOK=$(coope token create x) gets this alone
    assert secret.startswith("coope_")
    assert "created" in created.stderr
    assert cli.json("whoami", "--token", secret)["user"]["username"] == "pipe_pat"
    room = cli("chat", "room", "create", "pipe-pat-room")
    assert room.exit_code == 0 and room.stdout == "" and room.stderr.startswith("✓ ")


def test_plain_on_a_terminal(make_cli: Callable[[], Cli]) -> None:
    cli = make_cli()
    cli.signup("pipe_ted")
    _login_as_profile(cli, "pipe_ted", "ted")
    with Terminal(cli, "profile", "list") as drawn:
        drawn.wait_for("ted")
        assert drawn.finish() == 0
    assert BOX & set(drawn.seen.decode())  # a person at a terminal gets the drawn table
    with Terminal(cli, "profile", "list", "--plain") as plain:
        plain.wait_for("ted")
        assert plain.finish() == 0
    text = plain.seen.decode()
    assert not BOX & set(text)
    assert "\tprofile\tserver\tuser" in text


def test_an_empty_list_in_a_pipe_is_its_header_alone(make_cli: Callable[[], Cli]) -> None:
    cli = make_cli()
    cli.signup("pipe_nil")
    workspaces = cli("ws", "list")
    assert workspaces.exit_code == 0, workspaces.stderr
    (header,) = workspaces.stdout.splitlines()
    assert "name" in header.split("\t")
    assert "no workspaces yet" in workspaces.stderr
    # Also for the lists a command writes itself: no saved logins, one header line.
    nobody = make_cli()
    for command in ("list", "status"):
        logins = nobody("profile", command)
        assert logins.exit_code == 0, logins.stderr
        assert logins.stdout.splitlines()[0].split("\t")[1:3] == ["profile", "server"]
        assert len(logins.stdout.splitlines()) == 1
        assert "no saved logins" in logins.stderr


def test_a_plain_row_stays_one_line_of_its_cells(capsys: pytest.CaptureFixture[str]) -> None:
    output.configure(plain=True)
    try:
        output.table(["name", "note"], [["a\tb", "two\nlines \\ as typed"]], title="1 thing")
    finally:
        output.configure()
    captured = capsys.readouterr()
    assert captured.out == "name\tnote\na\u2409b\ttwo\u240alines \\ as typed\n"
    assert "1 thing" in captured.err  # the title tells a person: not part of the rows
