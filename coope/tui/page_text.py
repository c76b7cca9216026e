"""A block's text edited in the TUI while others edit it too: one edit moved past another's.

The editor box reports each edit the person makes as a `Splice` of the text the box held just
before it (`before`). By the time the edit reaches the document, someone else may have changed
the text (`current`): `rebase` moves the edit to where it belongs in `current`, as the CRDT's
own deletes and inserts, so that neither side's typing is lost (as Yjs does when both edit at
once): text the other person put inside a range the person deleted or replaced stays.
"""

from __future__ import annotations

from coope.core.blocks import Splice, splice


def rebase(before: str, mine: Splice, current: str) -> list[Splice]:
    """The splices of `current` that make the person's edit `mine` (a splice of `before`).

    `current` is `before` with someone else's change. Where both changed the same place,
    their inserted text stays, and the person's inserted text goes after it. The splices come
    last first, so each one's offsets hold when they are made in order.
    """
    if current == before:
        return [mine]
    theirs = splice(before, current)
    grown = len(theirs.inserted) - (theirs.end - theirs.start)
    theirs_end = theirs.start + len(theirs.inserted)  # where their text ends in `current`
    if mine.start < theirs.start:
        at = mine.start
    elif mine.start < theirs.end:
        at = theirs_end  # inside what they replaced: after their text
    else:
        at = mine.start + grown
    changes: list[Splice] = []
    if mine.end > theirs.end:  # what the person deleted after their change
        start = max(mine.start, theirs.end) + grown
        changes.append(Splice(start, mine.end + grown, mine.inserted if at == start else ""))
    if mine.start < theirs.start:  # what the person deleted before their change
        changes.append(Splice(mine.start, min(mine.end, theirs.start), mine.inserted))
    if not any(change.inserted for change in changes) and mine.inserted:
        changes.insert(0, Splice(at, at, mine.inserted))
    return [change for change in changes if change.inserted or change.start < change.end]


def applied(text: str, changes: list[Splice]) -> str:
    """`text` with `changes` made in order."""
    for change in changes:
        text = text[: change.start] + change.inserted + text[change.end :]
    return text
