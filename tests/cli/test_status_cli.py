"""`coope status` (choose, show, clear, with an end) and how `coope friend list` shows it."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from coope.cli.friends import since
from coope.core.presence import until_words
from tests.cli.clitools import Cli, assert_fails, assert_ok
from tests.daemon.social_helpers import befriend
from tests.helpers import RunningDaemon

_pair = itertools.count()


@pytest.fixture
def pair(make_cli: Callable[[], Cli]) -> tuple[Cli, Cli]:
    """Two friends with fresh accounts who only ever use the CLI."""
    n = next(_pair)
    ann, ben = make_cli(), make_cli()
    ann.signup(f"sann{n}")
    ben.signup(f"sben{n}")
    ann.json("friend", "add", f"sben{n}")
    ben.json("friend", "accept", f"sann{n}")
    return ann, ben


def test_a_chosen_status_shows_to_a_friend_who_uses_only_the_cli(pair: tuple[Cli, Cli]) -> None:
    ann, ben = pair
    before = datetime.now(UTC)
    mine = ann.json("status", "busy", "--text", "in a review", "--for", "1h")
    assert (mine["status"], mine["text"], mine["online"], mine["state"]) == (
        "busy",
        "in a review",
        False,
        "offline",
    )
    ends = datetime.fromisoformat(mine["expires_at"])
    assert before + timedelta(hours=1) <= ends <= datetime.now(UTC) + timedelta(hours=1)
    assert mine["last_active_at"] is not None and mine["active_ago_s"] == 0

    (friend,) = ben.json("friend", "list")
    assert friend["presence"]["status"] == "busy"
    assert set(friend["presence"]) >= {
        "state",
        "status",
        "text",
        "expires_at",
        "last_active_at",
        "online",
    }
    listed = ben("friend", "list")
    # Read after the listing: past midnight the end is named with its day ("until Tue 00:13").
    until = until_words(ends, datetime.now().astimezone())
    assert_ok(listed)
    assert f"busy: in a review ({until}, active just now)" in listed.stdout
    assert "seen never" not in listed.stdout

    shown = ann("status")
    assert_ok(shown)
    assert f": ○ busy: in a review ({until}, active just now)" in shown.stdout

    cleared = ann.json("status", "clear")
    assert (cleared["status"], cleared["text"], cleared["expires_at"]) == ("available", "", None)
    assert "○ offline (active just now)" in ben("friend", "list").stdout


def test_until_a_time_of_day_is_the_next_one(pair: tuple[Cli, Cli]) -> None:
    ann, _ = pair
    now = datetime.now().astimezone()
    at = (now + timedelta(minutes=30)).replace(second=0, microsecond=0)
    mine = ann.json("status", "dnd", "--until", f"{at:%H:%M}")
    assert mine["status"] == "dnd"
    assert datetime.fromisoformat(mine["expires_at"]) == at
    # A text alone keeps the end; a status chosen without one has none.
    assert ann.json("status", "--text", "deep work")["expires_at"] == mine["expires_at"]
    assert ann.json("status", "away")["expires_at"] is None
    # The older word still works for scripts that use it.
    assert ann.json("status", "online")["status"] == "available"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("busy", "--for", "0m"), "longer than nothing"),
        (("busy", "--for", "-5m"), "not a duration"),
        (("busy", "--for", "31d"), "at most 30 days"),
        (("busy", "--for", "soon"), "not a duration"),
        (("busy", "--for", "1h", "--until", "15:00"), "not both"),
        (("busy", "--until", "25:00"), "not a time"),
        (("busy", "--until", "2001-01-01 10:00"), "in the past"),
        (("busy", "--until", "2999-01-01 10:00"), "at most 30 days"),
        (("clear", "--text", "x"), "takes no --text"),
        (("away", "--text", "x" * 141), "text"),
        (("away", "--text", "bell\x07"), "control characters"),
    ],
)
def test_bad_status_changes_are_exit_7_with_a_clear_message(
    pair: tuple[Cli, Cli], args: tuple[str, ...], message: str
) -> None:
    ann, _ = pair
    assert_fails(ann("status", *args), 7, message)
    assert ann.json("status")["status"] == "available"


def test_an_unknown_status_is_a_usage_error(pair: tuple[Cli, Cli]) -> None:
    ann, _ = pair
    assert ann("status", "sleeping").exit_code == 2


async def test_a_friend_who_only_uses_the_cli_reads_as_active_minutes_ago(
    start_daemon: Any, tmp_path: Path
) -> None:
    """The daemon's clock moved by hand: the minutes come from it, not from the reader's."""
    daemon: RunningDaemon = await start_daemon(manual_clock=True)
    assert daemon.clock is not None
    async with await daemon.user("root"), await daemon.user("dora") as dora:
        async with await daemon.user("eli") as eli:
            await befriend(dora, eli)
            await eli.chat.rooms()
            daemon.clock.advance(5 * 60)
            cli = Cli(daemon.url, tmp_path / "config")
            # The daemon runs on this loop: the CLI (its own loop) runs beside it.
            listed = await asyncio.to_thread(
                cli, "friend", "list", COOPE_TOKEN=dora.token, COOPE_SERVER=daemon.url
            )
            assert_ok(listed)
            assert "eli" in listed.stdout
            assert "○ offline (active 5 min ago)" in listed.stdout


def test_friend_requests_say_when_in_the_words_presence_uses(make_cli: Callable[[], Cli]) -> None:
    n = next(_pair)
    ann, ben = make_cli(), make_cli()
    ann.signup(f"rann{n}")
    ben.signup(f"rben{n}")
    ann.json("friend", "add", f"rben{n}")
    shown = ben("friend", "requests")
    assert_ok(shown)
    (row,) = [line for line in shown.stdout.splitlines() if f"rann{n}" in line]
    assert row.rstrip().endswith("just now")
    # An old request reads as presence does: "5 min ago", "3 h ago".
    assert since(datetime.now(UTC) - timedelta(minutes=5, seconds=3)) == "5 min ago"
    assert since(datetime.now(UTC) - timedelta(hours=3)) == "3 h ago"
