"""Two people chatting, one in the TUI and one through the client: messages, edits, deletions,
replies and reactions as they happen, and unread badges."""

from __future__ import annotations

import asyncio
import gc
import warnings

from rich.text import Text
from textual.widgets import OptionList, Static

from coope.client import CoopeClient
from coope.client.profiles import Profiles
from coope.core.events import TypingEvent
from coope.tui.dialogs import ConfirmScreen, EmojiPicker
from coope.tui.session import PAGE_SIZE
from tests.daemon.social_helpers import befriend, group_room
from tests.helpers import PATIENCE_S, RunningDaemon
from tests.tui.conftest import SIZE, lines, main_screen, shows, tui, until


async def test_two_people_chat_live(
    daemon: RunningDaemon, alice: CoopeClient, bob: CoopeClient, profiles: Profiles
) -> None:
    team = await group_room(alice, "team", [bob])
    other = await group_room(bob, "other", [alice])
    await alice.chat.send(team.id, "hello from before")
    app = tui(daemon, alice, profiles)
    async with app.run_test(size=SIZE) as pilot:
        screen = main_screen(pilot)
        rooms = screen.sidebar.query_one("#rooms", OptionList)
        await until(pilot, lambda: shows(rooms, "#team") and shows(rooms, "#other"), "rooms")
        await pilot.press("1")
        # Open #team (the list holds the latest room first: find it).
        index = next(i for i, line in enumerate(lines(rooms)) if "#team" in line)
        rooms.highlighted = index
        await pilot.press("enter")
        log = screen.chat.message_log
        await until(pilot, lambda: shows(log, "hello from before"), "history shown")

        # alice writes in the TUI; bob sees it.
        await pilot.press("c")
        await pilot.press(*"hi bob")
        await pilot.press("ctrl+j")
        await pilot.press(*"second line")
        await pilot.press("enter")
        await until(pilot, lambda: shows(log, "hi bob\n      second line"), "own message shown")
        page = await bob.chat.history(team.id)
        assert page.messages[-1].body == "hi bob\nsecond line"
        assert page.messages[-1].author == "alice"

        # bob writes, edits and deletes; the TUI follows each as it happens.
        sent = await bob.chat.send(team.id, "hi alice")
        await until(pilot, lambda: shows(log, "bob hi alice"), "bob's message live")
        await bob.chat.edit(sent.id, "hi alice, edited")
        await until(pilot, lambda: shows(log, "hi alice, edited (edited)"), "the edit live")
        await bob.chat.delete(sent.id)
        await until(pilot, lambda: shows(log, "(message deleted)"), "the deletion live")
        assert not shows(log, "hi alice, edited")

        # A message in another room raises its badge; opening the room clears it.
        def other_line() -> str:
            return next(line for line in lines(rooms) if "#other" in line)

        await bob.chat.send(other.id, "one")
        await bob.chat.send(other.id, "two")
        await until(pilot, lambda: other_line().endswith(" 2"), "badge of #other at 2")
        assert not any(line.startswith("#team ") for line in lines(rooms))
        await pilot.press("escape", "1")  # out of the composer, to the rooms
        rooms.highlighted = next(i for i, line in enumerate(lines(rooms)) if "#other" in line)
        await pilot.press("enter")
        await until(pilot, lambda: shows(log, "two"), "#other shown")
        await until(pilot, lambda: other_line() == "#other", "badge of #other cleared")
        assert (await alice.chat.room(other.id)).unread == 0


