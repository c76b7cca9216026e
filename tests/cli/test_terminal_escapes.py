"""Untrusted text reaches the terminal shown, not obeyed: control characters stored before the
daemon refused them (put in its database directly here) come out visible in every view."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import Result

from coope.core.models import Role
from coope.daemon.storage.interface import NewUser
from coope.daemon.storage.sqlite import SqliteStorage
from tests.cli.clitools import Cli, assert_ok
from tests.helpers import DaemonProcess

# Sets the terminal's title, clears the screen, then a C1 "CSI" that some terminals obey too.
HOSTILE = "\x1b]0;pwned\x07\x1b[2Jevil\x9b31m"
SHOWN = "␛]0;pwned␇␛[2Jevil<9B>31m"
OBEYED = ("\x1b", "\x07", "\x9b")


@dataclass
class Stored:
    """A person whose workspace, page, API token and fellow user carry HOSTILE names."""

    cli: Cli
    workspace_id: int
    page_id: int


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaemonProcess]:
    daemon = DaemonProcess(tmp_path_factory.mktemp("daemon") / "data").start()
    try:
        yield daemon
    finally:
        try:
            daemon.terminate()
        finally:
            daemon.kill()


async def _store_hostile_names(db: Path, user_id: int, workspace_id: int, page_id: int) -> None:
    storage = SqliteStorage(db)
    await storage.start()
    try:
        now = time.time()
        await storage.rename_workspace(workspace_id, HOSTILE)
        await storage.update_page(page_id, now, title=HOSTILE)
        await storage.create_token(user_id, HOSTILE, "coope_old", "0" * 64, now, None)
        await storage.create_user(NewUser("eve", HOSTILE, None, Role.USER, now))
    finally:
        await storage.aclose()


@pytest.fixture(scope="module")
def stored(daemon: DaemonProcess, tmp_path_factory: pytest.TempPathFactory) -> Stored:
    cli = Cli(daemon.url, tmp_path_factory.mktemp("config"))
    user_id = cli.signup("mallory")["user"]["id"]  # the first account: the admin
    workspace_id = cli.json("ws", "create", "Plain")["id"]
    page_id = cli.json("doc", "new", str(workspace_id), "Plain page")["id"]
    asyncio.run(_store_hostile_names(daemon.data_dir / "coope.db", user_id, workspace_id, page_id))
    return Stored(cli, workspace_id, page_id)


def _run(stored: Stored, *args: str) -> Result:
    # Wide enough that no table cuts the name short.
    return stored.cli(*args, COLUMNS="200")


def _assert_shown(text: str) -> None:
    assert SHOWN in text, text
    for control in OBEYED:
        assert control not in text, text


def test_ws_list_shows_a_stored_escape_sequence_instead_of_obeying_it(stored: Stored) -> None:
    result = _run(stored, "ws", "list")
    assert_ok(result)
    _assert_shown(result.stdout)


@pytest.mark.parametrize(
    "command",
    [
        ("doc", "list", "{ws}"),
        ("doc", "tree", "{ws}"),
        ("doc", "show", "{page}"),
        ("token", "list"),
        ("admin", "users"),
    ],
)
def test_every_view_shows_stored_control_characters(
    stored: Stored, command: tuple[str, ...]
) -> None:
    args = [part.format(ws=stored.workspace_id, page=stored.page_id) for part in command]
    result = _run(stored, *args)
    assert result.exit_code == 0, result.stderr  # (a table's title is told on stderr in a pipe)
    _assert_shown(result.stdout)


def test_errors_that_quote_a_stored_name_show_it(stored: Stored) -> None:
    result = _run(stored, "doc", "rm", str(stored.page_id), "--yes")
    assert result.exit_code != 0
    _assert_shown(result.stderr)


def test_json_output_escapes_control_characters_and_keeps_the_value(stored: Stored) -> None:
    result = stored.cli("ws", "list", "--json")
    assert_ok(result)
    for control in OBEYED:
        assert control not in result.stdout
    assert HOSTILE in [w["name"] for w in stored.cli.json("ws", "list")]


def test_new_names_with_control_characters_are_refused(stored: Stored) -> None:
    result = stored.cli("ws", "create", "bell\x07")
    assert result.exit_code != 0
    assert "control characters" in result.stderr
    assert "\x07" not in result.stderr


def test_visible_shows_controls_and_keeps_text_tabs_and_line_breaks() -> None:
    from coope.cli.output import visible

    assert visible("a\tb\nc, ünï 🎉") == "a\tb\nc, ünï 🎉"
    assert visible("\x00\x1b\x07\r\x7f\x9b") == "␀␛␇␍␡<9B>"
