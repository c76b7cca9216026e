"""Shared options before the command as well as after it (`coope --json whoami`), and which one
wins: after the command beats before it, and either beats the environment."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.cli.clitools import Cli, assert_fails, assert_ok
from tests.helpers import PASSWORD

UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing listens there in tests


def _who(result_stdout: str) -> str:
    out = json.loads(result_stdout)
    return f"{out['user']['username']}@{out['server']}"


def test_json_before_the_command_is_the_json_after_it(make_cli: Callable[[], Cli]) -> None:
    cli = make_cli()
    cli.signup("opt_jay")
    before, after = cli("--json", "whoami"), cli("whoami", "--json")
    assert_ok(before)
    assert json.loads(before.stdout) == json.loads(after.stdout)
    # A listing and a command two groups down, the same way.
    rooms = cli("--json", "chat", "rooms")
    assert_ok(rooms)
    assert json.loads(rooms.stdout) == cli.json("chat", "rooms")
    created = cli("--json", "chat", "room", "create", "opt-jay-room")
    assert_ok(created)
    assert json.loads(created.stdout)["name"] == "opt-jay-room"


def test_server_token_and_profile_before_the_command(make_cli: Callable[[], Cli]) -> None:
    owner, cli = make_cli(), make_cli()
    token = owner.signup("opt_kay")["token"]
    assert cli("whoami", "--server", cli.server).exit_code == 3  # nothing saved by them yet
    given = cli("--server", cli.server, "--token", token, "--json", "whoami")
    assert_ok(given)
    assert _who(given.stdout) == f"opt_kay@{cli.server}"

    cli.json(
        "login", "opt_kay", "--password-stdin", "--server", cli.server, "--profile", "kay",
        input=PASSWORD + "\n",
    )  # fmt: skip
    by_profile = cli("--profile", "kay", "chat", "rooms", "--json")
    assert_ok(by_profile)
    assert json.loads(by_profile.stdout) == owner.json("chat", "rooms")
    # Before the command, --profile names the profile `login` saves, as after it does.
    cli.json(
        "--profile", "kay2", "login", "opt_kay", "--password-stdin", "--server", cli.server,
        input=PASSWORD + "\n",
    )  # fmt: skip
    assert "kay2" in cli.credentials()["profiles"]


def test_the_option_after_the_command_wins(make_cli: Callable[[], Cli]) -> None:
    cli = make_cli()
    cli.signup("opt_lee")
    won = cli("--server", UNREACHABLE, "whoami", "--server", cli.server, "--json")
    assert_ok(won)
    assert _who(won.stdout) == f"opt_lee@{cli.server}"
    assert_fails(cli("--server", cli.server, "whoami", "--server", UNREACHABLE), 9, "cannot reach")
    # Before the command still beats the environment: it was typed for this run.
    typed = cli("--server", cli.server, "whoami", "--json", COOPE_SERVER=UNREACHABLE)
    assert_ok(typed)
    assert _who(typed.stdout) == f"opt_lee@{cli.server}"
    # --json after the command, with nothing before it: errors are JSON too.
    failed = cli("whoami", "--server", UNREACHABLE, "--json")
    assert failed.exit_code == 9
    assert json.loads(failed.stderr)["error"]["exit"] == 9


def test_options_before_daemon_are_refused(make_cli: Callable[[], Cli]) -> None:
    cli = make_cli()
    # The daemon connects to no daemon and prints no JSON: such an option is a mistake to say.
    assert_fails(cli("--server", cli.server, "daemon"), 2, "`coope daemon` takes no --server")
    as_json = cli("--json", "--profile", "p", "daemon")
    assert as_json.exit_code == 2 and as_json.stdout == ""
    error = json.loads(as_json.stderr)["error"]
    assert (error["code"], error["exit"]) == ("usage", 2)
    assert "takes no --profile, --json" in error["message"]
