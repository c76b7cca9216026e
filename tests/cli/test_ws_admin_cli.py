"""Workspace administration from the command line: the admin role, `ws role` for several people,
`ws add --from users.csv` (checked line by line, all or nothing), `ws list --all`, and service
admins naming any workspace by name or id."""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import pytest
from typer.testing import Result

from tests.cli.clitools import Cli, assert_fails
from tests.helpers import PATIENCE_S

_n = itertools.count()


@dataclass
class Scene:
    """The daemon's service admin, a workspace owner, and a few more people (names unique to
    the test: the daemon is the module's)."""

    root: Cli
    owner: Cli
    owner_name: str
    other: Cli
    people: dict[str, Cli]  # by username
    ws: str  # the workspace's name

    @property
    def names(self) -> list[str]:
        return list(self.people)

    def roles(self) -> dict[str, str]:
        members = self.owner.json("ws", "members", self.ws)
        return {m["username"]: m["role"] for m in members}


@pytest.fixture(scope="module")
def root(make_cli: Callable[[], Cli]) -> Cli:
    cli = make_cli()
    cli.signup("root")  # the daemon's first account: its service admin
    return cli


@pytest.fixture
def scene(make_cli: Callable[[], Cli], root: Cli) -> Iterator[Scene]:
    n = next(_n)
    owner, other = make_cli(), make_cli()
    owner.signup(f"own{n}")
    other.signup(f"oth{n}")
    people = {f"p{n}u{i}": make_cli() for i in range(4)}
    for name, cli in people.items():
        cli.signup(name)
    ws = f"Space{n}"
    owner.json("ws", "create", ws)
    yield Scene(root, owner, f"own{n}", other, people, ws)


def _refused(result: Result) -> list[str]:
    """A refused list: exit 7, nothing on stdout, an `error:` headline and one line per entry."""
    assert result.exit_code == 7, (result.exit_code, result.stdout, result.stderr)
    assert result.stdout == ""
    headline, *lines = result.stderr.splitlines()
    assert headline.startswith("error: ") and "nothing was changed" in headline, headline
    return [line.strip() for line in lines]


