"""People and their workspace roles for `coope ws add` and `coope ws role`, from the command line
or a CSV file, checked line by line before anything is sent.

A CSV list has the columns `username,role`, one person a line, separated by commas; the header
line `username,role` is optional, blank lines and lines starting with `#` are skipped. A line
without a role gets `--role`'s; without `--role` too, a newcomer becomes an editor and a member
keeps their role. Every wrong line is reported at once (`line 3: ...`), and nothing is changed:
the daemon applies a list all together or not at all, and its refusals are reported the same way.
"""

from __future__ import annotations

import csv
import sys
from dataclasses import dataclass
from typing import Any, get_args

from coope.cli import output
from coope.core import rules
from coope.core.errors import InvalidInput, PayloadTooLarge
from coope.core.workspace_schemas import MEMBERS_AT_ONCE, GivenRole

# A list of MEMBERS_AT_ONCE people takes some 40 kB: a bigger file is not a member list.
MAX_LIST_BYTES = 1024 * 1024
GIVEN_ROLES: tuple[GivenRole, ...] = get_args(GivenRole)
# The role of someone named without one, when no --role gives one: for newcomers only.
DEFAULT_ROLE: GivenRole = "editor"
_HEADER = ["username", "role"]
# How much of a wrong name a message repeats.
_SHOWN = 40


@dataclass(frozen=True)
class Entry:
    """One person to give a role, and where they were named (`line 3`, `argument 2`)."""

    where: str
    username: str
    role: GivenRole
    # The role is DEFAULT_ROLE, chosen by nobody: a member keeps their own.
    keep_existing: bool = False


Problem = tuple[str, str, str]  # (where, username as written, what is wrong)


def refusal(source: str, problems: list[Problem]) -> InvalidInput:
    """One error for every wrong entry: a headline, then `  line N: why` for each. Its details
    list them too (`{"problems": [{"where", "username", "message"}]}`) for `--json`."""
    count = f"{len(problems)} {'entry is' if len(problems) == 1 else 'entries are'} wrong"
    listed = "".join(f"\n  {where}: {why}" for where, _, why in problems)
    return InvalidInput(
        f"{source}: {count}, nothing was changed:{listed}",
        details={
            "problems": [
                {"where": where, "username": name, "message": why} for where, name, why in problems
            ]
        },
    )


class _Checker:
    """Entries checked one by one, in the order given; wrong ones are kept for one report."""

    def __init__(self, source: str, given: GivenRole | None) -> None:
        self.source, self.given = source, given  # given: --role's
        self.entries: list[Entry] = []
        self.problems: list[Problem] = []
        self._first: dict[str, str] = {}  # username -> where it was named first

    def wrong(self, where: str, written: str, why: str) -> None:
        self.problems.append((where, written, why))

    def add(self, where: str, written: str, cell: str) -> None:
        try:
            username = rules.check_username(written.strip().removeprefix("@"))
        except InvalidInput as bad:
            self.wrong(where, written, f"{_shown(written)} is not a username: {bad.message}")
            return
        chosen = _role(cell) if cell.strip() else self.given
        if cell.strip() and chosen is None:
            self.wrong(where, username, _role_problem(cell))
        elif username in self._first:
            self.wrong(where, username, f"{username} is listed already ({self._first[username]})")
        else:
            self._first[username] = where
            self.entries.append(
                Entry(where, username, chosen or DEFAULT_ROLE, keep_existing=chosen is None)
            )

    def result(self) -> list[Entry]:
        if self.problems:
            raise refusal(self.source, self.problems)
        if not self.entries:
            raise InvalidInput(f"{self.source}: nobody is named in it")
        if len(self.entries) > MEMBERS_AT_ONCE:
            raise InvalidInput(
                f"{self.source}: at most {MEMBERS_AT_ONCE} people at once"
                f" ({len(self.entries)} given): split the list"
            )
        return self.entries


