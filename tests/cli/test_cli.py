"""The `coope` command line against a real daemon subprocess: output, exit codes, saved logins.

One daemon serves the whole module; every test uses its own usernames and its own
`XDG_CONFIG_HOME`, so the saved logins of one test never leak into another.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

from coope import __version__
from tests.cli.clitools import Cli, assert_fails, assert_ok
from tests.helpers import PASSWORD

UNREACHABLE = "http://127.0.0.1:1"
COMMANDS = [
    "daemon",
    "signup",
    "login",
    "logout",
    "whoami",
    "token",
    "admin",
    "friend",
    "status",
    "chat",
]


@pytest.fixture(scope="module")
def root_signup(make_cli: Callable[[], Cli]) -> tuple[Cli, Result]:
    """The daemon's first account, made in human mode (so its admin notice can be checked)."""
    cli = make_cli()
    result = cli(
        "signup", "Root", "--password-stdin", "--server", cli.server, input=PASSWORD + "\n"
    )
    return cli, result


@pytest.fixture
def root(root_signup: tuple[Cli, Result]) -> Cli:
    cli, result = root_signup
    assert result.exit_code == 0, result.stderr
    return cli


@pytest.fixture
def user(make_cli: Callable[[], Cli], root: Cli) -> Callable[[str], Cli]:
    """Sign up an ordinary account (after root, so never an admin) in a fresh config dir."""

    def make(username: str) -> Cli:
        cli = make_cli()
        out = cli.signup(username)
        assert (out["user"]["username"], out["user"]["role"]) == (username, "user")
        return cli

    return make


# --- signup, whoami, login, logout ----------------------------------------------------------


def test_first_signup_says_it_is_the_admin(root_signup: tuple[Cli, Result]) -> None:
    cli, result = root_signup
    assert result.exit_code == 0 and result.stdout == ""  # all of it tells a person: stderr
    lines = result.stderr.splitlines()
    assert lines[0] == f"✓ signed up and logged in as root on {cli.server}"
    assert "first user of this daemon, so you are its admin" in lines[1]
    assert lines[2] == f"credentials saved in {cli.credentials_path}"
    me = cli.json("whoami")
    assert (me["user"]["username"], me["user"]["role"], me["auth"]) == ("root", "admin", "session")


def test_signup_json_saves_the_login_for_whoami(user: Callable[[str], Cli], server: str) -> None:
    cli = user("alice")
    out = cli.json("whoami")
    assert out["user"]["username"] == "alice"
    assert out["user"]["role"] == "user"
    assert out["auth"] == "session"
    assert out["server"] == server
    assert out["expires_at"] is not None


def test_signup_json_reports_the_session(make_cli: Callable[[], Cli], root: Cli) -> None:
    cli = make_cli()
    out = cli.signup("amelia")
    assert out["first_user"] is False
    assert out["server"] == cli.server
    assert out["user"]["display_name"] == "amelia"
    saved = cli.credentials()
    assert saved["default_server"] == cli.server
    assert saved["servers"][cli.server] == {"username": "amelia", "token": out["token"]}


def test_human_whoami_names_user_role_and_credential(user: Callable[[str], Cli]) -> None:
    cli = user("hugo")
    result = cli("whoami")
    assert_ok(result)
    assert result.stdout.startswith(f"hugo (hugo) on {cli.server}\n")
    assert "role: user" in result.stdout
    assert "credential: session" in result.stdout


