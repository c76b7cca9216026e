"""What a summarizer returns, whichever engine made it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from coope.notes.transcript import Segment


@dataclass(frozen=True)
class ActionItem:
    """Something someone agreed to do; `owner` is the person named, if any."""

    text: str
    owner: str | None = None


@dataclass(frozen=True)
class Summary:
    summary: list[str] = field(default_factory=list)  # the few sentences that matter, in order
    decisions: list[str] = field(default_factory=list)
    action_items: list[ActionItem] = field(default_factory=list)


@dataclass(frozen=True)
class Participant:
    """Someone who was in the meeting: the username their words are labelled with, and the
    name people call them by ("Alice Moreau": "Alice" and "Moreau" name her too)."""

    username: str
    display_name: str = ""


class Summarizer(Protocol):
    """Turns a merged transcript into a `Summary`. May block: callers run it in a thread.

    `participants` are the people who were in the meeting, when that is known (the meeting
    bot knows; a transcript from elsewhere does not): action items are then owned by them
    only, "I'll ..." by whoever said it, and a name nobody in the meeting has owns nothing
    ("Postgres will handle it"). None: only the transcript's speakers are known for sure.
    """

    def summarize(
        self, segments: list[Segment], participants: Sequence[Participant] | None = None
    ) -> Summary: ...
