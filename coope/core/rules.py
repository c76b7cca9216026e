"""Account rules shared by the daemon (which enforces them) and clients (which explain them)."""

from __future__ import annotations

import re
import unicodedata

from coope.core.errors import InvalidInput

USERNAME_MIN = 3
USERNAME_MAX = 32
USERNAME_PATTERN = r"^[a-z][a-z0-9_.-]*$"
PASSWORD_MIN = 8
# scrypt cost grows with input length; a bound keeps a login from becoming a denial of service.
PASSWORD_MAX = 1024
DISPLAY_NAME_MAX = 64
TOKEN_NAME_MAX = 64

_USERNAME_RE = re.compile(USERNAME_PATTERN)


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


def username_from_hint(hint: str) -> str:
    """Turn free text (an email's local part, a display name) into a valid username stem."""
    # "Élodie" becomes "elodie", not "lodie": accents are dropped before anything is replaced.
    ascii_hint = unicodedata.normalize("NFKD", hint).encode("ascii", "ignore").decode()
    name = re.sub(r"[^a-z0-9_.-]+", "-", ascii_hint.strip().lower()).strip("-._")
    if not name or not name[0].isalpha():
        name = "u" + name
    name = name[:USERNAME_MAX]
    return name.ljust(USERNAME_MIN, "0")
