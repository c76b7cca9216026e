"""When two names that address things are the same name, and which names cannot address.

Workspace names, group room names and the titles of sibling pages are unique in their scope. Two
names are the same when their keys are (`name_key`): compatibility-normalised and without case
(NFKC and casefold, so "Ｔｅａｍ", "TEAM" and "team" are one name, as are "Straße" and
"STRASSE"), without the characters that show nothing (zero-width spaces, soft hyphens,
direction overrides: Unicode's default-ignorable code points) and with each run of white space
as one space. The daemon stores each name's key in a column with a unique index, and the client
compares keys when it resolves a name, so the two never disagree.

A name that reads as an id (`reads_as_id`: `12`, `#12`, `##12`) would always be taken for one,
so workspaces and group rooms cannot be called so.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

from coope.core.errors import InvalidInput

# Workspace names, group room names and page titles are at most this long.
NAME_MAX = 80

# Unicode's Default_Ignorable_Code_Point ranges (DerivedCoreProperties.txt, Unicode 15.1).
_IGNORABLE = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)
_DROP_IGNORABLE = {code: None for low, high in _IGNORABLE for code in range(low, high + 1)}


def name_key(name: str) -> str:
    """The form of `name` that uniqueness and name lookups compare.

    Keys are stored (a unique index per scope): changing what this returns needs a migration
    that recomputes every stored key (see migration 0007), or old and new names stop meeting.
    """
    # Unicode's compatibility caseless match (D146), composed: folding can undo a composition
    # and NFKC can make something fold again. Ignorables go first: between a letter and its
    # accent they would keep the two from composing.
    text = unicodedata.normalize("NFD", name.translate(_DROP_IGNORABLE))
    for _ in range(2):
        text = unicodedata.normalize("NFKC", text.casefold())
    return " ".join(text.translate(_DROP_IGNORABLE).split())


def id_digits(target: str) -> str | None:
    """The digits of `target` when a name resolver reads it as an id (`12`, `#12`, `##12`), else
    None. ASCII digits only: `int` refuses some of what `isdigit` takes (`²`), and `١٢` is a
    name."""
    digits = target.lstrip("#")
    return digits if digits.isascii() and digits.isdigit() else None


def reads_as_id(name: str) -> bool:
    """Whether a workspace or group room called `name` would be taken for an id when named."""
    return id_digits(name.strip()) is not None


def refuse_id_like(name: str, what: str, shown: str | None = None) -> None:
    """Raise `InvalidInput` if a `what` ("workspace", "room") called `name` could never be
    named, as its name reads as an id; `shown` is how people write the name (`#team`)."""
    digits = id_digits(name.strip())
    if digits is not None:
        raise InvalidInput(
            f"a {what} name cannot read as an id: {shown or name} means {what} {digits}",
            details={"field": "name"},
        )


def numbered(name: str, n: int, max_length: int = NAME_MAX) -> str:
    """`name (n)`, shortened so that it stays within `max_length` characters."""
    suffix = f" ({n})"
    return name[: max_length - len(suffix)].rstrip() + suffix


def first_free(name: str, taken: Callable[[str], bool], max_length: int = NAME_MAX) -> str:
    """`name` if its key is free, else the first of `name (2)`, `name (3)`... that is.

    `taken` answers for a key; it decides the scope (a workspace's pages under one parent, every
    group room...). Deterministic: the same names taken give the same answer.
    """
    if not taken(name_key(name)):
        return name
    n = 2
    while taken(name_key(candidate := numbered(name, n, max_length))):
        n += 1
    return candidate
