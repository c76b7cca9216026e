"""The friends screen shows what friends chose and whether they are online or when last active,
live, one line each; t and w choose your own status."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from rich.console import Console
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import OptionList, Static

from coope.client import CoopeClient
from coope.client.profiles import Profiles
from coope.core.presence import until_words
from coope.tui.friends_screen import FriendsScreen
from tests.daemon.social_helpers import befriend
from tests.helpers import RunningDaemon
from tests.tui.conftest import main_screen, tui, until


def row_text(screen: FriendsScreen, row_id: str) -> str:
    for option in screen.query_one(OptionList).options:
        if option.id == row_id:
            return str(option.prompt)
    return ""


async def open_friends(pilot: Pilot[None]) -> FriendsScreen:
    main_screen(pilot)
    await pilot.press("f")
    await until(pilot, lambda: isinstance(pilot.app.screen, FriendsScreen), "the screen")
    screen = pilot.app.screen
    assert isinstance(screen, FriendsScreen)
    await until(pilot, lambda: screen.state is not None, "the screen filled")
    return screen


async def test_a_friend_s_chosen_status_shows_live_on_one_line(
    daemon: RunningDaemon, alice: CoopeClient, bob: CoopeClient, profiles: Profiles
) -> None:
    await befriend(alice, bob)
    app = tui(daemon, alice, profiles)
    async with app.run_test(size=(80, 30)) as pilot:
        screen = await open_friends(pilot)
        await until(pilot, lambda: "offline (active" in row_text(screen, "friend:bob"), "bob")

        mine = await bob.presence.set("busy", "in a review " + "x" * 120, for_s=3600)
        assert mine.expires_at is not None

        def shown() -> str:
            return row_text(screen, "friend:bob")

        await until(pilot, lambda: "busy: in a review" in shown(), "bob's status, live")
        # Past midnight the end is named with its day ("until Tue 00:31").
        ends = until_words(mine.expires_at, datetime.now().astimezone())
        assert f"({ends}, active just now)" in shown()
        # However long the text, the row is one line in an 80-column terminal.
        (option,) = [o for o in screen.query_one(OptionList).options if o.id == "friend:bob"]
        assert isinstance(option.prompt, Text)
        console = Console(width=80, force_terminal=True)
        assert len(console.render_lines(option.prompt, console.options)) == 1

        async with bob.events():
            await until(pilot, lambda: "● online — busy" in shown(), "bob online, still busy")
        await until(pilot, lambda: "○ busy" in shown(), "bob gone, still busy")


async def test_t_and_w_choose_your_status(
    daemon: RunningDaemon, alice: CoopeClient, bob: CoopeClient, profiles: Profiles
) -> None:
    await befriend(alice, bob)
    app = tui(daemon, alice, profiles)
    async with app.run_test(size=(80, 30)) as pilot:
        screen = await open_friends(pilot)
        mine = screen.query_one("#my-status", Static)

        async def bob_sees(status: str) -> bool:
            return (await bob.friends.get("alice")).presence.status == status

        def shown_to_alice(label: str) -> bool:
            return f"You: ● {label}" in str(mine.render())

        for key, status, label in (
            ("t", "busy", "busy"),
            ("t", "dnd", "do not disturb"),
            ("t", "available", "available"),
            ("w", "away", "away"),
            ("t", "busy", "busy"),
            ("w", "away", "away"),
            ("w", "available", "available"),
        ):
            await pilot.press(key)
            await until(pilot, partial(bob_sees, status), f"bob sees alice {status}")
            await until(pilot, partial(shown_to_alice, label), f"alice sees {label}")

        await bob.presence.set("away", "lunch")  # nothing to do with alice's own line
        await alice.presence.set("busy", "focus", until=_in_an_hour())
        await until(pilot, lambda: "busy · focus (until" in str(mine.render()), "set elsewhere")


def _in_an_hour() -> datetime:
    return datetime.now().astimezone() + timedelta(hours=1)


class Monotonic:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_active_minutes_ago_count_on_while_the_screen_is_open(
    daemon: RunningDaemon, alice: CoopeClient, bob: CoopeClient, profiles: Profiles
) -> None:
    await befriend(alice, bob)
    await bob.auth.whoami()  # bob is active now, and then not connected
    app = tui(daemon, alice, profiles)
    clock = Monotonic()
    async with app.run_test(size=(80, 30)) as pilot:
        await until(pilot, lambda: app.people is not None, "the people loaded")
        assert app.people is not None
        app.people.clock = clock
        screen = await open_friends(pilot)
        await until(
            pilot, lambda: screen.state is not None and screen.state.clock is clock, "reloaded"
        )
        await until(
            pilot, lambda: "offline (active just now)" in row_text(screen, "friend:bob"), "bob"
        )

        clock.now += 5 * 60 + 1
        screen.redraw()  # what the screen's timer does every minute
        assert "offline (active 5 min ago)" in row_text(screen, "friend:bob")
        clock.now += 2 * 3600
        screen.redraw()
        assert "offline (active 2 h ago)" in row_text(screen, "friend:bob")

        # A presence that arrives anew says how long ago itself, counted on from then.
        async with bob.events():
            await until(pilot, lambda: "● online" in row_text(screen, "friend:bob"), "online")
        await until(pilot, lambda: "(active just now)" in row_text(screen, "friend:bob"), "gone")
        clock.now += 3 * 60
        screen.redraw()
        assert "offline (active 3 min ago)" in row_text(screen, "friend:bob")
