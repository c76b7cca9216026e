"""Saved logins as profiles: several accounts and servers side by side, picked per command."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.cli.clitools import Cli, assert_fails
from tests.helpers import PASSWORD, DaemonProcess


@pytest.fixture(scope="module")
def second_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with DaemonProcess(tmp_path_factory.mktemp("daemon2") / "data").running() as daemon:
        yield daemon.url


def login(cli: Cli, username: str, *extra: str) -> dict[str, object]:
    out: dict[str, object] = cli.json(
        "login", username, "--password-stdin", *extra, input=PASSWORD + "\n"
    )
    return out


def whoami(cli: Cli, *extra: str, **env: str | None) -> str:
    out = cli.json("whoami", *extra, **env)
    return f"{out['user']['username']}@{out['server']}"


def test_two_accounts_on_one_server_side_by_side(make_cli: Callable[[], Cli]) -> None:
    admin, bot = make_cli(), make_cli()
    admin.signup("prof_admin")
    bot.signup("prof_bot")
    cli = make_cli()  # one person who runs both
    login(cli, "prof_admin", "--server", cli.server)
    login(cli, "prof_bot", "--server", cli.server, "--profile", "standup")

    # The last login is the default; the server's own login stays where it was.
    assert whoami(cli) == f"prof_bot@{cli.server}"
    assert whoami(cli, "--server", cli.server) == f"prof_admin@{cli.server}"
    assert whoami(cli, "--profile", "standup") == f"prof_bot@{cli.server}"
    assert whoami(cli, COOPE_PROFILE="standup") == f"prof_bot@{cli.server}"

    listed = cli.json("profile", "list")
    assert listed == [
        {"profile": None, "server": cli.server, "username": "prof_admin", "default": False},
        {"profile": "standup", "server": cli.server, "username": "prof_bot", "default": True},
    ]
    # The file keeps its shape for the server's own login (older versions read it the same).
    saved = cli.credentials()
    assert saved["servers"][cli.server]["username"] == "prof_admin"
    assert saved["profiles"]["standup"]["server"] == cli.server
    assert stat.S_IMODE(cli.credentials_path.stat().st_mode) == 0o600


def test_profiles_on_two_servers_and_switching_the_default(
    make_cli: Callable[[], Cli], second_server: str
) -> None:
    cli = make_cli()
    cli.signup("prof_here")
    there = Cli(second_server, cli.config_home)  # the same person, the same saved logins
    there.json(
        "signup",
        "prof_there",
        "--password-stdin",
        "--server",
        second_server,
        "--profile",
        "far",
        input=PASSWORD + "\n",
    )
    assert whoami(cli) == f"prof_there@{second_server}"
    out = cli.json("profile", "use", "far")
    assert out == {"profile": "far", "server": second_server, "username": "prof_there"}
    # A profile's token is never sent to another server: naming one asks that server afresh.
    assert_fails(cli("whoami", "--profile", "far", "--server", cli.server), 3, "not logged in")
    assert whoami(cli, "--server", cli.server) == f"prof_here@{cli.server}"


def test_logout_of_a_profile_forgets_only_it(make_cli: Callable[[], Cli]) -> None:
    cli = make_cli()
    cli.signup("prof_keep")
    login(cli, "prof_keep", "--server", cli.server, "--profile", "second")
    out = cli.json("logout", "--profile", "second")
    assert out == {
        "server": cli.server,
        "session_ended": True,
        "daemon_told": True,
        "forgotten": True,
    }
    assert "second" not in cli.credentials()["profiles"]
    # No default named profile is left: the server's own login is the default again.
    assert whoami(cli) == f"prof_keep@{cli.server}"


def test_unknown_and_bad_profile_names(make_cli: Callable[[], Cli]) -> None:
    cli = make_cli()
    # Refused before anything happens in its name: no account is made by the refused signup.
    refused = cli(
        "signup", "prof_typo", "--password-stdin", "--server", cli.server, "--profile", "a b",
        input=PASSWORD + "\n",
    )  # fmt: skip
    assert_fails(refused, 7, "a profile name is")
    cli.signup("prof_typo")
    assert_fails(cli("whoami", "--profile", "wrok"), 5, "no profile named 'wrok'")
    assert_fails(cli("profile", "use", "wrok"), 5, "no profile named 'wrok'")
    assert_fails(cli("profile", "remove", "wrok"), 5, "no profile named 'wrok'")
    for bad in ("", "a b", "x\x00y", "ä" * 65):
        result = cli(
            "login", "prof_typo", "--password-stdin", "--profile", bad, input=PASSWORD + "\n"
        )
        assert_fails(result, 7, "a profile name is")


def test_profile_remove_and_an_empty_list(make_cli: Callable[[], Cli]) -> None:
    cli = make_cli()
    result = cli("profile", "list")
    assert result.exit_code == 0
    assert result.stdout == "\tprofile\tserver\tuser\n"  # in a pipe: the header alone
    assert "no saved logins" in result.stderr
    cli.signup("prof_gone")
    login(cli, "prof_gone", "--profile", "temp")
    removed = cli.json("profile", "remove", "temp")
    assert removed == {"profile": "temp", "server": cli.server, "forgotten": True}
    assert [p["profile"] for p in cli.json("profile", "list")] == [None]


def test_a_credentials_file_from_before_profiles_still_works(
    make_cli: Callable[[], Cli], tmp_path: Path
) -> None:
    maker = make_cli()
    token = maker.signup("prof_old")["token"]
    cli = make_cli()
    cli.credentials_path.parent.mkdir(parents=True, mode=0o700)
    old = {"servers": {cli.server: {"username": "prof_old", "token": token}}}
    cli.credentials_path.write_text(json.dumps({**old, "default_server": cli.server}))
    assert whoami(cli) == f"prof_old@{cli.server}"


def test_a_profile_named_on_the_command_line_beats_the_environment(
    make_cli: Callable[[], Cli], second_server: str
) -> None:
    cli = make_cli()
    here = cli.signup("prof_env")
    there = Cli(second_server, cli.config_home)
    there.json(
        "signup", "prof_env2", "--password-stdin", "--server", second_server, "--profile", "far",
        input=PASSWORD + "\n",
    )  # fmt: skip
    # Variables left for this server must not follow a profile on another one.
    env = {"COOPE_SERVER": cli.server, "COOPE_TOKEN": str(here["token"])}
    assert whoami(cli, "--profile", "far", **env) == f"prof_env2@{second_server}"
    assert whoami(cli, **env) == f"prof_env@{cli.server}"
    # From the environment too, a profile yields to a token given on the command line.
    far = {"COOPE_PROFILE": "far"}
    out = cli.json("whoami", "--server", cli.server, "--token", str(here["token"]), **far)
    assert out["user"]["username"] == "prof_env"
    # COOPE_PROFILE picks a login; it never names one to overwrite.
    cli.json(
        "login", "prof_env", "--password-stdin", "--server", cli.server,
        input=PASSWORD + "\n", **far,
    )  # fmt: skip
    assert cli.credentials()["profiles"]["far"]["username"] == "prof_env2"


def test_an_explicit_server_and_token_need_no_credentials_file(make_cli: Callable[[], Cli]) -> None:
    maker = make_cli()
    token = maker.signup("prof_file")["token"]
    cli = make_cli()
    cli.credentials_path.parent.mkdir(parents=True)
    cli.credentials_path.write_text("{not json")
    out = cli.json("whoami", "--server", cli.server, "--token", str(token))
    assert out["user"]["username"] == "prof_file"
    assert_fails(cli("whoami", "--server", cli.server), 7, "is not valid JSON")
