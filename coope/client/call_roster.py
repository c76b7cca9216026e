"""Who is in a call, who records it, who is speaking, and what just happened: the state a
front end draws a call from (`coope call join`'s live table, `coope tui`'s call bar).

Plain data over a `CallSession` and something that hears levels (`coope.media.levels.
LevelMeter`): no drawing here. Feed it the session's events (`event`), ask it for `people()`
as often as the screen moves.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from coope.core.events import (
    CallKicked,
    CallParticipantJoined,
    CallParticipantLeft,
    CallSpeaking,
    CallSpeakingData,
    Event,
)
from coope.core.social_schemas import KICKED_TAKEN_OVER

if TYPE_CHECKING:
    from coope.client.calls import CallSession

NOTES = 4  # recent happenings kept


class Levels(Protocol):
    """Each person's audio level (RMS, 0..1) just now, and whether that is speaking."""

    def level(self, user: str) -> float: ...

    def speaking(self, user: str) -> bool: ...


@dataclass(frozen=True)
class Person:
    """One participant at one moment."""

    name: str
    you: bool
    recording: bool
    speaking: bool
    level: float


class CallRoster:
    """The people of one call session, with their speaking state and recent happenings.

    Args:
        session: The call (its `participants`, `recorders` and `username` are read).
        levels: Hears everyone's audio; your own level is not shown.
        clock: Seconds, for how long the call has been going.
        notes: How many recent happenings to keep.
    """

    def __init__(
        self,
        session: CallSession,
        levels: Levels,
        *,
        clock: Callable[[], float] = time.monotonic,
        notes: int = NOTES,
    ) -> None:
        self.session = session
        self.levels = levels
        self.clock = clock
        self.started = clock()
        self.notes: deque[str] = deque(maxlen=notes)
        self._speaking: set[str] = set()

    @property
    def elapsed_s(self) -> float:
        return self.clock() - self.started

    @property
    def elapsed(self) -> str:
        """How long the call has been going, as mm:ss (h:mm:ss past an hour)."""
        seconds = int(self.elapsed_s)
        hours, minutes = divmod(seconds // 60, 60)
        clock = f"{minutes:02d}:{seconds % 60:02d}"
        return f"{hours}:{clock}" if hours else clock

    def event(self, event: Event) -> str | None:
        """Note what a call event means for people ("bob joined"); returns the note, if any."""
        note: str | None = None
        if isinstance(event, CallParticipantJoined):
            if event.data.user != self.session.username:
                note = f"{event.data.user} joined"
        elif isinstance(event, CallParticipantLeft):
            note = f"{event.data.user} left ({event.data.reason})"
        elif isinstance(event, CallKicked):
            taken_over = event.data.reason == KICKED_TAKEN_OVER
            note = "taken over by another device" if taken_over else event.data.reason
        if note is not None:
            self.notes.append(note)
        return note

    def people(self) -> list[Person]:
        """Everyone in the call by name; you are never speaking (your level is not heard)."""
        session, levels = self.session, self.levels
        people = []
        for name in sorted(session.participants):
            you = name == session.username
            people.append(
                Person(
                    name=name,
                    you=you,
                    recording=name in session.recorders,
                    speaking=not you and levels.speaking(name),
                    level=0.0 if you else levels.level(name),
                )
            )
        return people

    @property
    def recorders(self) -> list[str]:
        """Who records the call, by name."""
        return sorted(self.session.recorders)

    def speaking_changes(self) -> list[CallSpeaking]:
        """`call.speaking` events for everyone who started or stopped speaking since the last
        call."""
        session = self.session
        changes = []
        for person in self.people():
            if person.you or person.speaking == (person.name in self._speaking):
                continue
            self._speaking.symmetric_difference_update({person.name})
            data = CallSpeakingData(
                room_id=session.room_id,
                user=person.name,
                speaking=person.speaking,
                level=round(person.level, 4),
            )
            changes.append(CallSpeaking(data=data))
        self._speaking &= session.participants
        return changes
