"""The main screens as a person sees them, at 80x24 and 160x48, compared with the accepted
pictures in `__snapshots__/` (SVG; open one in a browser to look at it).

A changed picture fails the test; after looking at the new one (the failure report of syrupy
shows the difference), accept it with `pytest tests/tui/test_snapshots_tui.py
--snapshot-update`. What would change from run to run is fixed: the daemon's clock (message
times), the time zone, and the ids of everything (a daemon of the test's own).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass

import pytest
from pytest_textual_snapshot import SVGImageExtension
from syrupy.assertion import SnapshotAssertion
from textual.pilot import Pilot

from coope.client import CoopeClient
from coope.client.profiles import Profiles
from coope.tui.app import CoopeApp
from coope.tui.friends_screen import FriendsScreen
from coope.tui.help import HelpScreen
from coope.tui.page_blocks import BlockList
from coope.tui.signin import SignInScreen
from tests.conftest import DaemonFactory
from tests.daemon.social_helpers import befriend, group_room
from tests.helpers import RunningDaemon
from tests.tui.conftest import lines, main_screen, shows, tui, until

DAY_S = 86_400


def yesterday_0930_utc() -> float:
    """The daemon's clock in these pictures (times show as 09:30): a fixed time of day, and
    in the past, since the daemon's tokens are checked against the real time too."""
    return (time.time() // DAY_S - 1) * DAY_S + 9.5 * 3600


SIZES = [(80, 24), (160, 48)]


@pytest.fixture
async def daemon(start_daemon: DaemonFactory, monkeypatch: pytest.MonkeyPatch) -> RunningDaemon:
    """A daemon whose clock stands still at a fixed time, in a fixed time zone."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    running = await start_daemon(manual_clock=True)
    assert running.clock is not None
    running.clock.advance(yesterday_0930_utc() - running.clock.now())
    return running


@pytest.fixture(autouse=True)
def _local_time_zone_back() -> Iterator[None]:
    yield
    time.tzset()  # monkeypatch has put TZ back by now


@dataclass
class World:
    team_id: int
    page_id: int


@pytest.fixture
async def world(daemon: RunningDaemon, alice: CoopeClient) -> AsyncIterator[World]:
    """alice's rooms, friends and pages, the same every time."""
    async with await daemon.user("bob") as bob, await daemon.user("carol") as carol:
        await befriend(alice, bob)
        await befriend(alice, carol)
        await bob.presence.set("away", "at lunch")
        await bob.chat.send_direct("alice", "lunch at noon?")
        team = await group_room(alice, "team", [bob, carol])  # the latest: it opens first
        plan = await alice.chat.send(team.id, "Shall we ship the TUI this week?")
        answer = await bob.chat.send(team.id, "Yes, after the review.", reply_to=plan.id)
        await carol.chat.react(answer.id, "👍")
        await carol.chat.send(team.id, "I will write the notes.\nAnd the release page.")
        workspace = await alice.workspaces.create("Team")
        page = await alice.pages.create(
            workspace.id,
            "Release plan",
            icon="🚀",
            markdown="# Q3\n\n- [x] client\n- [ ] ship the TUI\n\nNotes go here.\n",
        )
        await alice.pages.create(workspace.id, "Minutes", parent_id=page.id)
        yield World(team.id, page.id)


Setup = Callable[[Pilot[None]], Awaitable[None]]


async def picture(app: CoopeApp, size: tuple[int, int], setup: Setup) -> str:
    async with app.run_test(size=size) as pilot:
        await setup(pilot)
        await pilot.pause()
        return app.export_screenshot()


def team_open(world: World) -> Setup:
    async def setup(pilot: Pilot[None]) -> None:
        screen = main_screen(pilot)
        log = screen.chat.message_log
        await until(pilot, lambda: shows(log, "the release page"), "#team's messages")
        await until(pilot, lambda: screen.sidebar.query_one("#pages").root.children, "pages")
        await until(pilot, lambda: shows(screen.sidebar.query_one("#friends"), "carol"), "friends")

    return setup


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_the_room_on_screen(
    daemon: RunningDaemon,
    alice: CoopeClient,
    world: World,
    profiles: Profiles,
    snapshot: SnapshotAssertion,
    size: tuple[int, int],
) -> None:
    shot = await picture(tui(daemon, alice, profiles), size, team_open(world))
    assert shot == snapshot(extension_class=SVGImageExtension)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_a_page_on_screen(
    daemon: RunningDaemon,
    alice: CoopeClient,
    world: World,
    profiles: Profiles,
    snapshot: SnapshotAssertion,
    size: tuple[int, int],
) -> None:
    async def setup(pilot: Pilot[None]) -> None:
        await team_open(world)(pilot)
        screen = main_screen(pilot)
        screen.sidebar.post_message(screen.sidebar.PageChosen(world.page_id))
        blocks = screen.page.query_one(BlockList)
        await until(pilot, lambda: "Notes go here." in lines(blocks), "the page's blocks")

    shot = await picture(tui(daemon, alice, profiles), size, setup)
    assert shot == snapshot(extension_class=SVGImageExtension)


async def test_the_light_theme(
    daemon: RunningDaemon,
    alice: CoopeClient,
    world: World,
    profiles: Profiles,
    snapshot: SnapshotAssertion,
) -> None:
    async def setup(pilot: Pilot[None]) -> None:
        await team_open(world)(pilot)
        await pilot.press("ctrl+t")

    shot = await picture(tui(daemon, alice, profiles), (80, 24), setup)
    assert shot == snapshot(extension_class=SVGImageExtension)


async def test_the_help_and_friends_screens(
    daemon: RunningDaemon,
    alice: CoopeClient,
    world: World,
    profiles: Profiles,
    snapshot: SnapshotAssertion,
) -> None:
    async def help_open(pilot: Pilot[None]) -> None:
        await team_open(world)(pilot)
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(pilot.app.screen, HelpScreen), "the help")

    async def friends_open(pilot: Pilot[None]) -> None:
        await team_open(world)(pilot)
        await pilot.press("f")
        await until(pilot, lambda: isinstance(pilot.app.screen, FriendsScreen), "the screen")
        people = pilot.app.screen.query_one("#people")
        await until(pilot, lambda: shows(people, "carol"), "the friends listed")  # type: ignore[arg-type]

    for setup in (help_open, friends_open):
        shot = await picture(tui(daemon, alice, profiles), (80, 24), setup)
        assert shot == snapshot(extension_class=SVGImageExtension)


async def test_the_sign_in_screen(
    daemon: RunningDaemon, profiles: Profiles, snapshot: SnapshotAssertion
) -> None:
    async def setup(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: isinstance(pilot.app.screen, SignInScreen), "sign-in")

    app = CoopeApp("http://127.0.0.1:8765", profiles=profiles)
    shot = await picture(app, (80, 24), setup)
    assert shot == snapshot(extension_class=SVGImageExtension)
