"""A chosen status (available, away, busy, dnd) with a text and an end, shown whatever the
connection; online while a live connection is open; "active N min ago" from any request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from coope.client import CoopeClient
from coope.core.errors import InvalidInput, Unauthenticated
from coope.core.models import PresenceState
from coope.core.social_schemas import PresenceOut
from coope.daemon.app import create_app
from coope.daemon.clock import ManualClock
from coope.daemon.config import DaemonConfig
from coope.daemon.http.keys import SERVICES, WEBSOCKETS
from coope.daemon.services.activity import PERSIST_EVERY_S
from tests.daemon.social_helpers import (
    assert_none_within,
    befriend,
    next_presence,
    ping,
    presence_of,
)
from tests.helpers import RunningDaemon, assert_eventually

HOUR = 3600.0


@pytest.fixture
async def daemon(start_daemon: Any) -> RunningDaemon:
    """A daemon whose clock moves only when a test moves it."""
    running: RunningDaemon = await start_daemon(manual_clock=True)
    return running


@pytest.fixture
async def bob(daemon: RunningDaemon, alice: CoopeClient) -> AsyncIterator[CoopeClient]:
    async with await daemon.user("bob") as client:
        await befriend(alice, client)
        yield client


@pytest.fixture
async def carol(daemon: RunningDaemon, bob: CoopeClient) -> AsyncIterator[CoopeClient]:
    """Not a friend of anyone."""
    async with await daemon.user("carol") as client:
        yield client


def advance(daemon: RunningDaemon, seconds: float) -> None:
    """Move the daemon's clock, and wake its presence service to what is due by it (its timer
    would, within a minute)."""
    assert daemon.clock is not None
    daemon.clock.advance(seconds)
    daemon.app[SERVICES].presence.check_ends()


def daemon_now(daemon: RunningDaemon) -> datetime:
    assert daemon.clock is not None
    return datetime.fromtimestamp(daemon.clock.now(), UTC)


async def seen_by(friend: CoopeClient, name: str) -> PresenceOut:
    return (await friend.friends.get(name)).presence


async def stored_last_active(daemon: RunningDaemon, user_id: int) -> float | None:
    """What the database holds, read behind the daemon's back."""
    rows = await daemon.sql("SELECT last_active_at FROM user_status WHERE user_id = ?", user_id)
    return float(rows[0][0]) if rows else None


async def test_a_cli_only_user_reads_as_active_minutes_ago(
    daemon: RunningDaemon, alice: CoopeClient, bob: CoopeClient
) -> None:
    await bob.auth.whoami()  # any request with a valid credential
    active_at = daemon_now(daemon)
    advance(daemon, 5 * 60)
    seen = await seen_by(alice, "bob")
    assert (seen.online, seen.state, seen.status) == (False, PresenceState.OFFLINE, "available")
    assert (seen.last_active_at, seen.active_ago_s) == (active_at, 300)
    assert seen.last_seen_at == active_at  # the older field says the same

    advance(daemon, 2 * HOUR)
    await bob.chat.rooms()
    assert (await seen_by(alice, "bob")).active_ago_s == 0


async def test_a_request_costs_no_write_but_one_a_minute(
    daemon: RunningDaemon, alice: CoopeClient, bob: CoopeClient
) -> None:
    bob_id = (await bob.auth.whoami()).user.id
    first = daemon.clock.now() if daemon.clock else 0.0
    assert await stored_last_active(daemon, bob_id) == first

    advance(daemon, PERSIST_EVERY_S / 2)
    await bob.auth.whoami()
    assert await stored_last_active(daemon, bob_id) == first  # kept in memory only...
    assert (await seen_by(alice, "bob")).active_ago_s == 0  # ...and read from there

    advance(daemon, PERSIST_EVERY_S / 2)
    await bob.auth.whoami()
    assert await stored_last_active(daemon, bob_id) == first + PERSIST_EVERY_S


