"""The TUI against a real daemon: the app under a Textual pilot, in the test's event loop."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import OptionList

from coope.client import CoopeClient
from coope.client.profiles import Profiles
from coope.tui.app import CoopeApp
from coope.tui.main_screen import MainScreen
from tests.helpers import PATIENCE_S, RunningDaemon, assert_eventually

SIZE = (120, 36)


@pytest.fixture
async def bob(daemon: RunningDaemon, alice: CoopeClient) -> AsyncIterator[CoopeClient]:
    async with await daemon.user("bob") as client:
        yield client


@pytest.fixture
def profiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Profiles:
    """Saved logins in a directory of the test's own (never the user's)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return Profiles()


def tui(daemon: RunningDaemon, client: CoopeClient, profiles: Profiles) -> CoopeApp:
    """The app logged in as `client`'s user."""
    return CoopeApp(daemon.url, client.token, profiles=profiles)


async def until(
    pilot: Pilot[None],
    condition: Callable[[], bool | Awaitable[bool]],
    what: str,
    timeout: float = PATIENCE_S,
) -> None:
    """Let the app run until `condition` holds; fail after `timeout` saying `what`.
    `condition` may be a coroutine function (one that asks the daemon through a client)."""

    async def holds() -> bool:
        await pilot.pause()
        result = condition()
        return await result if isinstance(result, Awaitable) else result

    await assert_eventually(holds, timeout, what)


def main_screen(pilot: Pilot[None]) -> MainScreen:
    screen = pilot.app.screen
    assert isinstance(screen, MainScreen), screen
    return screen


def lines(options: OptionList) -> list[str]:
    """What an option list shows, one string per option."""
    return [str(option.prompt) for option in options.options]


def shows(options: OptionList, text: str) -> bool:
    return any(text in line for line in lines(options))