def test_credentials_file_is_private(user: Callable[[str], Cli]) -> None:
    cli = user("pat")
    assert stat.S_IMODE(cli.credentials_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(cli.credentials_path.parent.stat().st_mode) == 0o700
    # No temp file is left behind by the atomic write.
    assert sorted(p.name for p in cli.credentials_path.parent.iterdir()) == ["credentials.json"]


def test_whoami_without_a_login_exits_3(make_cli: Callable[[], Cli], server: str) -> None:
    cli = make_cli()
    assert_fails(cli("whoami", "--server", server), 3, f"not logged in to {server}")
    assert not cli.credentials_path.exists()


def test_logout_ends_the_session_and_forgets_it(user: Callable[[str], Cli]) -> None:
    cli = user("lou")
    old_token = cli.credentials()["servers"][cli.server]["token"]

    out = cli.json("logout")
    assert out == {
        "server": cli.server,
        "session_ended": True,
        "daemon_told": True,
        "forgotten": True,
    }
    assert cli.server not in cli.credentials()["servers"]
    assert_fails(cli("whoami"), 3, "not logged in")
    # The session is over on the daemon too, not only forgotten here.
    assert_fails(cli("whoami", "--token", old_token), 3, "session has ended")

    login = cli.json("login", "lou", "--password-stdin", "--server", cli.server, input=PASSWORD)
    assert login["user"]["username"] == "lou"
    assert login["token"] != old_token
    assert cli.json("whoami")["user"]["username"] == "lou"


def test_human_logout_and_login(user: Callable[[str], Cli]) -> None:
    cli = user("lena")
    result = cli("logout")
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == f"✓ logged out of {cli.server}\n"
    result = cli("login", "lena", "--password-stdin", "--server", cli.server, input=PASSWORD + "\n")
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == f"✓ logged in as lena on {cli.server}\n"


def test_login_with_a_wrong_password_exits_3(user: Callable[[str], Cli]) -> None:
    cli = user("wanda")
    result = cli("login", "wanda", "--password-stdin", "--server", cli.server, input="nope-nope\n")
    assert_fails(result, 3, "wrong username or password")
    # The failed attempt did not clobber the saved session.
    assert cli.json("whoami")["user"]["username"] == "wanda"


def test_password_stdin_needs_a_password(make_cli: Callable[[], Cli], server: str) -> None:
    cli = make_cli()
    result = cli("signup", "emptypw", "--password-stdin", "--server", server, input="")
    assert_fails(result, 7, "no password on standard input")


def test_signup_with_a_taken_name_exits_6(make_cli: Callable[[], Cli], root: Cli) -> None:
    cli = make_cli()
    result = cli("signup", "ROOT", "--password-stdin", "--server", root.server, input=PASSWORD)
    assert_fails(result, 6, "'root' is taken")
    assert not cli.credentials_path.exists()


@pytest.mark.parametrize(
    ("username", "problem"),
    [("bad name", "start with a letter"), ("ab", "3 to 32 characters")],
)
def test_signup_with_a_bad_username_exits_7(
    make_cli: Callable[[], Cli], server: str, username: str, problem: str
) -> None:
    cli = make_cli()
    result = cli("signup", username, "--password-stdin", "--server", server, input=PASSWORD)
    assert_fails(result, 7, problem)


def test_signup_with_a_short_password_exits_7(make_cli: Callable[[], Cli], server: str) -> None:
    cli = make_cli()
    result = cli("signup", "shorty", "--password-stdin", "--server", server, input="short\n")
    assert_fails(result, 7, "at least 8")


# --- API tokens -----------------------------------------------------------------------------


def test_api_token_works_via_flag_and_env(
    user: Callable[[str], Cli], make_cli: Callable[[], Cli]
) -> None:
    cli = user("botmaker")
    created = cli.json("token", "create", "notes-bot")
    secret = created["token"]
    assert secret.startswith("coope_")
    assert created["info"]["name"] == "notes-bot"
    assert secret.startswith(created["info"]["prefix"])

    via_flag = cli.json("whoami", "--token", secret)
    assert (via_flag["user"]["username"], via_flag["auth"]) == ("botmaker", "api_token")

    # A machine with no saved login at all: the environment alone is enough.
    bare = make_cli()
    via_env = bare.json("whoami", COOPE_TOKEN=secret, COOPE_SERVER=cli.server)
    assert (via_env["user"]["username"], via_env["auth"]) == ("botmaker", "api_token")
    assert via_env["server"] == cli.server
    assert not bare.credentials_path.exists()


def test_token_list_never_shows_the_secret(user: Callable[[str], Cli]) -> None:
    cli = user("lister")
    first = cli.json("token", "create", "one")
    second = cli.json("token", "create", "two", "--expires-days", "7")

    result = cli("token", "list", "--json")
    assert_ok(result)
    for created in (first, second):
        assert created["token"] not in result.stdout
    listed = json.loads(result.stdout)
    assert [(t["id"], t["name"]) for t in listed] == [
        (first["info"]["id"], "one"),
        (second["info"]["id"], "two"),
    ]
    assert all(set(t) == set(first["info"]) for t in listed)
    assert listed[0]["expires_at"] is None and listed[1]["expires_at"] is not None

    human = cli("token", "list")
    assert_ok(human)
    assert "one" in human.stdout and "two" in human.stdout
    for created in (first, second):
        assert created["token"] not in human.stdout


def test_token_revoke_stops_it_at_once(user: Callable[[str], Cli]) -> None:
    cli = user("revoker")
    created = cli.json("token", "create", "short-lived")
    token_id, secret = created["info"]["id"], created["token"]
    assert cli.json("whoami", "--token", secret)["auth"] == "api_token"

    result = cli("token", "revoke", str(token_id))
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == f"✓ token {token_id} revoked\n"
    assert_fails(cli("whoami", "--token", secret), 3, "revoked")
    assert cli.json("token", "list") == []
    assert_fails(cli("token", "revoke", str(token_id)), 5, f"no live API token with id {token_id}")


def test_token_secret_in_human_mode_is_shown_once_with_a_warning(
    user: Callable[[str], Cli],
) -> None:
    cli = user("humantok")
    result = cli("token", "create", "human")
    assert result.exit_code == 0, result.stderr
    # The secret alone on stdout (`TOK=$(coope token create x)`), what it is on stderr.
    (secret,) = result.stdout.splitlines()
    assert secret.startswith("coope_")
    assert "(human) created" in result.stderr
    assert "only time the token is shown" in result.stderr
    assert cli.json("whoami", "--token", secret)["user"]["username"] == "humantok"


@pytest.mark.parametrize(
    ("username", "name"), [("markup", "[bold]bot"), ("emoji", "bot:smile:"), ("slash", "a\\b")]
)
def test_token_name_is_shown_verbatim(user: Callable[[str], Cli], username: str, name: str) -> None:
    """User text must appear exactly as typed: not read as Rich markup or emoji codes, and not
    escaped twice."""
    cli = user(username)
    result = cli("token", "create", name)
    assert result.exit_code == 0, result.stderr
    told = result.stderr.splitlines()[0]  # (stdout holds the secret alone)
    assert told.endswith(f" ({name}) created"), told
    table = cli("token", "list")
    assert_ok(table)
    assert f"\t{name}\t" in table.stdout, table.stdout  # a plain table, in a pipe


def test_password_prompt_when_not_reading_stdin(make_cli: Callable[[], Cli], root: Cli) -> None:
    # Without a terminal there is nobody to prompt: the way to give a password is named (the
    # prompt at a terminal: tests/cli/test_conventions_prompt.py).
    cli = make_cli()
    refused = cli("signup", "prompted", "--server", cli.server, input=f"{PASSWORD}\n{PASSWORD}\n")
    assert_fails(refused, 7, "pass --password-stdin")
    assert not cli.credentials_path.exists()


# --- administration -------------------------------------------------------------------------


def test_admin_users_lists_and_searches(root: Cli, user: Callable[[str], Cli]) -> None:
    for name in ("srch_ab", "srchxab", "srch-zz"):
        user(name)

    everyone = root.json("admin", "users", "--limit", "500")
    names = [u["username"] for u in everyone["users"]]
    assert {"root", "srch_ab", "srchxab", "srch-zz"} <= set(names)
    assert names == sorted(names)
    assert everyone["total"] == len(names)

    found = root.json("admin", "users", "--search", "srch")
    assert sorted(u["username"] for u in found["users"]) == ["srch-zz", "srch_ab", "srchxab"]
    assert found["total"] == 3
    # '_' is a literal, not the SQL LIKE wildcard.
    literal = root.json("admin", "users", "--search", "srch_")
    assert [u["username"] for u in literal["users"]] == ["srch_ab"]

    paged = root.json("admin", "users", "--search", "srch", "--limit", "1", "--offset", "1")
    assert (paged["total"], [u["username"] for u in paged["users"]]) == (3, ["srch_ab"])

    table = root("admin", "users", "--search", "srch-zz")
    assert table.exit_code == 0
    assert "1 of 1 users" in table.stderr  # a table's title tells a person: stderr in a pipe
    assert "srch-zz" in table.stdout and "srchxab" not in table.stdout


def test_non_admin_cannot_list_users(user: Callable[[str], Cli]) -> None:
    cli = user("nosy")
    assert_fails(cli("admin", "users"), 4, "this needs the admin role")


def test_admin_role_promotes_a_user(root: Cli, user: Callable[[str], Cli]) -> None:
    bob = user("bob")
    assert_fails(bob("admin", "users"), 4, "this needs the admin role")

    result = root("admin", "role", "bob", "admin")
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == "✓ bob is now admin\n"
    assert bob.json("whoami")["user"]["role"] == "admin"
    assert bob.json("admin", "users", "--search", "bob")["users"][0]["role"] == "admin"

    demoted = root.json("admin", "role", "bob", "user")
    assert demoted["role"] == "user"
    assert_fails(bob("admin", "users"), 4, "this needs the admin role")


def test_admin_role_of_an_unknown_user_exits_5(root: Cli) -> None:
    assert_fails(root("admin", "role", "nobody", "admin"), 5, "no user named 'nobody'")


def test_admin_disable_of_an_unknown_user_exits_5(root: Cli) -> None:
    assert_fails(root("admin", "disable", "nobody"), 5, "no user named 'nobody'")


def test_admin_role_rejects_an_unknown_role_as_usage(root: Cli) -> None:
    result = root("admin", "role", "root", "emperor")
    assert result.exit_code == 2
    assert "emperor" in result.stderr


def test_admin_disable_locks_the_user_out(root: Cli, user: Callable[[str], Cli]) -> None:
    carl = user("carl")
    created = carl.json("token", "create", "carl-bot")

    out = root.json("admin", "disable", "carl")
    assert (out["username"], out["disabled"]) == ("carl", True)
    assert_fails(carl("whoami"), 3, "disabled")
    assert_fails(carl("whoami", "--token", created["token"]), 3, "disabled")
    result = carl("login", "carl", "--password-stdin", "--server", carl.server, input=PASSWORD)
    assert_fails(result, 4, "disabled")

    enabled = root("admin", "enable", "carl")
    assert (enabled.exit_code, enabled.stdout) == (0, "")
    assert enabled.stderr == "✓ carl is enabled\n"
    login = carl.json("login", "carl", "--password-stdin", "--server", carl.server, input=PASSWORD)
    assert login["user"]["disabled"] is False


def test_admin_create_makes_an_account_that_can_log_in(
    root: Cli, make_cli: Callable[[], Cli]
) -> None:
    out = root.json(
        "admin", "create", "made-by-admin", "--role", "admin", "--password-stdin", input=PASSWORD
    )
    assert (out["username"], out["role"]) == ("made-by-admin", "admin")
    cli = make_cli()
    login = cli.json(
        "login", "made-by-admin", "--password-stdin", "--server", cli.server, input=PASSWORD
    )
    assert login["user"]["role"] == "admin"


# --- failures that never reach the daemon ---------------------------------------------------


def test_unreachable_server_exits_9(make_cli: Callable[[], Cli]) -> None:
    cli = make_cli()
    line = assert_fails(cli("whoami", "--server", UNREACHABLE, "--token", "x"), 9, UNREACHABLE)
    assert "cannot reach the daemon" in line
    signup = cli("signup", "ghost", "--password-stdin", "--server", UNREACHABLE, input=PASSWORD)
    assert_fails(signup, 9, "cannot reach the daemon")
    assert not cli.credentials_path.exists()


def test_corrupt_credentials_file_is_explained(make_cli: Callable[[], Cli], server: str) -> None:
    cli = make_cli()
    cli.credentials_path.parent.mkdir(parents=True)
    cli.credentials_path.write_text("{not json")
    assert_fails(cli("whoami", "--server", server), 7, "is not valid JSON")


# --- the installed entry points -------------------------------------------------------------


def _run(args: list[str], config_home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_CONFIG_HOME": str(config_home)}
    env.pop("COOPE_SERVER", None)
    env.pop("COOPE_TOKEN", None)
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=30)


def test_python_m_coope_help_lists_the_commands(tmp_path: Path) -> None:
    proc = _run([sys.executable, "-m", "coope", "--help"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    for command in COMMANDS:
        assert any(line.split()[1:2] == [command] for line in proc.stdout.splitlines()), command
    assert "Exit codes" in proc.stdout


def test_console_script_version(tmp_path: Path) -> None:
    coope = Path(sys.executable).parent / "coope"
    proc = _run([str(coope), "--version"], tmp_path)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, f"coope {__version__}\n", "")


def test_console_script_unreachable_is_one_line_without_traceback(tmp_path: Path) -> None:
    coope = Path(sys.executable).parent / "coope"
    proc = _run([str(coope), "whoami", "--server", UNREACHABLE, "--token", "x"], tmp_path)
    assert proc.returncode == 9
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot reach the daemon"), proc.stderr
