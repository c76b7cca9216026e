"""The friends screen (f): requests answered live, a friend added by name, removal, blocking and
your own status, each checked from the other person's client."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import OptionList, Static

from coope.client import CoopeClient
from coope.client.profiles import Profiles
from coope.core.models import PresenceState
from coope.tui.dialogs import ConfirmScreen
from coope.tui.friends_screen import FriendsScreen
from tests.daemon.social_helpers import befriend
from tests.helpers import RunningDaemon
from tests.tui.conftest import SIZE, main_screen, tui, until


async def open_friends(pilot: Pilot[None]) -> FriendsScreen:
    main_screen(pilot)
    await pilot.press("f")
    await until(pilot, lambda: isinstance(pilot.app.screen, FriendsScreen), "the friends screen")
    screen = pilot.app.screen
    assert isinstance(screen, FriendsScreen)
    await until(pilot, lambda: screen.state is not None, "the friends screen filled")
    return screen


def row_ids(screen: FriendsScreen) -> list[str]:
    return [o.id for o in screen.query_one(OptionList).options if o.id is not None]


async def pick(pilot: Pilot[None], screen: FriendsScreen, row_id: str) -> None:
    """Wait for the row, then move the highlight onto it with the keyboard."""
    await until(pilot, lambda: row_id in row_ids(screen), f"the row {row_id}")
    options = screen.query_one(OptionList)
    options.focus()
    await pilot.press("home")
    for _ in range(len(options.options)):
        if screen.selected() == tuple(row_id.split(":", 1)):
            return
        await pilot.press("down")
    raise AssertionError(f"{row_id} never highlighted")


async def test_a_request_arrives_live_and_is_accepted(
    daemon: RunningDaemon, alice: CoopeClient, bob: CoopeClient, profiles: Profiles
) -> None:
    app = tui(daemon, alice, profiles)
    async with app.run_test(size=SIZE) as pilot:
        sidebar = main_screen(pilot).sidebar
        friends_box = sidebar.query_one("#friends", OptionList)
        await until(pilot, lambda: app.people is not None, "the session started")
        await bob.friends.request("alice")
        await until(
            pilot, lambda: friends_box.border_title == "Friends · 1 request", "the request count"
        )

        screen = await open_friends(pilot)
        await pick(pilot, screen, "in:bob")
        await pilot.press("y")

        async def bob_sees_alice() -> bool:
            return [f.user.username for f in await bob.friends.list()] == ["alice"]

        await until(pilot, bob_sees_alice, "bob's friend list has alice")
        await until(pilot, lambda: "friend:bob" in row_ids(screen), "bob among friends")
        assert "in:bob" not in row_ids(screen)
        await pilot.press("escape")
        await until(pilot, lambda: friends_box.border_title == "Friends", "no request left")


async def test_a_friend_is_added_by_name_and_the_request_withdrawn(
    daemon: RunningDaemon, alice: CoopeClient, bob: CoopeClient, profiles: Profiles
) -> None:
    app = tui(daemon, alice, profiles)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_friends(pilot)
        await pilot.press("a")
        await pilot.press(*"@bob")
        await pilot.press("enter")

        async def bob_is_asked() -> bool:
            return [r.user.username for r in (await bob.friends.requests()).incoming] == ["alice"]

        await until(pilot, bob_is_asked, "bob's incoming request from alice")
        await pick(pilot, screen, "out:bob")
        await pilot.press("d")

        async def bob_is_not_asked() -> bool:
            return not (await bob.friends.requests()).incoming

        await until(pilot, bob_is_not_asked, "the request withdrawn")
        await until(pilot, lambda: "out:bob" not in row_ids(screen), "the row gone")


async def test_a_request_is_declined_live_on_both_sides(
    daemon: RunningDaemon, alice: CoopeClient, bob: CoopeClient, profiles: Profiles
) -> None:
    app = tui(daemon, alice, profiles)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_friends(pilot)
        await bob.friends.request("alice")  # while the screen is open: it shows live
        await pick(pilot, screen, "in:bob")
        await pilot.press("n")

        async def bob_was_declined() -> bool:
            return not (await bob.friends.requests()).outgoing

        await until(pilot, bob_was_declined, "bob's request gone")
        await until(pilot, lambda: "in:bob" not in row_ids(screen), "the row gone")
        assert await bob.friends.list() == []


async def test_a_friend_is_removed_after_confirming_then_blocked_and_unblocked(
    daemon: RunningDaemon, alice: CoopeClient, bob: CoopeClient, profiles: Profiles
) -> None:
    await befriend(alice, bob)
    app = tui(daemon, alice, profiles)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_friends(pilot)
        await pick(pilot, screen, "friend:bob")
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("n")  # no: still friends
        await until(pilot, lambda: app.screen is screen, "back without removing")
        assert [f.user.username for f in await bob.friends.list()] == ["alice"]
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question again")
        await pilot.press("y")

        async def bob_has_no_friends() -> bool:
            return not await bob.friends.list()

        await until(pilot, bob_has_no_friends, "the friendship ended")

        await pilot.press("b")  # by name: bob is no longer in the list
        await pilot.press(*"bob", "enter")
        await until(pilot, lambda: "blocked:bob" in row_ids(screen), "bob blocked")
        assert [u.username for u in await alice.friends.blocked()] == ["bob"]

        await pick(pilot, screen, "blocked:bob")
        await pilot.press("u")

        async def nobody_blocked() -> bool:
            return not await alice.friends.blocked()

        await until(pilot, nobody_blocked, "bob unblocked")
        await until(pilot, lambda: "blocked:bob" not in row_ids(screen), "the row gone")
        assert await bob.friends.request("alice")  # bob may ask again


async def test_your_status_shows_in_a_friend_s_list(
    daemon: RunningDaemon, alice: CoopeClient, bob: CoopeClient, profiles: Profiles
) -> None:
    await befriend(alice, bob)
    app = tui(daemon, alice, profiles)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_friends(pilot)
        await pilot.press("w")
        await pilot.press("s")
        await pilot.press(*"at [lunch]", "enter")  # brackets are text, not markup

        async def bob_sees_it() -> bool:
            presence = (await bob.friends.get("alice")).presence
            return presence.state == PresenceState.AWAY and presence.text == "at [lunch]"

        await until(pilot, bob_sees_it, "alice away at lunch, for bob")
        mine = screen.query_one("#my-status", Static)
        await until(pilot, lambda: "away · at [lunch]" in str(mine.render()), "shown to alice")

        await pilot.press("w")

        async def back_online() -> bool:
            return (await bob.friends.get("alice")).presence.state != PresenceState.AWAY

        await until(pilot, back_online, "alice online again, for bob")


async def test_an_unknown_name_is_said_in_plain_words(
    daemon: RunningDaemon, alice: CoopeClient, profiles: Profiles
) -> None:
    app = tui(daemon, alice, profiles)
    async with app.run_test(size=SIZE) as pilot:
        await open_friends(pilot)
        await pilot.press("a")
        await pilot.press(*"nobody", "enter")

        def said() -> list[str]:
            return [n.message for n in app._notifications if n.severity == "error"]

        await until(pilot, lambda: bool(said()), "an error notification")
        assert "nobody" in said()[0] or "no user" in said()[0].lower(), said()
        assert isinstance(app.screen, FriendsScreen)  # still there, no crash
