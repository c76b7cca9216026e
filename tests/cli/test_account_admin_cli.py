"""`coope account password|name` and `coope admin password|name|delete|token`, as people and
scripts use them: prompts and --password-stdin, what goes to stdout, exit codes, help."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from coope.cli import account
from coope.cli.main import app as main_app
from tests.cli.clitools import Cli, assert_fails, assert_ok, every_command
from tests.helpers import PASSWORD

NEW = "a brand new passphrase"
runner = CliRunner()


def run_account(cli: Cli, *args: str, input: str | None = None) -> Result:
    """`coope account ARGS` as `cli`'s person (the group's own app: `coope.cli.main` registers
    it as `account`)."""
    env: dict[str, str | None] = {
        "XDG_CONFIG_HOME": str(cli.config_home),
        "COOPE_SERVER": None,
        "COOPE_TOKEN": None,
        "COOPE_PROFILE": None,
        "NO_COLOR": "1",
    }
    return runner.invoke(account.app, list(args), input=input, env=env)


def account_json(cli: Cli, *args: str, input: str | None = None) -> Any:
    result = run_account(cli, *args, "--json", input=input)
    assert_ok(result)
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def root(make_cli: Callable[[], Cli]) -> Cli:
    """The daemon's first account, hence its admin."""
    cli = make_cli()
    cli.signup("root")
    return cli


@pytest.fixture
def user(make_cli: Callable[[], Cli], root: Cli) -> Callable[[str], Cli]:
    def make(username: str) -> Cli:
        cli = make_cli()
        cli.signup(username)
        return cli

    return make


# --- your own account ---------------------------------------------------------------------


def test_password_change_from_a_script_keeps_this_login(
    user: Callable[[str], Cli], make_cli: Callable[[], Cli]
) -> None:
    amy = user("amy")
    laptop = make_cli()
    laptop.json("login", "amy", "--password-stdin", "--server", amy.server, input=PASSWORD)
    secret = amy.json("token", "create", "cron")["token"]
    out = account_json(amy, "password", "--password-stdin", input=f"{PASSWORD}\n{NEW}\n")
    assert out["ended"] == {"sessions_ended": 1, "api_tokens_revoked": 0}
    assert amy.json("whoami")["user"]["username"] == "amy", "the saved login goes on"
    assert_fails(laptop("whoami"), 3, "session has ended")
    assert amy.json("whoami", "--token", secret)["auth"] == "api_token"
    fresh = make_cli()
    fresh.json("login", "amy", "--password-stdin", "--server", amy.server, input=NEW)


def test_password_change_at_a_terminal_asks_three_times(
    user: Callable[[str], Cli], monkeypatch: pytest.MonkeyPatch
) -> None:
    ben = user("ben")
    monkeypatch.setattr(account, "at_terminal", lambda: True)
    mismatch = run_account(ben, "password", input=f"{PASSWORD}\n{NEW}\nsomething else\n")
    assert mismatch.exit_code != 0
    result = run_account(ben, "password", input=f"{PASSWORD}\n{NEW}\n{NEW}\n")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert "Current password" in result.stdout and "New password" in result.stdout
    assert NEW not in result.stdout + result.stderr, "the prompts hide what is typed"
    assert "password changed; 0 other sessions ended" in result.stdout + result.stderr


def test_password_change_failures_and_their_exit_codes(user: Callable[[str], Cli]) -> None:
    cid = user("cid")
    wrong = run_account(cid, "password", "--password-stdin", input=f"not it\n{NEW}\n")
    assert_fails(wrong, 4, "current password is wrong")
    weak = run_account(cid, "password", "--password-stdin", input=f"{PASSWORD}\nshort\n")
    assert_fails(weak, 7, "at least 8 characters")
    one_line = run_account(cid, "password", "--password-stdin", input=f"{PASSWORD}\n")
    assert_fails(one_line, 7, "the new one on the second")
    no_terminal = run_account(cid, "password", input=f"{PASSWORD}\n{NEW}\n")
    assert_fails(no_terminal, 7, "--password-stdin")
    # Nothing changed on the way.
    assert cid.json("whoami")["user"]["username"] == "cid"


def test_display_name_shows_in_whoami_and_admin_users(
    user: Callable[[str], Cli], root: Cli
) -> None:
    dee = user("dee")
    out = account_json(dee, "name", "Dee Dee")
    assert (out["username"], out["display_name"]) == ("dee", "Dee Dee")
    whoami = dee("whoami")
    assert_ok(whoami)
    assert "dee (Dee Dee)" in whoami.stdout
    listed = root.json("admin", "users", "--search", "Dee Dee")["users"]
    assert [(u["username"], u["display_name"]) for u in listed] == [("dee", "Dee Dee")]
    assert_fails(run_account(dee, "name", "x" * 65), 7, "at most 64")
    assert_fails(run_account(dee, "name", "deleted user"), 7, "deleted accounts")


