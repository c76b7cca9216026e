"""Account and workspace rules shared by the daemon (which enforces them) and clients (which
explain them)."""

from __future__ import annotations

import re
import unicodedata
from enum import Enum

from coope.core.errors import InvalidInput
from coope.core.models import WorkspaceRole

# The daemon's store holds signed 64-bit integers: anything wider is refused at the edge.
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

USERNAME_MIN = 3
USERNAME_MAX = 32
USERNAME_PATTERN = r"^[a-z][a-z0-9_.-]*$"
PASSWORD_MIN = 8
# scrypt cost grows with input length; a bound keeps a login from becoming a denial of service.
PASSWORD_MAX = 1024
DISPLAY_NAME_MAX = 64
TOKEN_NAME_MAX = 64
COVER_MAX_MB = 5  # a page's cover image, as uploaded
COVER_MAX_BYTES = COVER_MAX_MB * 1024 * 1024

_USERNAME_RE = re.compile(USERNAME_PATTERN)

# Control characters (C0, DEL, C1) steer a terminal: ESC starts sequences that clear the screen or
# set its title, and NUL breaks full-text queries. Text may hold tabs and line breaks; a name,
# which is one line, holds none of them, nor Unicode's line and paragraph separators, nor its
# direction overrides and isolates (U+202A-U+202E, U+2066-U+2069): those reorder what a terminal
# shows after them, so that a name could pass for another or turn the rest of a line around.
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CONTROL_IN_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# The same rule for a single line, as a JSON Schema (ECMA) pattern for the API's document.
SINGLE_LINE_PATTERN = r"^[^\u0000-\u001F\u007F-\u009F\u2028\u2029\u202A-\u202E\u2066-\u2069]*$"


def check_username(raw: str) -> str:
    """Return the canonical (lower-case) username or raise `InvalidInput` saying what is wrong."""
    name = raw.strip().lower()
    if not USERNAME_MIN <= len(name) <= USERNAME_MAX:
        raise InvalidInput(
            f"username must be {USERNAME_MIN} to {USERNAME_MAX} characters long",
            details={"field": "username"},
        )
    if not _USERNAME_RE.match(name):
        raise InvalidInput(
            "username must start with a letter and use only a-z, 0-9, '_', '-' and '.'",
            details={"field": "username"},
        )
    return name


def check_password(password: str) -> None:
    """Raise `InvalidInput` unless the password is acceptable."""
    if len(password) < PASSWORD_MIN:
        raise InvalidInput(
            f"password must be at least {PASSWORD_MIN} characters long",
            details={"field": "password"},
        )
    if len(password) > PASSWORD_MAX:
        raise InvalidInput(
            f"password must be at most {PASSWORD_MAX} characters long",
            details={"field": "password"},
        )


def control_character(text: str, *, single_line: bool = False) -> str | None:
    """The first control character `text` must not hold, as `U+001B`, or None if it is clean.

    Tabs and line breaks are allowed unless `single_line` (names, titles, statuses), which
    refuses direction overrides and isolates as well.
    """
    found = (_CONTROL_IN_LINE if single_line else _CONTROL_IN_TEXT).search(text)
    return None if found is None else f"U+{ord(found.group()):04X}"


# C0 controls (but tab and line feed) become their Unicode control pictures (ESC shows as ␛), DEL
# becomes ␡, and C1 controls (which some terminals obey like ESC sequences) a `<9B>` mark.
_VISIBLE = str.maketrans(
    {
        **{code: chr(0x2400 + code) for code in range(0x20) if chr(code) not in "\t\n"},
        0x7F: "\u2421",
        **{code: f"<{code:02X}>" for code in range(0x80, 0xA0)},
    }
)


def visible(text: str) -> str:
    """`text` with its control characters shown instead of obeyed; tabs and line feeds stay.
    For showing what others wrote in a terminal (CLI and TUI alike): never obeyed there."""
    return text.translate(_VISIBLE)


def without_control_characters(text: str) -> str:
    """`text` as one line: what `control_character(..., single_line=True)` finds taken out."""
    return _CONTROL_IN_LINE.sub("", text)


def check_single_line(text: str) -> str:
    """Return `text` if it is one line free of control characters; raise `ValueError` otherwise.

    A `ValueError` (not `InvalidInput`) so that schema validation names the field.
    """
    bad = control_character(text, single_line=True)
    if bad is not None:
        raise ValueError(f"must be one line without control characters (found {bad})")
    return text


