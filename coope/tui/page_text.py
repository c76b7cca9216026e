"""A block's text edited in the TUI while others edit it too: plain string arithmetic.

The editor box shows a block's text; what the person types is sent as the change from the text
the box last agreed with the document (`before`) to what it holds now (`after`). When the
document moved on meanwhile (someone else typed), the change is moved to where it belongs in the
document's text (`rebase`), and the box takes the other person's change as a splice (`splice`),
so that neither side's typing is lost and the cursor stays with the text around it.
"""

from __future__ import annotations

from typing import NamedTuple


class Splice(NamedTuple):
    """`old[start:end]` replaced by `inserted` (character offsets)."""

    start: int
    end: int
    inserted: str


def splice(old: str, new: str) -> Splice:
    """The one splice that turns `old` into `new`: what differs between the common ends."""
    limit = min(len(old), len(new))
    start = 0
    while start < limit and old[start] == new[start]:
        start += 1
    end = 0
    while end < limit - start and old[-1 - end] == new[-1 - end]:
        end += 1
    return Splice(start, len(old) - end, new[start : len(new) - end])


def rebase(before: str, after: str, current: str) -> str:
    """`current` with the person's change (`before` to `after`) made to it.

    `current` is `before` with someone else's change. Text the other person put where the
    person also typed stays, and the person's text goes after it.
    """
    if current == before:
        return after
    mine = splice(before, after)
    theirs = splice(before, current)
    grown = len(theirs.inserted) - (theirs.end - theirs.start)

    def moved(offset: int, *, is_end: bool) -> int:
        if offset < theirs.start or (offset == theirs.start and is_end and mine.start < offset):
            return offset
        if offset >= theirs.end:
            return offset + grown
        return theirs.start + len(theirs.inserted)  # inside what they replaced: after theirs

    start = moved(mine.start, is_end=False)
    end = max(start, moved(mine.end, is_end=True))
    return current[:start] + mine.inserted + current[end:]
