"""Room search in the TUI (/): one room or all of them, Korean and English words, and a hit
opening its room with the window moved to that message."""

from __future__ import annotations

from textual.widgets import Input, OptionList

from coope.client import CoopeClient
from coope.client.profiles import Profiles
from coope.tui.room_search import RoomSearchScreen, fold, marked_snippet
from coope.tui.session import PAGE_SIZE
from tests.daemon.social_helpers import group_room
from tests.helpers import RunningDaemon
from tests.tui.conftest import SIZE, lines, main_screen, shows, tui, until


def test_snippets_mark_whole_words_whatever_their_case_accents_or_script() -> None:
    text = marked_snippet("Café plans: 회의 내일 오전 at the CAFE", "cafe 회의")
    marked = [text.plain[s.start : s.end] for s in text.spans]
    assert marked == ["Café", "회의", "CAFE"]
    assert fold("Ångström") == "angstrom"
    # Inside a long message, the snippet starts near the word found.
    long = "x " * 100 + "needle " + "y " * 100
    snippet = marked_snippet(long, "needle", width=40)
    assert snippet.plain.startswith("…") and "needle" in snippet.plain
    assert len(snippet.plain) <= 42


async def test_search_one_room_then_all_and_open_an_old_hit(
    daemon: RunningDaemon, alice: CoopeClient, bob: CoopeClient, profiles: Profiles
) -> None:
    team = await group_room(alice, "team", [bob])
    other = await group_room(bob, "other", [alice])
    await bob.chat.send(other.id, "the budget 회의 is on Friday")
    # The hit lies well before the first page the room opens with: the window must move.
    for n in range(PAGE_SIZE + 60):
        body = "budget 회의 notes, early" if n == 30 else f"line {n}"
        await alice.chat.send(team.id, body)
    found = (await alice.chat.history(team.id, limit=PAGE_SIZE + 60)).messages[30]
    app = tui(daemon, alice, profiles)
    async with app.run_test(size=SIZE) as pilot:
        screen = main_screen(pilot)
        log = screen.chat.message_log
        rooms = screen.sidebar.query_one("#rooms", OptionList)
        await until(pilot, lambda: shows(rooms, "#team"), "rooms")
        await pilot.press("1")
        rooms.highlighted = next(i for i, line in enumerate(lines(rooms)) if "#team" in line)
        await pilot.press("enter")
        await until(pilot, lambda: shows(log, f"line {PAGE_SIZE + 59}"), "#team's latest page")
        assert not shows(log, "budget")

        await pilot.press("4", "slash")
        await until(pilot, lambda: isinstance(app.screen, RoomSearchScreen), "the search")
        search = app.screen
        assert isinstance(search, RoomSearchScreen)
        results = search.query_one("#search-results", OptionList)
        await pilot.press(*"회의")
        await until(pilot, lambda: len(search.found) == 1, "one hit in #team")
        assert lines(results)[0].startswith("#team · alice · ")
        assert "budget 회의 notes" in lines(results)[0]

        # All rooms: bob's message in #other too.
        await pilot.press("ctrl+r")
        await until(pilot, lambda: len(search.found) == 2, "hits in both rooms")
        assert any(line.startswith("#other · bob · ") for line in lines(results))
        # English words, any case; every word must be in the message.
        search.query_one(Input).value = "BUDGET friday"
        await until(pilot, lambda: [m.room_id for m in search.found] == [other.id], "and")

        search.query_one(Input).value = "budget early"
        await until(pilot, lambda: [m.id for m in search.found] == [found.id], "the old one")
        await pilot.press("enter", "enter")  # to the results, then open the highlighted one
        await until(pilot, lambda: log.selected is not None and log.selected.id == found.id, "at")
        assert app.screen is screen and screen.chat.room is not None
        assert screen.chat.room.id == team.id
        assert log.has_focus
        # The window holds the messages around it, not the latest page.
        assert log.timeline.has_older and log.timeline.has_newer
        assert not shows(log, f"line {PAGE_SIZE + 59}")
        assert shows(log, "line 29") and shows(log, "line 31")
        # The end of the room is paged in as the person goes there.
        await pilot.press("end")
        await until(pilot, lambda: shows(log, f"line {PAGE_SIZE + 59}"), "paged to the newest")
        await until(pilot, lambda: not log.timeline.has_newer, "up to the newest")
        # A new message shows at the bottom again once the window is at the end.
        await bob.chat.send(team.id, "after the search")
        await until(pilot, lambda: shows(log, "after the search"), "live again")


async def test_search_with_no_room_open_searches_all_and_says_when_nothing_is_found(
    daemon: RunningDaemon, alice: CoopeClient, profiles: Profiles
) -> None:
    app = tui(daemon, alice, profiles)
    async with app.run_test(size=SIZE) as pilot:
        screen = main_screen(pilot)
        await pilot.pause()
        await pilot.press("slash")
        await until(pilot, lambda: isinstance(app.screen, RoomSearchScreen), "the search")
        search = app.screen
        assert isinstance(search, RoomSearchScreen) and search.room_id is None
        await pilot.press(*"nothing", "enter")
        status = search.query_one("#search-status")
        await until(pilot, lambda: "Nothing found" in str(status.render()), "nothing found")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen, "closed")
