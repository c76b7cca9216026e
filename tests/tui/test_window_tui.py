"""The room on screen is held as a window: live messages past it drop the oldest, paging up
drops the newest, and each end fetches again what it dropped, in order and each once."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from coope.client import CoopeClient
from coope.client.profiles import Profiles
from coope.tui import session, state
from coope.tui.message_log import MessageLog
from coope.tui.state import Timeline
from tests.daemon.social_helpers import group_room
from tests.helpers import PATIENCE_S, RunningDaemon, assert_eventually
from tests.tui.conftest import SIZE, lines, main_screen, shows, tui, until

WINDOW = 20
PAGE = 8


@pytest.fixture(autouse=True)
def small_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(state, "WINDOW", WINDOW)
    monkeypatch.setattr(session, "PAGE_SIZE", PAGE)


def bodies(log: MessageLog) -> list[str]:
    """The messages drawn, by body (the unread marker left out)."""
    return [line.split(" ", 2)[2] for line in lines(log) if "new messages" not in line]


def in_order(timeline: Timeline, log: MessageLog) -> bool:
    seqs = [int(o.id[1:]) for o in log.options if o.id and o.id.startswith("m")]
    return seqs == sorted(set(seqs)) == timeline.ordered_seqs()


async def page_to_the_top(pilot: Pilot[None], log: MessageLog) -> list[str]:
    """Every body seen on the way up, oldest first, checking each window as it comes."""
    seen = bodies(log)
    await pilot.press("4", "home")
    while log.timeline.has_older:
        oldest = log.timeline.oldest_seq
        selected = log.selected
        await pilot.press("up")  # on the first message: the page before comes
        await until(pilot, lambda: log.timeline.oldest_seq != oldest, "the page before")  # noqa: B023
        assert log.option_count <= WINDOW and in_order(log.timeline, log)
        assert log.selected == selected  # the selection stayed on its message
        earlier = [b for b in bodies(log) if b not in seen]
        seen = earlier + seen
        await pilot.press("home")
    return seen


async def test_live_messages_past_the_window_drop_the_oldest_and_come_back_on_scrolling_up(
    daemon: RunningDaemon, alice: CoopeClient, bob: CoopeClient, profiles: Profiles
) -> None:
    team = await group_room(alice, "team", [bob])
    for n in range(5):
        await alice.chat.send(team.id, f"old {n}")
    app = tui(daemon, alice, profiles)
    async with app.run_test(size=SIZE) as pilot:
        log = main_screen(pilot).chat.message_log
        await until(pilot, lambda: shows(log, "old 4"), "the room shown")
        sent = [await bob.chat.send(team.id, f"live {n}") for n in range(3 * WINDOW)]
        await until(pilot, lambda: shows(log, f"live {3 * WINDOW - 1}"), "the newest live")
        assert log.option_count <= WINDOW and len(log.timeline.messages) <= WINDOW
        assert log.timeline.has_older and not shows(log, "old 0")
        assert in_order(log.timeline, log) and log.at_end

        # An edit of a message in the window shows; one of a dropped message shows when back.
        await bob.chat.edit(sent[-1].id, "live last, edited")
        first = (await alice.chat.history(team.id, after=0, limit=1)).messages[0]
        await alice.chat.edit(first.id, "old 0, edited")
        await until(pilot, lambda: shows(log, "live last, edited (edited)"), "the edit")

        seen = await page_to_the_top(pilot, log)
        expected = ["old 0, edited (edited)", *(f"old {n}" for n in range(1, 5))]
        expected += [f"live {n}" for n in range(3 * WINDOW - 1)] + ["live last, edited (edited)"]
        assert seen == expected


async def test_paging_up_then_back_to_the_end_shows_the_newest_once(
    daemon: RunningDaemon, alice: CoopeClient, bob: CoopeClient, profiles: Profiles
) -> None:
    team = await group_room(alice, "team", [bob])
    for n in range(3 * WINDOW):
        await alice.chat.send(team.id, f"line {n}")
    app = tui(daemon, alice, profiles)
    async with app.run_test(size=SIZE) as pilot:
        log = main_screen(pilot).chat.message_log
        await until(pilot, lambda: shows(log, f"line {3 * WINDOW - 1}"), "the room shown")
        await page_to_the_top(pilot, log)
        assert log.timeline.has_newer and bodies(log)[0] == "line 0"

        # A message arriving now is not drawn: the newest are not in the window.
        away = await bob.chat.send(team.id, "while away")

        async def read_by_the_tui() -> bool:
            await pilot.pause()
            return (await alice.chat.room(team.id)).last_read_seq == away.seq

        await assert_eventually(read_by_the_tui, PATIENCE_S, "the TUI heard it")
        assert not shows(log, "while away")

        await pilot.press("end")  # back to the end: the pages after come, to the newest
        await until(pilot, lambda: not log.timeline.has_newer, "caught up")
        await until(pilot, lambda: log.selected is not None, "a selection")
        assert bodies(log)[-2:] == [f"line {3 * WINDOW - 1}", "while away"]
        assert bodies(log).count("while away") == 1
        assert log.selected is not None and log.selected.id == away.id
        assert log.option_count <= WINDOW and in_order(log.timeline, log)

        # Live again: a new message is drawn at the end.
        await bob.chat.send(team.id, "back live")
        await until(pilot, lambda: bodies(log)[-1] == "back live", "live again")
