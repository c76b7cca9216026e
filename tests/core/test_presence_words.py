"""Presence in words, and the durations and times typed for how long a status lasts."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from coope.core.errors import InvalidInput
from coope.core.models import PresenceState
from coope.core.presence import ago, parse_duration, parse_until, presence_words
from coope.core.social_schemas import PresenceOut

NOW = datetime(2030, 1, 15, 10, 0, tzinfo=timezone(timedelta(hours=1)))
# Central European time, with its summer time, spelled out (no time zone database needed).
CET = "CET-1CEST,M3.5.0,M10.5.0/3"


@pytest.fixture(autouse=True)
def local_time_is_cet(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Times people type are local: this machine's zone is Paris's for every test here."""
    monkeypatch.setenv("TZ", CET)
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def words(**fields: Any) -> str:
    presence = PresenceOut.model_validate(
        {"username": "bob", "state": "offline", "text": "", **fields}
    )
    return "".join(text for text, _ in presence_words(presence, NOW))


def test_presence_reads_as_one_line() -> None:
    at_15 = datetime(2030, 1, 15, 14, 0, tzinfo=UTC)  # 15:00 where the reader is
    assert (
        words(state="online", online=True, status="busy", text="in a review", expires_at=at_15)
        == "● online — busy: in a review (until 15:00)"
    )
    assert words(status="away", active_ago_s=300) == "○ away (active 5 min ago)"
    assert words(status="dnd", text="x", expires_at=at_15 + timedelta(days=1), active_ago_s=0) == (
        "○ do not disturb: x (until Wed 15:00, active just now)"
    )
    assert words(active_ago_s=7200, text="in Berlin") == "○ in Berlin (active 2 h ago)"
    assert words() == "○ offline (never active)"
    assert words(state=PresenceState.AWAY, online=True) == "● idle"
    assert words(state=PresenceState.AWAY, online=True, status="away") == "● online — away"


def test_text_is_shown_not_obeyed() -> None:
    assert words(status="busy", text="\x1b[2J", active_ago_s=0) == "○ busy: ␛[2J (active just now)"


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (0, "just now"),
        (59, "just now"),
        (60, "1 min ago"),
        (3599, "59 min ago"),
        (3600, "1 h ago"),
        (2 * 86400, "2 days ago"),
    ],
)
def test_ago(seconds: int, said: str) -> None:
    assert ago(seconds) == said


@pytest.mark.parametrize(
    ("typed", "seconds"),
    [
        ("30m", 1800),
        ("1h30m", 5400),
        ("1H 30min", 5400),
        ("2d", 172800),
        ("1w", 604800),
        ("90s", 90),
        ("30d", 30 * 86400),
    ],
)
def test_durations(typed: str, seconds: int) -> None:
    assert parse_duration(typed) == seconds


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("", "not a duration"),
        ("30", "not a duration"),
        ("-1h", "not a duration"),
        ("1.5h", "not a duration"),
        ("0m", "longer than nothing"),
        ("31d", "at most 30 days"),
        ("999999999w", "at most 30 days"),
        ("1h\x1b", "not a duration"),
    ],
)
def test_bad_durations(typed: str, problem: str) -> None:
    with pytest.raises(InvalidInput, match=problem):
        parse_duration(typed)


def test_until_a_time_of_day_is_the_next_one_in_the_reader_s_zone() -> None:
    assert parse_until("15:00", NOW) == NOW.replace(hour=15)
    assert parse_until("9:30", NOW) == NOW.replace(hour=9, minute=30) + timedelta(days=1)
    assert parse_until("10:00", NOW) == NOW + timedelta(days=1)  # now is not "until"
    assert parse_until("2030-01-20 08:00", NOW) == NOW.replace(day=20, hour=8)
    assert parse_until("2030-01-20T08:00:00+00:00", NOW) == datetime(2030, 1, 20, 8, tzinfo=UTC)


def test_until_a_time_of_day_is_on_the_clock_of_that_day_across_summer_time() -> None:
    # Saturday 30 March 2030, winter time (+01:00); summer time (+02:00) starts that night.
    before = datetime(2030, 3, 30, 16, 0, tzinfo=timezone(timedelta(hours=1)))
    summer = timezone(timedelta(hours=2))
    assert parse_until("15:00", before) == datetime(2030, 3, 31, 15, 0, tzinfo=summer)
    assert parse_until("2030-04-02 08:00", before) == datetime(2030, 4, 2, 8, 0, tzinfo=summer)
    assert parse_until("17:00", before) == before + timedelta(hours=1)  # today: still winter


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("25:00", "not a time"),
        ("noon", "not a time"),
        ("2030-01-01 10:00", "in the past"),
        ("2030-03-01 10:00", "at most 30 days"),
    ],
)
def test_bad_times(typed: str, problem: str) -> None:
    with pytest.raises(InvalidInput, match=problem):
        parse_until(typed, NOW)
