"""When two names that address things are the same name.

Workspace names, group room names and the titles of sibling pages are unique in their scope. Two
names are the same when their keys are: compared without case (`casefold`, so "Straße" is
"STRASSE") and after Unicode normalisation (NFC, so an "é" typed as one code point or as "e" and
a combining accent is one letter). The daemon stores each name's key in a column with a unique
index, and the client compares keys when it resolves a name, so the two never disagree.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable


def name_key(name: str) -> str:
    """The form of `name` that uniqueness and name lookups compare."""
    # NFC again after casefold: folding can undo composition ("ǰ" folds to "ǰ" decomposed).
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())


def same_name(a: str, b: str) -> bool:
    return name_key(a) == name_key(b)


def numbered(name: str, n: int, max_length: int) -> str:
    """`name (n)`, shortened so that it stays within `max_length` characters."""
    suffix = f" ({n})"
    return name[: max_length - len(suffix)].rstrip() + suffix


def first_free(name: str, taken: Callable[[str], bool], max_length: int) -> str:
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