async def test_reply_edit_delete_and_react_from_the_keyboard(
    daemon: RunningDaemon, alice: CoopeClient, bob: CoopeClient, profiles: Profiles
) -> None:
    await befriend(alice, bob)
    question = await bob.chat.send_direct("alice", "lunch?")
    room_id = question.room_id
    app = tui(daemon, alice, profiles)
    async with app.run_test(size=SIZE) as pilot:
        screen = main_screen(pilot)
        log = screen.chat.message_log
        await until(pilot, lambda: shows(log, "lunch?"), "the direct room opened")

        # Reply to bob's message: select it, r, type, Enter.
        await pilot.press("escape", "4", "end", "r")
        await pilot.press(*"yes")
        await pilot.press("enter")
        await until(pilot, lambda: shows(log, "┃ bob: lunch?"), "the reply quotes")
        mine = (await bob.chat.history(room_id)).messages[-1]
        assert (mine.body, mine.reply_to) == ("yes", question.id)

        # Edit it: e fills the composer with the text, which is replaced.
        await pilot.press("escape", "4", "end", "e")
        assert screen.chat.composer.text == "yes"
        screen.chat.composer.text = ""
        await pilot.press(*"yes, at noon", "enter")
        await until(pilot, lambda: shows(log, "yes, at noon (edited)"), "the edit")

        # React to bob's message with the first emoji of the picker.
        await pilot.press("escape", "4", "end", "up", "a")
        await until(pilot, lambda: isinstance(app.screen, EmojiPicker), "the picker")
        await pilot.press("enter")
        await until(pilot, lambda: shows(log, "👍 1"), "the reaction")
        # One's own reaction stands out (choosing it again takes it back).
        reacted = log.get_option(f"m{question.seq}").prompt
        assert isinstance(reacted, Text)
        assert [
            reacted.plain[s.start : s.end] for s in reacted.spans if "reverse" in str(s.style)
        ] == ["👍 1"]
        assert (await bob.chat.history(room_id)).messages[0].reactions == {"👍": ["alice"]}

        # Delete own message, after saying yes.
        await pilot.press("escape", "4", "end", "d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("y")
        await until(pilot, lambda: shows(log, "(message deleted)"), "the deletion")
        assert (await bob.chat.history(room_id)).messages[-1].deleted

        # Someone else's message cannot be deleted: no question, a notice.
        await pilot.press("escape", "4", "home", "d")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)


async def test_the_first_message_to_a_friend_makes_the_direct_room(
    daemon: RunningDaemon, alice: CoopeClient, bob: CoopeClient, profiles: Profiles
) -> None:
    await befriend(alice, bob)
    app = tui(daemon, alice, profiles)
    async with app.run_test(size=SIZE) as pilot:
        screen = main_screen(pilot)
        friends = screen.sidebar.query_one("#friends", OptionList)
        await until(pilot, lambda: shows(friends, "bob"), "bob among friends")
        await pilot.press("2")
        friends.highlighted = 0
        await pilot.press("enter")
        title = screen.chat.query_one("#room-title", Static)
        typing = screen.chat.query_one("#typing", Static)
        await until(pilot, lambda: str(title.render()) == "@bob", "an empty chat with bob")
        assert "no messages yet" in str(typing.render())
        assert screen.chat.room is None

        await pilot.press("c", *"hello bob", "enter")
        log = screen.chat.message_log

        await until(pilot, lambda: screen.chat.room is not None, "the direct room shown")
        direct = await bob.chat.direct_room("alice")
        assert [m.body for m in (await bob.chat.history(direct.id)).messages] == ["hello bob"]
        assert screen.chat.room is not None and screen.chat.room.id == direct.id
        rooms = screen.sidebar.query_one("#rooms", OptionList)
        await until(pilot, lambda: shows(rooms, "@bob"), "the room in the sidebar")
        await until(pilot, lambda: shows(log, "hello bob"), "the message in the room")
        assert str(title.render()).startswith("@bob  ")

        await bob.chat.send(direct.id, "hi alice")
        await until(pilot, lambda: shows(log, "bob hi alice"), "bob's reply live")


async def test_typing_shows_both_ways(
    daemon: RunningDaemon, alice: CoopeClient, bob: CoopeClient, profiles: Profiles
) -> None:
    team = await group_room(alice, "team", [bob])
    bob_hears = bob.live.events(TypingEvent)
    app = tui(daemon, alice, profiles)
    async with app.run_test(size=SIZE) as pilot:
        chat = main_screen(pilot).chat
        await until(pilot, lambda: chat.room is not None, "the room")
        typing = chat.query_one("#typing", Static)

        await bob.live.send({"type": "typing", "room_id": team.id})
        await until(pilot, lambda: "bob is typing" in str(typing.render()), "bob typing")

        await pilot.press("c", "h")
        event = await asyncio.wait_for(anext(bob_hears), PATIENCE_S)
        assert (event.data.room_id, event.data.user) == (team.id, "alice")
        # A message from bob ends his typing line.
        await bob.chat.send(team.id, "done")
        await until(pilot, lambda: "typing" not in str(typing.render()), "typing line cleared")
    await bob_hears.aclose()


