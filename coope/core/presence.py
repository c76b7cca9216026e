"""Presence in words, the same in the CLI and the TUI, and the durations and times people type
for how long a status lasts (`--for 1h30m`, `--until 15:00`).

Words come as `(text, style)` segments (a Rich style name, '' for none) so that each front end
renders them its own way; the texts are other people's words, made visible, never markup.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from coope.core.errors import InvalidInput
from coope.core.models import PresenceState
from coope.core.rules import visible
from coope.core.social_schemas import STATUS_FOR_MAX_S, Availability, PresenceOut

Segment = tuple[str, str]

STATUS_LABELS: dict[Availability, str] = {
    "available": "available",
    "away": "away",
    "busy": "busy",
    "dnd": "do not disturb",
}
STATUS_STYLES: dict[Availability, str] = {
    "available": "green",
    "away": "yellow",
    "busy": "red",
    "dnd": "bold red",
}

_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"(?:\d{1,9}\s*(?:min|s|m|h|d|w)\s*)+", re.IGNORECASE)
_PART = re.compile(r"(\d+)\s*(min|s|m|h|d|w)", re.IGNORECASE)
_CLOCK = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


def ago(seconds: int) -> str:
    """`seconds` ago in words: "just now", "5 min ago", "3 h ago", "4 days ago"."""
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} days ago"


def until_words(end: datetime, now: datetime) -> str:
    """When a status ends, in the reader's time zone (that of `now`): "until 15:00" today,
    "until Tue 15:00" within a week, else with its date."""
    local = end.astimezone(now.tzinfo)
    if local.date() == now.date():
        return f"until {local:%H:%M}"
    if local.date() - now.date() < timedelta(days=7):
        return f"until {local:%a %H:%M}"
    return f"until {local:%Y-%m-%d %H:%M}"


def status_words(p: PresenceOut, *, own: bool = False) -> list[Segment]:
    """The chosen status and its text: "busy: in a review"; [] when nothing is chosen. `own`:
    one's own status as its owner reads it, the label always and the text apart from it
    ("available · at lunch"), the label unstyled (its dot says it)."""
    if own:
        label = [(STATUS_LABELS[p.status], "")]
        return label + ([(f" · {visible(p.text)}", "italic")] if p.text else [])
    if p.status != "available":
        label = [(STATUS_LABELS[p.status], STATUS_STYLES[p.status])]
        return label + ([(f": {visible(p.text)}", "")] if p.text else [])
    return [(visible(p.text), "italic")] if p.text else []


def presence_words(p: PresenceOut, now: datetime | None = None) -> list[Segment]:
    """A person's presence in one line: "● online — busy: in a review (until 15:00)" while
    connected, "○ away: lunch (until 14:00, active 5 min ago)" when not. `now` (the reader's
    local time by default) places the end of a status; how long ago comes from the daemon's
    clock, so that it is right whatever the reader's clock says."""
    now = now or datetime.now().astimezone()
    chosen = status_words(p)
    notes = [until_words(p.expires_at, now)] if chosen and p.expires_at is not None else []
    if p.online:
        idle = p.state is PresenceState.AWAY and p.status != "away"
        words: list[Segment] = [("●", "yellow" if p.state is PresenceState.AWAY else "green")]
        words.append((" idle" if idle else " online", ""))
        if chosen:
            words += [(" — ", ""), *chosen]
    else:
        words = [("○ ", "grey50"), *(chosen or [("offline", "dim")])]
        seen = "never active" if p.active_ago_s is None else f"active {ago(p.active_ago_s)}"
        notes.append(seen)
    return [*words, (f" ({', '.join(notes)})", "dim")] if notes else words


def parse_duration(text: str) -> int:
    """Seconds in a duration such as "30m", "1h30m", "2d" or "1w" (units s, m or min, h, d,
    w), more than none and at most 30 days.

    Raises:
        InvalidInput: anything else, said in plain words.
    """
    if not _DURATION.fullmatch(text.strip()):
        raise InvalidInput(
            f"{visible(text)!r} is not a duration: use e.g. 30m, 1h30m or 2d (units s, m, h, d, w)"
        )
    seconds = sum(int(n) * _UNITS[unit.lower()] for n, unit in _PART.findall(text))
    if seconds <= 0:
        raise InvalidInput("a duration must be longer than nothing")
    if seconds > STATUS_FOR_MAX_S:
        raise InvalidInput(f"a status lasts at most {STATUS_FOR_MAX_S // 86400} days")
    return seconds


def parse_until(text: str, now: datetime) -> datetime:
    """The time a status should end: "15:00" (the next 15:00 in this machine's local time), or
    a date and time ("2030-01-31 15:00", ISO 8601, in local time unless it gives its zone),
    within 30 days of `now`. Local time is that of the day the status ends: across a change
    to or from summer time, 15:00 tomorrow is still 15:00 on the clock.

    Raises:
        InvalidInput: not a time, in the past, or more than 30 days ahead.
    """
    wanted = text.strip()
    clock = _CLOCK.fullmatch(wanted)
    if clock is not None:
        hour, minute = int(clock.group(1)), int(clock.group(2))
        # Naive, then placed in the local zone: the offset is that of the day it falls on.
        today = now.astimezone().replace(tzinfo=None)
        wall = today.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if wall <= today:
            wall += timedelta(days=1)
        end = wall.astimezone()
    else:
        try:
            end = datetime.fromisoformat(wanted)
        except ValueError:
            raise InvalidInput(
                f"{visible(text)!r} is not a time: use e.g. 15:00 or 2030-01-31 15:00"
            ) from None
        if end.tzinfo is None:
            end = end.astimezone()  # local time on that day
        if end <= now:
            raise InvalidInput(f"{visible(text)!r} is in the past")
    if end - now > timedelta(seconds=STATUS_FOR_MAX_S):
        raise InvalidInput(f"a status lasts at most {STATUS_FOR_MAX_S // 86400} days")
    return end