def username_from_hint(hint: str) -> str:
    """Turn free text (an email's local part, a display name) into a valid username stem."""
    # "Élodie" becomes "elodie", not "lodie": accents are dropped before anything is replaced.
    ascii_hint = unicodedata.normalize("NFKD", hint).encode("ascii", "ignore").decode()
    name = re.sub(r"[^a-z0-9_.-]+", "-", ascii_hint.strip().lower()).strip("-._")
    if not name or not name[0].isalpha():
        name = "u" + name
    name = name[:USERNAME_MAX]
    return name.ljust(USERNAME_MIN, "0")


# --- workspace roles ----------------------------------------------------------------------------


class WorkspaceAction(Enum):
    """What someone may do in a workspace; the value says it in words."""

    READ = "see the workspace, its pages and members"
    EDIT = "change pages"
    INVITE = "create, list and revoke invites"
    MANAGE_MEMBERS = "add and remove members, set their roles"
    RENAME = "rename the workspace"
    TRANSFER = "hand ownership over"
    DELETE = "delete the workspace"


_OWNER, _ADMIN, _EDITOR, _VIEWER = (
    WorkspaceRole.OWNER,
    WorkspaceRole.ADMIN,
    WorkspaceRole.EDITOR,
    WorkspaceRole.VIEWER,
)

# Who may do what. Nobody, not even an admin or a service admin, changes or removes an owner:
# ownership only changes hands by a transfer (`owner_change_refusal`). A service admin acts as
# an owner in every workspace.
WORKSPACE_PERMISSIONS: dict[WorkspaceAction, frozenset[WorkspaceRole]] = {
    WorkspaceAction.READ: frozenset({_VIEWER, _EDITOR, _ADMIN, _OWNER}),
    WorkspaceAction.EDIT: frozenset({_EDITOR, _ADMIN, _OWNER}),
    WorkspaceAction.INVITE: frozenset({_ADMIN, _OWNER}),
    WorkspaceAction.MANAGE_MEMBERS: frozenset({_ADMIN, _OWNER}),
    WorkspaceAction.RENAME: frozenset({_OWNER}),
    WorkspaceAction.TRANSFER: frozenset({_OWNER}),
    WorkspaceAction.DELETE: frozenset({_OWNER}),
}

# The roles from the least to the most trusted: the order of tables and member lists.
WORKSPACE_ROLES = (_VIEWER, _EDITOR, _ADMIN, _OWNER)
# The roles `coope ws role` and invites give; ownership is transferred instead.
GIVEN_ROLES = (_ADMIN, _EDITOR, _VIEWER)


def workspace_allows(role: WorkspaceRole, action: WorkspaceAction) -> bool:
    return role in WORKSPACE_PERMISSIONS[action]


def workspace_refusal(action: WorkspaceAction) -> str:
    """Why a role without `action` is refused, naming the roles that have it."""
    allowed = [r for r in reversed(WORKSPACE_ROLES) if r in WORKSPACE_PERMISSIONS[action]]
    # "owner", then plurals: "owner and admins", "owner, admins and editors".
    names = [allowed[0].value, *(f"{r.value}s" for r in allowed[1:])]
    who = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    return f"only the workspace's {who} can {action.value}"


def owner_change_refusal(current: WorkspaceRole | None, new: WorkspaceRole) -> str | None:
    """Why someone's role cannot go from `current` (None: not a member) to `new`, or None.

    Who may set roles at all is `WorkspaceAction.MANAGE_MEMBERS`; this is the one limit on it.
    """
    if WorkspaceRole.OWNER in (current, new) and current is not new:
        return "ownership changes hands only by a transfer"
    return None


def workspace_roles_table() -> list[str]:
    """`WORKSPACE_PERMISSIONS` as lines of text, one row per action (for help and docs)."""
    width = max(len(a.value) for a in WorkspaceAction)
    lines = [" ".ljust(width) + "".join(f"  {r.value:>6}" for r in WORKSPACE_ROLES)]
    for action in WorkspaceAction:
        marks = "".join(
            f"  {'x' if workspace_allows(r, action) else '-':>6}" for r in WORKSPACE_ROLES
        )
        lines.append(action.value.ljust(width) + marks)
    return lines


def member_list_refusal(problems: list[tuple[int, str, str]]) -> InvalidInput:
    """The one error for a member list with entries that cannot be applied (nothing is):
    `problems` holds (index in the list, username, why), and the error's details list them as
    `{"problems": [{"index", "username", "message"}]}` so that a client can point at its own
    lines."""
    listed = "; ".join(f"entry {i + 1} ({name}): {why}" for i, name, why in problems[:10])
    more = f"; and {len(problems) - 10} more" if len(problems) > 10 else ""
    return InvalidInput(
        f"{len(problems)} of the entries cannot be applied, so nothing was changed: {listed}{more}",
        details={
            "problems": [
                {"index": i, "username": name, "message": why} for i, name, why in problems
            ]
        },
    )