async def test_scrolling_up_pages_through_older_history(
    daemon: RunningDaemon, alice: CoopeClient, profiles: Profiles
) -> None:
    room = await alice.chat.create_room("log")
    for n in range(PAGE_SIZE + 10):
        await alice.chat.send(room.id, f"line {n}")
    app = tui(daemon, alice, profiles)
    async with app.run_test(size=SIZE) as pilot:
        log = main_screen(pilot).chat.message_log
        await until(pilot, lambda: shows(log, f"line {PAGE_SIZE + 9}"), "the latest page")
        assert len(lines(log)) == PAGE_SIZE and not shows(log, "line 9\n")
        assert log.timeline.has_older
        await pilot.press("4", "home")  # the top of what is shown: the page before comes
        await until(pilot, lambda: len(lines(log)) == PAGE_SIZE + 10, "the older page")
        assert lines(log)[0].endswith("alice line 0")
        assert not log.timeline.has_older
        # The selection stayed on the message it was on.
        assert log.selected is not None and log.selected.body == "line 10"


async def test_a_burst_of_messages_is_drawn_and_read_with_no_work_left_unrun(
    daemon: RunningDaemon, alice: CoopeClient, bob: CoopeClient, profiles: Profiles
) -> None:
    """Each message marks the room read; those marks replace each other before they start,
    and a replaced one must be closed, not left as a coroutine never awaited."""
    team = await group_room(alice, "team", [bob])
    await bob.chat.send(team.id, "first")
    app = tui(daemon, alice, profiles)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with app.run_test(size=SIZE) as pilot:
            log = main_screen(pilot).chat.message_log
            await until(pilot, lambda: shows(log, "first"), "the room shown")
            await asyncio.gather(*(bob.chat.send(team.id, f"burst {n}") for n in range(40)))
            await until(pilot, lambda: all(shows(log, f"burst {n}") for n in range(40)), "all")

            async def read_to_the_end() -> bool:
                room = await alice.chat.room(team.id)
                return room.last_read_seq == room.last_seq

            await until(pilot, read_to_the_end, "the room read to the end")
        gc.collect()
    unrun = [str(w.message) for w in caught if "never awaited" in str(w.message)]
    assert unrun == []


async def test_the_unread_marker_line_goes_before_the_first_unread_message(
    daemon: RunningDaemon, alice: CoopeClient, bob: CoopeClient, profiles: Profiles
) -> None:
    team = await group_room(alice, "team", [bob])
    seen = await bob.chat.send(team.id, "seen before")
    await alice.chat.mark_read(team.id, seen.seq)
    # alice's own message from another device is not news to her: the line goes after it.
    await alice.chat.send(team.id, "mine from my phone")
    await bob.chat.send(team.id, "first unread")
    await bob.chat.send(team.id, "second unread")
    app = tui(daemon, alice, profiles)
    async with app.run_test(size=SIZE) as pilot:
        log = main_screen(pilot).chat.message_log
        await until(pilot, lambda: shows(log, "second unread"), "the room")
        shown = lines(log)
        marker = next(i for i, line in enumerate(shown) if "new messages" in line)
        assert "mine from my phone" in shown[marker - 1] and "first unread" in shown[marker + 1]

        async def read() -> bool:
            room = await alice.chat.room(team.id)
            return room.unread == 0 and room.last_read_seq == room.last_seq

        await until(pilot, read, "the read marker moved to the end")
        # A message arriving while the room is on screen is read at once: no marker for it.
        await bob.chat.send(team.id, "live one")
        await until(pilot, lambda: shows(log, "live one"), "live")
        await until(pilot, read, "read as it came")
        assert [line for line in lines(log) if "new messages" in line] == [lines(log)[marker]]
