"""The browser call page when the daemon that runs its call dies: it joins again by itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from coope.client import CoopeClient
from tests.daemon.callclient import CallClient
from tests.daemon.conftest import service_prefix
from tests.daemon.test_nodes_calls import alice_on, three_nodes
from tests.helpers import DaemonProcess, assert_eventually
from tests.tools import PostgresServer, require_tool
from tests.web.test_call_page import CHROMIUM, MEDIA_TIMEOUT, browsers, open_call

__all__ = ["service_prefix"]  # the fixture, used below

pytestmark = pytest.mark.timeout(240)


async def test_the_page_joins_again_when_the_call_s_node_dies(
    service_prefix: str, postgres: PostgresServer, daemons: list[DaemonProcess], tmp_path: Path
) -> None:
    """Bob's page is served by B, the call runs on A (Alice, an aiortc peer, started it
    there). A gets SIGKILL: the page is told the call moved, joins again through B, and sees
    Alice once she is back through C."""
    require_tool("chromium", CHROMIUM, hint="apt-get install chromium")
    a, b, c = await three_nodes(service_prefix, postgres, daemons, tmp_path)
    async with alice_on(a, bob_on=b) as (alice, bob, room):
        on_a = CallClient(alice, room.id)
        alice_on_c = CoopeClient(c.url, alice.token)
        back = CallClient(alice_on_c, room.id)
        try:
            await on_a.connect()
            await on_a.join()
            await on_a.start_media()
            async with browsers(1) as (browser,):
                page = await open_call(browser, b, room.id, bob)
                await page.join()
                await assert_eventually(page.rising("alice", "video"), MEDIA_TIMEOUT, interval=0.25)

                a.kill()
                await page.wait(
                    "coope.state.joins === 2 && coope.state.phase === 'in-call'"
                    " && coope.state.media === 'connected'",
                    timeout=30,
                )
                await back.connect()
                assert (await back.join()).data.participants == ["bob", "alice"]
                await back.start_media()
                await assert_eventually(page.rising("alice", "video"), MEDIA_TIMEOUT, interval=0.25)
                await page.wait("coope.state.participants.join() === 'bob,alice'")
                assert page.errors == []
        finally:
            for call in (on_a, back):
                await call.aclose()
            await alice_on_c.aclose()
