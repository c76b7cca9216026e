"""Account rules shared by the daemon (which enforces them) and clients (which explain them)."""

from __future__ import annotations

import re
import unicodedata

from coope.core.errors import InvalidInput

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

_USERNAME_RE = re.compile(USERNAME_PATTERN)

# Control characters (C0, DEL, C1) steer a terminal: ESC starts sequences that clear the screen or
# set its title, and NUL breaks full-text queries. Text may hold tabs and line breaks; a name,
# which is one line, holds none of them (nor Unicode's line and paragraph separators).
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CONTROL_IN_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# The same rule for a single line, as a JSON Schema (ECMA) pattern for the API's document.
SINGLE_LINE_PATTERN = r"^[^\u0000-\u001F\u007F-\u009F\u2028\u2029]*$"


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

    Tabs and line breaks are allowed unless `single_line` (names, titles, statuses).
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