def _changes(found: list[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
    return [(c["username"], c["role"], c["previous"]) for c in found]


def test_ws_role_gives_several_people_a_role_at_once(scene: Scene) -> None:
    a, b, c, _ = scene.names
    changed = scene.owner.json("ws", "role", scene.ws, a, f"@{b}", "--role", "admin")
    assert _changes(changed) == [(a, "admin", None), (b, "admin", None)]
    # The older form: the role as the last word.
    assert _changes(scene.owner.json("ws", "role", scene.ws, a, "editor")) == [
        (a, "editor", "admin")
    ]
    # The new admin manages members: roles, invites.
    assert scene.roles()[b] == "admin"
    assert scene.owner.json("ws", "role", scene.ws, b, "admin") == []  # nothing to change
    assert_fails(scene.owner("ws", "role", scene.ws, a, c), 2, "--role")
    assert_fails(scene.owner("ws", "role", scene.ws, c, "owner"), 2, "transfer")
    assert_fails(scene.owner("ws", "role", scene.ws, c, "--role", "owner"), 2, "owner")
    # A role as the last USER while --role gives one: which is meant is not guessed.
    for last in ("editor", "Owner"):
        assert_fails(
            scene.owner("ws", "role", scene.ws, c, last, "--role", "admin"), 2, "give the role once"
        )
    assert c not in scene.roles()


def test_the_command_line_roles_are_the_wire_roles() -> None:
    from coope.cli import workspaces
    from coope.core import workspace_schemas

    assert get_args(workspaces.GivenRole) == get_args(workspace_schemas.GivenRole)


def test_ws_role_with_a_wrong_name_changes_nothing(scene: Scene) -> None:
    a, b, _, _ = scene.names
    # What the command line can check is checked before anything is sent...
    lines = _refused(
        scene.owner("ws", "role", scene.ws, a, "ghost-x", a, "Bad!", "--role", "viewer")
    )
    assert lines == [
        f"argument 3: {a} is listed already (argument 1)",
        "argument 4: 'Bad!' is not a username: username must start with a letter and use only"
        " a-z, 0-9, '_', '-' and '.'",
    ]
    # ...and what only the daemon knows (who exists) is told the same way.
    lines = _refused(scene.owner("ws", "role", scene.ws, a, "ghost-x", b, "--role", "viewer"))
    assert lines == ["argument 2: no user named 'ghost-x'"]
    assert a not in scene.roles() and b not in scene.roles()


def test_ws_add_from_a_csv_file_and_again(scene: Scene, tmp_path: Path) -> None:
    a, b, c, d = scene.names
    listing = tmp_path / "users.csv"
    listing.write_text(
        f'\ufeffUsername,Role\n{a},admin\n\n# the team\n{b},editor\n{c}\n"{d}", viewer \r\n',
        encoding="utf-8",
    )
    changed = scene.owner.json("ws", "add", scene.ws, "--from", str(listing), "--role", "viewer")
    assert _changes(changed) == [
        (a, "admin", None),
        (b, "editor", None),
        (c, "viewer", None),
        (d, "viewer", None),
    ]
    # A list applied again changes nothing; one that says otherwise changes only that.
    assert scene.owner.json("ws", "add", scene.ws, "--from", str(listing), "--role", "viewer") == []
    listing.write_text(f"{a},admin\n{b},viewer\n")
    assert _changes(scene.owner.json("ws", "add", scene.ws, "--from", str(listing))) == [
        (b, "viewer", "editor")
    ]
    # Standard input, and users from the command line (all --role's).
    again = scene.owner.json("ws", "add", scene.ws, "--from", "-", input=f"{c},editor\n")
    assert _changes(again) == [(c, "editor", "viewer")]
    assert _changes(scene.owner.json("ws", "add", scene.ws, d, "--role", "editor")) == [
        (d, "editor", "viewer")
    ]


def test_ws_add_without_a_role_keeps_members_roles(scene: Scene, tmp_path: Path) -> None:
    """Whom no role is given for joins as an editor; a member keeps their role."""
    a, b, c, d = scene.names
    scene.owner.json("ws", "role", scene.ws, a, "--role", "viewer")
    scene.owner.json("ws", "role", scene.ws, b, "--role", "admin")
    assert _changes(scene.owner.json("ws", "add", scene.ws, a, b, c)) == [(c, "editor", None)]
    told = scene.owner("ws", "add", scene.ws, a, b, d)
    assert told.exit_code == 0, told.stderr
    assert f"{a} kept as viewer" in told.stderr and f"{b} kept as admin" in told.stderr
    assert f"{d} is now editor" in told.stderr
    # A list: a line without a role keeps a member's; a line with one sets it.
    listing = tmp_path / "users.csv"
    listing.write_text(f"{a}\n{b},\n{c},viewer\n{scene.owner_name}\n")
    told = scene.owner("ws", "add", scene.ws, "--from", str(listing))
    assert told.exit_code == 0, told.stderr
    assert f"{scene.owner_name} kept as owner" in told.stderr
    assert scene.roles() == {
        scene.owner_name: "owner",
        a: "viewer",
        b: "admin",
        c: "viewer",
        d: "editor",
    }
    # --role is a role given: it is set, members' included (so an owner's line is refused).
    assert _refused(scene.owner("ws", "add", scene.ws, "--from", str(listing), "--role", "editor"))
    listing.write_text(f"{a}\n{b},\n{c},viewer\n")
    changed = scene.owner.json("ws", "add", scene.ws, "--from", str(listing), "--role", "editor")
    assert _changes(changed) == [(a, "editor", "viewer"), (b, "editor", "admin")]


def test_a_user_called_username_is_not_a_header(
    scene: Scene, tmp_path: Path, make_cli: Callable[[], Cli]
) -> None:
    make_cli().signup("username")
    listing = tmp_path / "users.csv"
    listing.write_text("username\n")
    assert _refused(scene.owner("ws", "add", scene.ws, "--from", str(listing))) == [
        'line 1: a header is "username,role"; a user called username is "@username"'
    ]
    # Written so, it is the user; and `username,role` is the header, in any case.
    listing.write_text("@username\n")
    assert _changes(scene.owner.json("ws", "add", scene.ws, "--from", str(listing))) == [
        ("username", "editor", None)
    ]
    listing.write_text("USERNAME, Role\nusername,viewer\n")
    assert _changes(scene.owner.json("ws", "add", scene.ws, "--from", str(listing))) == [
        ("username", "viewer", "editor")
    ]


def test_lists_in_other_shapes_say_what_to_do(scene: Scene, tmp_path: Path) -> None:
    a, b, c, _ = scene.names
    listing = tmp_path / "users.csv"
    listing.write_bytes(f"{a}\teditor\n{b},viewer\r{c},viewer\n".encode())
    assert _refused(scene.owner("ws", "add", scene.ws, "--from", str(listing))) == [
        "line 1: holds a tab: separate the username and the role with a comma",
        "line 2: holds a carriage return alone, the line ending of old Mac files: save the list"
        " with ordinary line endings",
    ]
    # A space after a comma is no part of the cell, quoted or not.
    listing.write_text(f'{a}, "admin"\n{b},   viewer\n')
    assert _changes(scene.owner.json("ws", "add", scene.ws, "--from", str(listing))) == [
        (a, "admin", None),
        (b, "viewer", None),
    ]


def test_any_path_is_read_safely(scene: Scene, tmp_path: Path) -> None:
    """A path no file can have, a device and a pipe without end: a clear error, never a
    traceback and never an endless read."""
    assert_fails(scene.owner("ws", "add", scene.ws, "--from", "x" * 5000), 7, "cannot read")
    assert_fails(scene.owner("ws", "add", scene.ws, "--from", "/dev/zero"), 7, "at most 1024 kB")
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    writer = threading.Thread(target=_endless, args=(pipe,), daemon=True)
    writer.start()
    try:
        assert_fails(scene.owner("ws", "add", scene.ws, "--from", str(pipe)), 7, "at most 1024 kB")
    finally:
        writer.join(timeout=PATIENCE_S)
    assert not writer.is_alive()
    assert len(scene.roles()) == 1


def _endless(pipe: Path) -> None:
    """Write lines into `pipe` until its reader stops reading."""
    with contextlib.suppress(BrokenPipeError), pipe.open("wb") as out:
        while True:
            out.write(b"someone,viewer\n" * 4096)


def test_a_wrong_csv_is_reported_line_by_line_and_changes_nothing(
    scene: Scene, tmp_path: Path
) -> None:
    a, b, c, _ = scene.names
    listing = tmp_path / "users.csv"
    listing.write_text(
        "username,role\n"
        f"{a},editor\n"
        f"{b},boss\n"
        "Not A Name,viewer\n"
        f"{a},viewer\n"
        f"{c}\x00,editor\n"
        f"{c},editor,extra\n"
        f"{c},owner\n"
    )
    lines = _refused(scene.owner("ws", "add", scene.ws, "--from", str(listing)))
    assert lines == [
        "line 3: unknown role 'boss' (one of admin, editor, viewer)",
        "line 4: 'Not A Name' is not a username: username must start with a letter and use only"
        " a-z, 0-9, '_', '-' and '.'",
        f"line 5: {a} is listed already (line 2)",
        "line 6: holds a control character (U+0000)",
        "line 7: has 3 columns, not username,role",
        "line 8: owner is not given: ownership is handed over with `coope ws transfer`",
    ]
    # What only the daemon knows (who exists) is told by line too.
    listing.write_text(f"{a},editor\nghost-y,viewer\n{b},admin\n")
    lines = _refused(scene.owner("ws", "add", scene.ws, "--from", str(listing)))
    assert lines == ["line 2: no user named 'ghost-y'"]
    assert a not in scene.roles()


def test_hostile_lists_are_refused_before_anything_is_sent(scene: Scene, tmp_path: Path) -> None:
    huge = tmp_path / "huge.csv"
    huge.write_bytes(b"a" * (1024 * 1024 + 1))
    assert_fails(scene.owner("ws", "add", scene.ws, "--from", str(huge)), 7, "at most 1024 kB")
    assert_fails(
        scene.owner("ws", "add", scene.ws, "--from", "-", input="x" * (1024 * 1024 + 1)),
        7,
        "at most 1024 kB",
    )
    many = tmp_path / "many.csv"
    many.write_text("".join(f"user{i},viewer\n" for i in range(1001)))
    assert_fails(scene.owner("ws", "add", scene.ws, "--from", str(many)), 7, "at most 1000")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00a")
    assert_fails(scene.owner("ws", "add", scene.ws, "--from", str(binary)), 7, "not UTF-8")
    empty = tmp_path / "empty.csv"
    empty.write_text("username,role\n\n")
    assert_fails(scene.owner("ws", "add", scene.ws, "--from", str(empty)), 7, "nobody")
    assert_fails(
        scene.owner("ws", "add", scene.ws, "--from", str(tmp_path / "no.csv")), 5, "no file"
    )
    assert_fails(scene.owner("ws", "add", scene.ws), 2, "USER")
    assert_fails(scene.owner("ws", "add", scene.ws, "x1x", "--from", str(empty)), 2, "not both")
    assert len(scene.roles()) == 1  # the owner alone


def test_members_by_role(scene: Scene) -> None:
    """Editors and viewers may not manage members; admins may, but not rename or delete."""
    a, b, c, _ = scene.names
    admin, editor = scene.people[a], scene.people[b]
    scene.owner.json("ws", "role", scene.ws, a, "--role", "admin")
    scene.owner.json("ws", "role", scene.ws, b, "--role", "editor")
    assert_fails(editor("ws", "role", scene.ws, c, "--role", "viewer"), 4, "owner and admins")
    assert_fails(editor("ws", "invite", scene.ws), 4, "owner and admins")
    assert _changes(admin.json("ws", "add", scene.ws, c, "--role", "viewer")) == [
        (c, "viewer", None)
    ]
    admin.json("ws", "invite", scene.ws)
    assert_fails(admin("ws", "rename", scene.ws, "Mine"), 4, "owner")
    assert_fails(admin("ws", "delete", scene.ws, "-y"), 4, "owner")
    assert_fails(admin("ws", "transfer", scene.ws, a), 4, "owner")
    assert_fails(admin("ws", "remove", scene.ws, scene.owner_name), 6, "transfer")
    admin.json("ws", "remove", scene.ws, c)


def test_service_admins_name_any_workspace_and_others_learn_nothing(scene: Scene) -> None:
    ws_id = str(scene.owner.json("ws", "list")[0]["id"])
    for target in (scene.ws, scene.ws.upper(), ws_id):
        members = scene.root.json("ws", "members", target)
        assert [m["role"] for m in members] == ["owner"]
    # Someone who is not in it gets one answer, by name or by id, whether it exists or not.
    by_name = assert_fails(scene.other("ws", "members", scene.ws), 5, "no workspace")
    missing = assert_fails(scene.other("ws", "members", "NoSuchSpace"), 5, "no workspace")
    assert by_name.replace(scene.ws, "N") == missing.replace("NoSuchSpace", "N")
    by_id = assert_fails(scene.other("ws", "members", ws_id), 5, "no workspace")
    never = assert_fails(scene.other("ws", "members", str(2**40)), 5, "no workspace")
    assert by_id.replace(ws_id, "N") == never.replace(str(2**40), "N")
    # ws list --all: every workspace with its owner and size; for admins only.
    everything = scene.root.json("ws", "list", "--all")
    row = next(w for w in everything if w["name"] == scene.ws)
    assert (row["owners"], row["member_count"]) == ([scene.owner_name], 1)
    table = scene.root("ws", "list", "--all")
    assert table.exit_code == 0 and "owner" in table.stdout and "members" in table.stdout
    assert_fails(scene.owner("ws", "list", "--all"), 4, "admin")
    # And the service admin deletes it by name.
    assert scene.root.json("ws", "delete", scene.ws, "-y")["deleted"] is True
    assert_fails(scene.owner("ws", "members", scene.ws), 5, "no workspace")


def test_the_rules_are_in_the_help(root: Cli) -> None:
    group = root("ws", "--help", COLUMNS="120")
    assert "create, list and revoke invites" in group.stdout
    assert "service admin" in group.stdout
    for command in ("role", "add", "remove", "invite", "delete", "members"):
        text = " ".join(root("ws", command, "--help", COLUMNS="120").stdout.split())
        assert "service admin" in text, command