async def test_a_user_who_never_made_a_request_reads_as_never(daemon: RunningDaemon) -> None:
    async with await daemon.user("root"), await daemon.user("dave") as dave:
        # Signing up is no authenticated request; this read is dave's first one, and counts.
        mine = await dave.presence.get()
        assert mine.last_active_at == daemon_now(daemon)
        [(never,)] = await daemon.sql(
            "SELECT COUNT(*) FROM users u LEFT JOIN user_status s ON s.user_id = u.id"
            " WHERE u.username = 'root' AND s.last_active_at IS NULL"
        )
        assert never == 1


async def test_a_refused_credential_is_no_activity(
    daemon: RunningDaemon, alice: CoopeClient, bob: CoopeClient
) -> None:
    token = await bob.tokens.create("script")
    async with daemon.client(token.token) as script:
        await script.auth.whoami()
        advance(daemon, 10 * 60)
        await bob.tokens.revoke(token.info.id)
        advance(daemon, 5 * 60)
        with pytest.raises(Unauthenticated):
            await script.auth.whoami()
    async with daemon.client("not-a-token") as stranger:
        with pytest.raises(Unauthenticated):
            await stranger.auth.whoami()
    # The revocation (bob's own request) was the last activity: 5 min before now.
    assert (await seen_by(alice, "bob")).active_ago_s == 5 * 60


async def test_online_while_a_live_connection_is_open_and_not_after(
    daemon: RunningDaemon, alice: CoopeClient, bob: CoopeClient
) -> None:
    async with alice.events() as alice_events:
        await ping(alice_events)
        async with bob.events():
            online = (await next_presence(alice_events, "bob")).data
            assert (online.online, online.state) == (True, PresenceState.ONLINE)
            advance(daemon, HOUR)  # a quiet hour: still online, active now
            seen = await seen_by(alice, "bob")
            assert (seen.online, seen.active_ago_s) == (True, 0)
        left_at = daemon_now(daemon)
        offline = (await next_presence(alice_events, "bob")).data
    assert (offline.online, offline.state, offline.last_active_at) == (
        False,
        PresenceState.OFFLINE,
        left_at,
    )
    await assert_eventually(lambda: not daemon.app[WEBSOCKETS])
    advance(daemon, 7 * 60)
    seen = await seen_by(alice, "bob")
    assert (seen.online, seen.active_ago_s) == (False, 7 * 60)


async def test_a_chosen_status_shows_whatever_the_connection(
    alice: CoopeClient, bob: CoopeClient
) -> None:
    async with alice.events() as alice_events:
        await ping(alice_events)
        mine = await bob.presence.set("busy", "in a review")
        assert (mine.status, mine.text, mine.online) == ("busy", "in a review", False)
        told = (await next_presence(alice_events, "bob")).data
        assert (told.status, told.text, told.state) == ("busy", "in a review", "offline")

        async with bob.events():
            told = (await next_presence(alice_events, "bob")).data
            assert (told.status, told.online, told.state) == ("busy", True, "online")
            await bob.presence.set("dnd")
            told = (await next_presence(alice_events, "bob")).data
            assert (told.status, told.text) == ("dnd", "in a review")  # the text is kept
            await bob.presence.set("away")
            told = (await next_presence(alice_events, "bob")).data
            assert (told.status, told.state) == ("away", "away")  # older clients see away
            cleared = await bob.presence.clear()
            assert (cleared.status, cleared.text, cleared.expires_at) == ("available", "", None)
            told = (await next_presence(alice_events, "bob")).data
            assert (told.status, told.text, told.state) == ("available", "", "online")

            await bob.presence.clear()  # nothing changes: nothing is told
            await assert_none_within(alice_events, presence_of("bob"))


async def test_a_status_ends_by_the_daemon_clock_and_friends_are_told(
    daemon: RunningDaemon, alice: CoopeClient, bob: CoopeClient, carol: CoopeClient
) -> None:
    async with alice.events() as alice_events, carol.events() as carol_events:
        await ping(alice_events)
        await ping(carol_events)
        mine = await bob.presence.set("busy", "in a review", for_s=int(HOUR))
        ends_at = daemon_now(daemon) + timedelta(hours=1)
        assert mine.expires_at == ends_at
        assert (await next_presence(alice_events, "bob")).data.expires_at == ends_at

        advance(daemon, HOUR - 1)
        assert (await seen_by(alice, "bob")).status == "busy"
        await assert_none_within(alice_events, presence_of("bob"))

        advance(daemon, 1)
        ended = (await next_presence(alice_events, "bob")).data
        assert (ended.status, ended.text, ended.expires_at) == ("available", "", None)
        mine = await bob.presence.get()
        assert (mine.status, mine.text, mine.expires_at) == ("available", "", None)
        await assert_none_within(carol_events, presence_of("bob"))


