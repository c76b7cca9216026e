"""What a summarizer returns, whichever engine made it."""

from __future__ import annotations

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


class Summarizer(Protocol):
    """Turns a merged transcript into a `Summary`. May block: callers run it in a thread."""

    def summarize(self, segments: list[Segment]) -> Summary: ...
