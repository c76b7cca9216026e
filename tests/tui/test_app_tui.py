"""Signing in, the help screen, the theme, and screenshots of the main screen at two sizes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from textual.widget import Widget
from textual.widgets import Input, OptionList, Static

from coope.client import CoopeClient
from coope.client.profiles import Profiles
from coope.notes.openai_api import NOT_CONFIGURED
from coope.tui.ai_chat import AIChatPane
from coope.tui.app import CoopeApp
from coope.tui.help import HelpScreen
from coope.tui.main_screen import MainScreen
from coope.tui.signin import SignInScreen
from tests.daemon.social_helpers import befriend, group_room
from tests.helpers import PASSWORD, RunningDaemon
from tests.tui.conftest import SIZE, lines, main_screen, shows, tui, until

# Screenshots to look at: in COOPE_TUI_SHOTS if set, else in the test's own temporary directory.
SHOTS_ENV = "COOPE_TUI_SHOTS"


async def test_sign_in_logs_in_and_saves_the_login(
    daemon: RunningDaemon, alice: CoopeClient, profiles: Profiles
) -> None:
    room = await alice.chat.create_room("team")
    app = CoopeApp(daemon.url, None, profiles=profiles)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SignInScreen), "the sign-in screen")
        screen = app.screen
        assert screen.query_one("#server", Input).value == daemon.url
        error = screen.query_one("#signin-error", Static)

        # A wrong password is told in plain words, and nothing is saved.
        await pilot.press(*"alice", "enter")  # Enter on a field moves to the next empty one
        await pilot.press(*"not the password", "enter")
        await until(pilot, lambda: "password" in str(error.render()).lower(), "the error")
        assert "Traceback" not in str(error.render())
        assert profiles.logins() == []

        screen.query_one("#password", Input).value = ""
        screen.query_one("#password", Input).focus()
        await pilot.press(*PASSWORD, "enter")
        await until(pilot, lambda: isinstance(app.screen, MainScreen), "the main screen")
        rooms = main_screen(pilot).sidebar.query_one("#rooms", OptionList)
        await until(pilot, lambda: lines(rooms) == ["#team"], "alice's rooms")
    saved = profiles.of_server(daemon.url)
    assert saved is not None and saved.username == "alice"
    async with CoopeClient(daemon.url, saved.token) as again:
        assert (await again.chat.room(room.id)).name == "team"


async def test_a_saved_login_can_be_picked(
    daemon: RunningDaemon, alice: CoopeClient, profiles: Profiles
) -> None:
    from coope.client.profiles import Login

    assert alice.token is not None
    profiles.save(Login(daemon.url, "alice", alice.token, "work"))
    await alice.chat.create_room("team")
    app = CoopeApp("http://127.0.0.1:9", None, profiles=profiles)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SignInScreen), "the sign-in screen")
        saved = app.screen.query_one("#saved", OptionList)
        assert lines(saved) == [f"work: alice on {daemon.url}"]
        saved.focus()
        saved.highlighted = 0
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, MainScreen), "the main screen")
        rooms = main_screen(pilot).sidebar.query_one("#rooms", OptionList)
        await until(pilot, lambda: lines(rooms) == ["#team"], "alice's rooms")


async def test_help_lists_every_binding_and_the_theme_toggles(
    daemon: RunningDaemon, alice: CoopeClient, profiles: Profiles
) -> None:
    app = tui(daemon, alice, profiles)
    async with app.run_test(size=SIZE) as pilot:
        main_screen(pilot)
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help screen")
        shown = " ".join(str(s.render()) for s in app.screen.query(".help-row"))
        keys = ("Reply", "Edit", "Delete", "React", "Send", "New line", "Light/dark", "Rooms")
        for words in (*keys, "AI chat", "Commands"):
            assert words in shown, words
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, MainScreen), "help closed")
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "help again with ?")
        await pilot.press("escape")

        assert app.theme == "textual-dark"
        await pilot.press("ctrl+t")
        assert app.theme == "textual-light"
        await pilot.press("ctrl+t")
        assert app.theme == "textual-dark"


async def test_the_ai_chat_opens_in_the_main_pane(
    daemon: RunningDaemon,
    alice: CoopeClient,
    profiles: Profiles,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    for name in ("COOPE_OPENAI_API_KEY", "COOPE_OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    app = tui(daemon, alice, profiles)
    async with app.run_test(size=SIZE) as pilot:
        screen = main_screen(pilot)
        await pilot.press("i")
        await until(pilot, lambda: screen.view == "ai", "the AI chat shown")
        pane = screen.query_one(AIChatPane)
        # With no server configured the pane says how to configure one, in the pane itself.
        await until(pilot, lambda: NOT_CONFIGURED in _text(pane), "the not-configured message")
        await pilot.press("1")
        await pilot.press("i")
        assert len(screen.query(AIChatPane)) == 1  # opened again, not made twice


def _text(widget: Widget) -> str:
    return " ".join(str(static.render()) for static in widget.query(Static))


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_main_screen_fits_and_is_saved_as_a_screenshot(
    daemon: RunningDaemon,
    alice: CoopeClient,
    bob: CoopeClient,
    profiles: Profiles,
    size: tuple[int, int],
    tmp_path: Path,
) -> None:
    await befriend(alice, bob)
    team = await group_room(alice, "team", [bob])
    await group_room(bob, "design", [alice])
    workspace = await alice.workspaces.create("Notes")
    await alice.pages.create(workspace.id, "Roadmap", icon="🗺", markdown="# Q3")
    await bob.live.connect()
    await bob.presence.set(text="reviewing")
    first = await bob.chat.send(team.id, "Morning! The build is green again.")
    await alice.chat.send(team.id, "Great, shipping the TUI today.", reply_to=first.id)
    await bob.chat.react(first.id, "🎉")
    app = tui(daemon, alice, profiles)
    async with app.run_test(size=size) as pilot:
        screen = main_screen(pilot)
        rooms = screen.sidebar.query_one("#rooms", OptionList)
        await until(pilot, lambda: shows(rooms, "#team"), "rooms")
        rooms.highlighted = next(i for i, line in enumerate(lines(rooms)) if "#team" in line)
        rooms.focus()
        await pilot.press("enter")
        log = screen.chat.message_log
        await until(pilot, lambda: shows(log, "shipping the TUI"), "the room")
        await bob.chat.send_direct("alice", "Coffee at 10?")
        await until(pilot, lambda: shows(rooms, "@bob 1"), "the unread badge of @bob")
        # Every part is on screen, none squeezed to nothing.
        for part in ("#rooms", "#friends", "#pages", "#messages", "#composer"):
            region = screen.query_one(part).region
            assert region.width > 0 and region.height > 0, part
            assert region.right <= size[0] and region.bottom <= size[1], part
        shots = Path(os.environ.get(SHOTS_ENV) or tmp_path)
        shots.mkdir(parents=True, exist_ok=True)
        app.save_screenshot(f"main-{size[0]}x{size[1]}.svg", str(shots))
    assert (shots / f"main-{size[0]}x{size[1]}.svg").stat().st_size > 0


async def test_a_login_the_daemon_no_longer_takes_goes_back_to_sign_in(
    daemon: RunningDaemon, alice: CoopeClient, profiles: Profiles
) -> None:
    app = CoopeApp(daemon.url, "not-a-token", profiles=profiles)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SignInScreen), "back to sign-in")
        error = app.screen.query_one("#signin-error", Static)
        await until(pilot, lambda: "sign in again" in str(error.render()), "why, in words")


async def test_a_narrow_terminal_shows_the_sidebar_or_the_room_in_turn(
    daemon: RunningDaemon, alice: CoopeClient, bob: CoopeClient, profiles: Profiles
) -> None:
    await befriend(alice, bob)
    team = await group_room(alice, "team", [bob])
    await alice.chat.send(team.id, "hello team")
    app = tui(daemon, alice, profiles)
    async with app.run_test(size=(50, 24)) as pilot:
        screen = main_screen(pilot)
        sidebar, main = screen.sidebar, screen.query_one("#main")
        log = screen.chat.message_log
        await until(pilot, lambda: shows(log, "hello team"), "the room opened")
        await until(pilot, lambda: main.display and not sidebar.display, "the room, full width")
        assert main.size.width == 50
        await pilot.press("1")
        await until(pilot, lambda: sidebar.display and not main.display, "the sidebar instead")
        assert sidebar.size.width == 50
        await pilot.press("enter")  # the room under the cursor
        await until(pilot, lambda: main.display and not sidebar.display, "back to the room")
        assert log.has_focus
        await pilot.resize_terminal(120, 36)
        await until(pilot, lambda: main.display and sidebar.display, "both when wide")