def from_arguments(users: list[str], role: GivenRole | None) -> list[Entry]:
    """USER arguments, all given `role` (None: newcomers DEFAULT_ROLE, members their own)."""
    checker = _Checker("the users given", role)
    for number, name in enumerate(users, 1):
        checker.add(f"argument {number}", name, "")
    return checker.result()


def from_csv(text: str, role: GivenRole | None, source: str) -> list[Entry]:
    """A CSV list (see the module's docstring); `role` is --role's, for lines without one."""
    checker = _Checker(source, role)
    first = True  # the first line that names anything may be the header
    # Split on line feeds only: the line numbers are the ones an editor shows.
    for number, line in enumerate(text.split("\n"), 1):
        line = line.removesuffix("\r")
        where = f"line {number}"
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if (why := _line_problem(line)) is not None:
            checker.wrong(where, "", why)
            continue
        try:
            fields = next(csv.reader([line], strict=True, skipinitialspace=True))
        except csv.Error as exc:
            checker.wrong(where, "", f"is not CSV: {exc}")
            continue
        while fields and not fields[-1].strip():  # `bob,editor,` has nothing after its role
            fields.pop()
        header = [f.strip().lower() for f in fields] if first else None
        first = False
        if header == _HEADER:
            continue
        if header == _HEADER[:1]:
            checker.wrong(
                where,
                fields[0],
                'a header is "username,role"; a user called username is "@username"',
            )
            continue
        if len(fields) > 2:
            checker.wrong(where, fields[0], f"has {len(fields)} columns, not username,role")
            continue
        checker.add(where, fields[0], fields[1] if len(fields) == 2 else "")
    return checker.result()


def _line_problem(line: str) -> str | None:
    """Why a line is no CSV line of a member list before its cells are read, or None."""
    if "\t" in line:
        return "holds a tab: separate the username and the role with a comma"
    if "\r" in line:
        return (
            "holds a carriage return alone, the line ending of old Mac files: save the list"
            " with ordinary line endings"
        )
    if (bad := rules.control_character(line, single_line=True)) is not None:
        return f"holds a control character ({bad})"
    return None


def _shown(name: str) -> str:
    name = rules.visible(name.strip())
    return repr(name if len(name) <= _SHOWN else name[:_SHOWN] + "…")


def _role(cell: str) -> GivenRole | None:
    """The role a cell names, or None when it names none."""
    name = cell.strip().lower()
    return next((role for role in GIVEN_ROLES if role == name), None)


def _role_problem(cell: str) -> str:
    name = cell.strip().lower()
    if name == "owner":
        return "owner is not given: ownership is handed over with `coope ws transfer`"
    return f"unknown role {_shown(cell)} (one of {', '.join(GIVEN_ROLES)})"


def read_list(path: str) -> str:
    """A member list's text from a file or standard input (`-`), at most `MAX_LIST_BYTES` read
    whatever the path is (a device, a pipe)."""
    source = "standard input" if path == "-" else path
    too_large = f"{source}: a member list is at most {MAX_LIST_BYTES // 1024} kB"
    if path == "-":
        data = sys.stdin.buffer.read(MAX_LIST_BYTES + 1)
        if len(data) > MAX_LIST_BYTES:
            raise PayloadTooLarge(too_large)
    else:
        data = output.read_bytes(path, limit=MAX_LIST_BYTES, too_large=too_large)
    try:
        return data.decode("utf-8-sig")  # a byte order mark, as spreadsheets write, is no name
    except UnicodeDecodeError:
        raise InvalidInput(f"{source} is not UTF-8 text") from None


def daemon_refusal(source: str, entries: list[Entry], error: InvalidInput) -> InvalidInput:
    """The daemon's refusal of a list (entries by index) told by the lines they came from."""
    listed: Any = error.details.get("problems")
    if not isinstance(listed, list):
        return error
    problems: list[Problem] = []
    for problem in listed:
        index = problem.get("index") if isinstance(problem, dict) else None
        if not isinstance(index, int) or not 0 <= index < len(entries):
            return error
        entry = entries[index]
        problems.append((entry.where, entry.username, str(problem.get("message", ""))))
    return refusal(source, problems)
