"""Names that address things, from the command line: a taken name is exit 6, `--exist-ok` makes
a provisioning script safe to run again, and the rule is in the help."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from tests.cli.clitools import Cli, assert_fails, assert_ok

_n = itertools.count()


@pytest.fixture
def person(make_cli: Callable[[], Cli]) -> tuple[Cli, str]:
    """A fresh account and a suffix that keeps this test's names apart from the module's other
    tests (workspace and room names are unique on the whole daemon)."""
    n = next(_n)
    cli = make_cli()
    cli.signup(f"names{n}")
    return cli, f"x{n}"


def test_a_taken_workspace_name_is_exit_6_and_exist_ok_gets_it(person: tuple[Cli, str]) -> None:
    cli, n = person
    made = cli.json("ws", "create", f"Team{n}")
    assert made["created"] is True
    assert_fails(cli("ws", "create", f"TEAM{n}"), 6, "already a workspace")
    again = cli.json("ws", "create", f"team{n}", "--exist-ok")
    assert (again["id"], again["name"], again["created"]) == (made["id"], f"Team{n}", False)
    result = cli("ws", "create", f"team{n}", "--exist-ok")
    assert result.exit_code == 0 and result.stdout == ""
    assert "exists already" in result.stderr
    cli.json("ws", "create", f"Other{n}")
    assert_fails(cli("ws", "rename", f"Other{n}", f"TEAM{n}"), 6, "already a workspace")


def test_a_script_run_twice_does_not_break_itself(person: tuple[Cli, str]) -> None:
    cli, n = person
    for _ in range(2):
        ws = cli.json("ws", "create", f"Ops{n}", "--exist-ok")
        page = cli.json("doc", "new", f"Ops{n}", "Runbook", "--exist-ok")
        child = cli.json("doc", "new", f"Ops{n}", "Steps", "--parent", "Runbook", "--exist-ok")
        room = cli.json("chat", "room", "create", f"ops{n}", "--exist-ok")
        # Names keep meaning one thing, so the next commands of the script still work.
        assert cli.json("ws", "members", f"OPS{n}")[0]["role"] == "owner"
        assert cli.json("doc", "show", f"Ops{n}/Runbook/Steps")["page"]["id"] == child["id"]
        assert cli.json("chat", "history", f"#OPS{n}")["messages"] == []
    assert (ws["created"], page["created"], child["created"], room["created"]) == (
        False,
        False,
        False,
        False,
    )


def test_taken_titles_and_rooms_are_exit_6(person: tuple[Cli, str]) -> None:
    cli, n = person
    cli.json("ws", "create", f"Docs{n}")
    cli.json("doc", "new", f"Docs{n}", "Plans")
    assert_fails(cli("doc", "new", f"Docs{n}", "plans"), 6, "already a page called 'plans'")
    cli.json("chat", "room", "create", f"room{n}")
    assert_fails(cli("chat", "room", "create", f"#ROOM{n}"), 6, f"already a room called #ROOM{n}")


def test_the_rule_is_in_the_help(person: tuple[Cli, str]) -> None:
    cli, _ = person
    for args in (("ws", "--help"), ("chat", "room", "create", "--help"), ("doc", "new", "--help")):
        result = cli(*args)
        assert_ok(result)
        text = " ".join(result.stdout.split())
        assert "whatever the case" in text, args
        if args[-2] in ("create", "new"):
            assert "--exist-ok" in text, args


def test_a_restore_where_the_title_was_taken_says_so(person: tuple[Cli, str]) -> None:
    cli, n = person
    cli.json("ws", "create", f"Trash{n}")
    old = cli.json("doc", "new", f"Trash{n}", "Plans")
    assert cli("doc", "archive", str(old["id"])).exit_code == 0
    cli.json("doc", "new", f"Trash{n}", "PLANS")
    result = cli("doc", "restore", str(old["id"]))
    assert result.exit_code == 0 and result.stdout == ""
    assert "restored as 'Plans (2)' ('Plans' is taken there)" in result.stderr
