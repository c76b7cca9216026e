"""`CallRoster`: who is in a call, who records, who speaks and what just happened, as values
(the state `coope call join` and `coope tui` both draw)."""

from __future__ import annotations

from coope.client import CoopeClient
from coope.client.call_roster import CallRoster, Person
from coope.core.events import (
    CallKicked,
    CallKickedData,
    CallParticipantJoined,
    CallParticipantJoinedData,
    CallParticipantLeft,
    CallParticipantLeftData,
)
from coope.core.social_schemas import KICKED_TAKEN_OVER


class Levels:
    def __init__(self) -> None:
        self.levels: dict[str, float] = {}

    def level(self, user: str) -> float:
        return self.levels.get(user, 0.0)

    def speaking(self, user: str) -> bool:
        return self.level(user) >= 0.1


async def test_people_speaking_recorders_and_the_time() -> None:
    async with CoopeClient("http://127.0.0.1:1") as client:
        session = client.calls.join(7)  # never started: only who is in it is read
        session.username, session.participants = "ann", {"ann", "ben", "cat"}
        session.recorders = {"cat"}
        levels, now = Levels(), [100.0]
        roster = CallRoster(session, levels, clock=lambda: now[0])
        levels.levels = {"ann": 0.5, "ben": 0.3}  # your own level is never shown
        assert roster.people() == [
            Person("ann", you=True, recording=False, speaking=False, level=0.0),
            Person("ben", you=False, recording=False, speaking=True, level=0.3),
            Person("cat", you=False, recording=True, speaking=False, level=0.0),
        ]
        assert roster.recorders == ["cat"]
        now[0] += 65.4
        assert roster.elapsed == "01:05"
        now[0] += 3600
        assert roster.elapsed == "1:01:05"

        changes = [(c.data.user, c.data.speaking) for c in roster.speaking_changes()]
        assert changes == [("ben", True)]
        assert roster.speaking_changes() == []  # only changes
        levels.levels = {}
        assert [(c.data.user, c.data.speaking) for c in roster.speaking_changes()] == [
            ("ben", False)
        ]


async def test_what_just_happened_in_words() -> None:
    async with CoopeClient("http://127.0.0.1:1") as client:
        session = client.calls.join(7)
        session.username = "ann"
        roster = CallRoster(session, Levels(), notes=2)
        joined = CallParticipantJoinedData(room_id=7, user="ben", recording=False)
        assert roster.event(CallParticipantJoined(data=joined)) == "ben joined"
        mine = CallParticipantJoinedData(room_id=7, user="ann", recording=False)
        assert roster.event(CallParticipantJoined(data=mine)) is None  # not news to you
        left = CallParticipantLeftData(room_id=7, user="ben", reason="left")
        assert roster.event(CallParticipantLeft(data=left)) == "ben left (left)"
        kicked = CallKickedData(room_id=7, reason=KICKED_TAKEN_OVER)
        assert roster.event(CallKicked(data=kicked)) == "taken over by another device"
        assert list(roster.notes) == ["ben left (left)", "taken over by another device"]
