"""Logins on several servers: a new default is said, `profile use URL` switches back, and
`profile status` tells which login each server uses and whether it still works."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from tests.cli.clitools import Cli, assert_fails
from tests.helpers import PASSWORD, DaemonProcess


@pytest.fixture(scope="module")
def second_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with DaemonProcess(tmp_path_factory.mktemp("daemon2") / "data").running() as daemon:
        yield daemon.url


def test_a_login_elsewhere_says_it_is_the_default_now(
    make_cli: Callable[[], Cli], second_server: str
) -> None:
    cli = make_cli()
    cli.signup("lg_here")
    there = cli(
        "signup", "lg_there", "--password-stdin", "--server", second_server,
        input=PASSWORD + "\n",
    )  # fmt: skip
    assert there.exit_code == 0, there.stderr
    assert f"it was lg_here on {cli.server}" in there.stderr
    assert f"`coope profile use {cli.server}` switches back" in there.stderr
    assert cli.json("whoami")["server"] == second_server

    switched = cli.json("profile", "use", cli.server)
    assert switched == {"profile": None, "server": cli.server, "username": "lg_here"}
    assert cli.json("whoami")["user"]["username"] == "lg_here"

    # Scripts read it from the JSON; a login that changes nothing has nothing to say.
    again = cli.json(
        "login", "lg_here", "--password-stdin", "--server", cli.server, input=PASSWORD + "\n"
    )
    assert (again["default"], again["previous_default"]) == (True, None)
    moved = cli.json(
        "login", "lg_there", "--password-stdin", "--server", second_server, input=PASSWORD + "\n"
    )
    assert moved["previous_default"] == {"server": cli.server, "username": "lg_here"}


def test_profile_status(make_cli: Callable[[], Cli], second_server: str) -> None:
    cli = make_cli()
    cli.signup("lg_stat")
    cli.json(
        "login", "lg_stat", "--password-stdin", "--server", cli.server, "--profile", "bot",
        input=PASSWORD + "\n",
    )  # fmt: skip
    ended = cli.json(
        "login", "lg_stat", "--password-stdin", "--server", cli.server, "--profile", "old",
        input=PASSWORD + "\n",
    )  # fmt: skip
    cli.json("logout", "--token", ended["token"], "--server", cli.server)  # ended, kept here
    creds = cli.credentials()
    creds["profiles"]["old"] = {
        "server": cli.server,
        "username": "lg_stat",
        "token": ended["token"],
    }
    creds["profiles"]["gone"] = {"server": "http://127.0.0.1:9", "username": "x", "token": "t"}
    cli.credentials_path.write_text(json.dumps(creds))

    rows = {row["profile"]: row for row in cli.json("profile", "status")}
    assert set(rows) == {None, "bot", "old", "gone"}
    assert (rows[None]["state"], rows[None]["role"]) == ("ok", "user")
    # (logout forgot "old", the default then; it is written back by hand as a stale login)
    assert rows[None]["used_for"] == ["default", "--server"]
    assert rows["bot"]["state"] == "ok" and rows["bot"]["used_for"] == ["--profile bot"]
    assert (rows["old"]["state"], rows["old"]["role"]) == ("expired", None)
    assert all(set(row) == set(rows[None]) for row in rows.values())  # the same keys in each
    assert rows["old"]["used_for"] == ["--profile old"]
    assert rows["gone"]["state"] == "unreachable"
    assert all("token" not in row for row in rows.values())
    human = cli("profile", "status")
    assert human.exit_code == 0
    assert "expired: log in again" in human.stdout
    assert_fails(cli("profile", "use", "http://127.0.0.1:1"), 5, "no login saved for")