async def test_a_new_text_keeps_the_end_and_a_new_status_drops_it(
    daemon: RunningDaemon, bob: CoopeClient
) -> None:
    until = daemon_now(daemon) + timedelta(minutes=90)
    mine = await bob.presence.set("away", "lunch", until=until.astimezone())
    assert mine.expires_at == until
    assert (await bob.presence.set(text="late lunch")).expires_at == until
    assert (await bob.presence.set("busy")).expires_at is None
    ending = await bob.presence.set(for_s=60)  # an end alone, for the status there is
    assert (ending.status, ending.text) == ("busy", "late lunch")
    assert ending.expires_at == daemon_now(daemon) + timedelta(seconds=60)
    advance(daemon, 61)
    assert (await bob.presence.get()).status == "available"
    with pytest.raises(InvalidInput, match="time zone"):  # which 15:00? the daemon cannot tell
        await bob.presence.set("busy", until=datetime(2030, 1, 1, 15, 0))


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"status": "sleeping"}, "status"),
        ({"status": "busy", "state": "away"}, "not both"),
        ({"state": "offline"}, "state"),
        ({"for_s": 0}, "for_s"),
        ({"for_s": -60}, "for_s"),
        ({"for_s": 30 * 86400 + 1}, "for_s"),
        ({"for_s": 1e300}, "for_s"),
        ({"for_s": "1h"}, "for_s"),
        ({"for_s": 60, "until": "2030-01-01T00:00:00+00:00"}, "not both"),
        ({"until": "tomorrow"}, "until"),
        ({"until": "2030-01-01T15:00:00"}, "time zone"),
        ({"until": "2001-01-01T15:00:00+00:00"}, "future"),
        ({"until": "9999-12-31T23:59:59+00:00"}, "30 days"),
        ({"text": "x" * 141}, "text"),
        ({"text": "two\nlines"}, "text"),
        ({"text": "\x1b[31mred"}, "text"),
        ({"status": "busy", "colour": "red"}, "colour"),
    ],
)
async def test_hostile_status_changes_are_refused(
    daemon: RunningDaemon, bob: CoopeClient, body: dict[str, Any], problem: str
) -> None:
    headers = {"Authorization": f"Bearer {bob.token}"}
    async with (
        aiohttp.ClientSession() as http,
        http.put(daemon.url + "/api/v1/presence", json=body, headers=headers) as response,
    ):
        refused = await response.json()
    assert (response.status, refused["error"]["code"]) == (422, "invalid_input"), refused
    assert problem in refused["error"]["message"], refused
    mine = await bob.presence.get()
    assert (mine.status, mine.text, mine.expires_at) == ("available", "", None)


async def test_an_end_set_before_a_restart_is_announced_after_it(tmp_path: Path) -> None:
    config = DaemonConfig(data_dir=tmp_path / "data", host="127.0.0.1", port=0, scrypt_log2_n=10)
    async with _serving(config, ManualClock()) as first:
        async with await first.user("ann") as ann, await first.user("ben") as ben:
            await befriend(ann, ben)
            await ben.presence.set("busy", "on a train", for_s=60)
            token = ann.token
    clock = ManualClock()
    async with _serving(config, clock) as second, second.client(token) as ann:
        async with ann.events() as events:
            await ping(events)
            assert (await ann.friends.get("ben")).presence.status == "busy"
            advance(second, 60)
            told = (await next_presence(events, "ben")).data
            assert (told.status, told.text) == ("available", "")


@asynccontextmanager
async def _serving(config: DaemonConfig, clock: ManualClock) -> AsyncIterator[RunningDaemon]:
    runner = web.AppRunner(create_app(config, clock=clock), handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        yield RunningDaemon(url, runner.app, config, clock)
    finally:
        await runner.cleanup()
