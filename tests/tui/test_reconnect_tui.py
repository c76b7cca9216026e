"""The TUI across a daemon killed with SIGKILL and started again on the same port and data: a
banner while it is away, and the room on screen resumes with every message once."""

from __future__ import annotations

from pathlib import Path

import pytest

from coope.client import CoopeClient
from coope.client.profiles import Profiles
from tests.daemon.social_helpers import group_room
from tests.helpers import PASSWORD, DaemonProcess
from tests.tui.conftest import SIZE, lines, main_screen, shows, until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


async def test_banner_while_the_daemon_is_away_and_nothing_missed(
    tmp_path: Path, daemons: list[DaemonProcess], profiles: Profiles
) -> None:
    from coope.tui.app import CoopeApp

    data_dir = tmp_path / "data"
    first = DaemonProcess(data_dir)
    daemons.append(first)
    first.start()
    port = first.url.rsplit(":", 1)[1]
    async with CoopeClient(first.url) as alice, CoopeClient(first.url) as bob:
        await alice.auth.signup("alice", PASSWORD)
        await bob.auth.signup("bob", PASSWORD)
        team = await group_room(alice, "team", [bob])
        await bob.chat.send(team.id, "before")
        alice_token, bob_token = alice.token, bob.token

    app = CoopeApp(first.url, alice_token, profiles=profiles)
    async with app.run_test(size=SIZE) as pilot:
        screen = main_screen(pilot)
        log, banner = screen.chat.message_log, screen.banner
        await until(pilot, lambda: shows(log, "before"), "the room")
        await until(
            pilot,
            lambda: app.client is not None and app.client.live.state == "connected",
            "connected",
        )
        assert not banner.display

        first.kill()
        await until(pilot, lambda: banner.display, "the banner")
        assert "reconnecting" in str(banner.render())

        second = DaemonProcess(data_dir, "--port", port)
        daemons.append(second)
        second.start()
        async with CoopeClient(second.url, bob_token) as bob:
            await bob.chat.send(team.id, "while away")
            await until(pilot, lambda: not banner.display, "the banner gone")
            await until(pilot, lambda: shows(log, "while away"), "what came while away")
            await bob.chat.send(team.id, "after")
            await until(pilot, lambda: shows(log, "after"), "live again")
        bodies = [line.split(" ", 2)[-1] for line in lines(log)]
        assert bodies.count("before") == bodies.count("while away") == bodies.count("after") == 1