def test_account_help_says_what_ends_and_what_stays() -> None:
    result = runner.invoke(account.app, ["password", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    for said in ("--password-stdin", "first line", "second", "other session", "API tokens"):
        assert said in text, said


# --- an admin on others' accounts ---------------------------------------------------------


def test_admin_token_for_a_bot_prints_the_secret_alone(root: Cli) -> None:
    root.json("admin", "create", "deploy-bot", "--password-stdin", input=PASSWORD)
    made = root("admin", "token", "create", "deploy-bot", "ci", "--expires-days", "7")
    assert made.exit_code == 0, made.stderr
    secret = made.stdout.strip()
    assert made.stdout == secret + "\n" and secret.startswith("coope_")
    assert "created for deploy-bot" in made.stderr and "only time" in made.stderr
    assert root.json("whoami", "--token", secret)["user"]["username"] == "deploy-bot"
    [listed] = root.json("admin", "token", "list", "deploy-bot")
    assert listed["name"] == "ci" and secret not in str(listed)
    revoked = root.json("admin", "token", "revoke", "deploy-bot", str(listed["id"]))
    assert revoked == {"user": "deploy-bot", "revoked": listed["id"]}
    assert_fails(root("whoami", "--token", secret), 3, "revoked")
    assert_fails(root("admin", "token", "revoke", "deploy-bot", str(listed["id"])), 5, "no live")


def test_own_token_create_also_prints_the_secret_alone(user: Callable[[str], Cli]) -> None:
    eve = user("eve")
    made = eve("token", "create", "mine")
    assert made.exit_code == 0, made.stderr
    assert made.stdout.count("\n") == 1 and made.stdout.startswith("coope_")


def test_admin_password_reset(root: Cli, user: Callable[[str], Cli]) -> None:
    fay = user("fay")
    out = root.json("admin", "password", "fay", "--password-stdin", input=NEW)
    assert (out["action"], out["by"], out["user"]["username"]) == ("password_reset", "root", "fay")
    assert out["ended"] == {"sessions_ended": 1, "api_tokens_revoked": 0}
    assert_fails(fay("whoami"), 3, "session has ended")
    fay.json("login", "fay", "--password-stdin", input=NEW)
    assert_fails(fay("admin", "password", "root", "--password-stdin", input=NEW), 4, "admin role")
    assert_fails(root("admin", "password", "root", "--password-stdin", input=NEW), 7, "that is you")
    assert_fails(root("admin", "password", "nobody", "--password-stdin", input=NEW), 5, "nobody")


def test_admin_name(root: Cli, user: Callable[[str], Cli]) -> None:
    gus = user("gus")
    result = root("admin", "name", "gus", "Gus G.")
    assert result.exit_code == 0, result.stderr
    assert gus.json("whoami")["user"]["display_name"] == "Gus G."
    assert_fails(gus("admin", "name", "root", "Hacked"), 4, "admin role")


def test_admin_delete(root: Cli, user: Callable[[str], Cli]) -> None:
    hal = user("hal")
    hal.json("ws", "create", "HalSpace")
    assert_fails(root("admin", "delete", "hal"), 7, "--yes")
    assert_fails(root("admin", "delete", "hal", "-y"), 6, "only owner of HalSpace")
    hal.json("ws", "delete", "HalSpace", "--yes")
    assert_fails(hal("admin", "delete", "root", "-y"), 4, "admin role")
    out = root.json("admin", "delete", "@hal", "-y")
    assert (out["former_username"], out["user"]["display_name"]) == ("hal", "deleted user")
    assert_fails(hal("whoami"), 3, "deleted")
    table = root("admin", "users", "--search", "deleted user")
    assert out["user"]["username"] in table.stdout and "deleted" in table.stdout
    assert_fails(root("admin", "delete", "hal", "-y"), 5, "no user named 'hal'")


def test_admin_help_stays_readable() -> None:
    # Wide enough that Rich need not wrap: each command's row then holds its whole summary.
    result = runner.invoke(main_app, ["admin", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    rows = result.stdout.splitlines()
    for command in ("password", "name", "delete", "token", "users", "disable"):
        summary = _first_docstring_line(command)
        assert any(f" {command} " in row and summary in row for row in rows), (command, summary)


def _first_docstring_line(command: str) -> str:
    """The first line of `coope admin COMMAND`'s help: what its row in the list shows."""
    admin = every_command().commands["admin"]
    help_text: str = admin.commands[command].help or ""
    return help_text.strip().splitlines()[0]
