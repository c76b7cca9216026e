"""Presence as friends see it live: several devices, idle connections, a chosen status."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from coope.client import CoopeClient
from coope.core.errors import InvalidInput
from coope.core.models import PresenceState
from coope.daemon.http.keys import WEBSOCKETS
from tests.daemon.social_helpers import (
    assert_none_within,
    befriend,
    next_presence,
    ping,
    presence_of,
)
from tests.helpers import RunningDaemon, assert_eventually, next_event


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


async def alices_presence_for(friend: CoopeClient) -> tuple[str, str, datetime | None]:
    (entry,) = [f for f in await friend.friends.list() if f.user.username == "alice"]
    return entry.presence.state.value, entry.presence.text, entry.presence.last_seen_at


async def sockets_closed_down_to(daemon: RunningDaemon, count: int) -> None:
    """Wait until the daemon has finished with every socket beyond `count` (presence included:
    a socket leaves this set only after its disconnection was accounted for)."""
    await assert_eventually(lambda: len(daemon.app[WEBSOCKETS]) == count)


async def test_two_devices_seen_live_by_a_friend(
    daemon: RunningDaemon, alice: CoopeClient, bob: CoopeClient
) -> None:
    assert (await alices_presence_for(bob))[0] == "offline"
    async with bob.events() as bob_events:
        await ping(bob_events)
        async with alice.events() as device1:
            online = await next_presence(bob_events, "alice")
            assert online.data.state == "online"
            async with alice.events() as device2:
                await ping(device2)
                # The second device changes nothing a friend can see.
                await assert_none_within(bob_events, presence_of("alice"))

                await device1.aclose()
                await sockets_closed_down_to(daemon, 2)  # bob's and device 2
                await assert_none_within(bob_events, presence_of("alice"))
                assert (await alices_presence_for(bob))[0] == "online"

                before_last = datetime.now(UTC)
                await device2.aclose()
                offline = await next_presence(bob_events, "alice")
        assert offline.data.state == "offline"
        last_seen = offline.data.last_seen_at
        assert last_seen is not None
        assert before_last - timedelta(seconds=1) <= last_seen <= datetime.now(UTC)
        state, _, listed_last_seen = await alices_presence_for(bob)
        assert (state, listed_last_seen) == ("offline", last_seen)


async def test_one_device_comes_online_before_the_other_one(
    daemon: RunningDaemon, alice: CoopeClient, bob: CoopeClient
) -> None:
    """Devices that come and go in turn: offline only once none is left."""
    async with bob.events() as bob_events:
        await ping(bob_events)
        async with alice.events() as device1:
            assert (await next_presence(bob_events, "alice")).data.state == "online"
            async with alice.events() as device2:
                await ping(device2)
            await sockets_closed_down_to(daemon, 2)
            await ping(device1)
            await assert_none_within(bob_events, presence_of("alice"))
        assert (await next_presence(bob_events, "alice")).data.state == "offline"


async def test_an_idle_connection_makes_its_user_away_only_when_alone(
    alice: CoopeClient, bob: CoopeClient
) -> None:
    async with bob.events() as bob_events:
        await ping(bob_events)
        async with alice.events() as device1:
            assert (await next_presence(bob_events, "alice")).data.state == "online"
            await device1.send({"type": "presence", "state": "away"})
            assert (await next_presence(bob_events, "alice")).data.state == "away"
            assert (await alices_presence_for(bob))[0] == "away"

            async with alice.events() as device2:  # an active device: online again
                assert (await next_presence(bob_events, "alice")).data.state == "online"
                await device2.send({"type": "presence", "state": "away"})
                assert (await next_presence(bob_events, "alice")).data.state == "away"
                await device1.send({"type": "presence", "state": "online"})
                assert (await next_presence(bob_events, "alice")).data.state == "online"
                # Reporting the same state again announces nothing.
                await device1.send({"type": "presence", "state": "online"})
                await ping(device1)
                await assert_none_within(bob_events, presence_of("alice"))
            # device 2 (idle) is gone, device 1 is active: still online, nothing to tell.
            await ping(device1)
            await assert_none_within(bob_events, presence_of("alice"))
            assert (await alices_presence_for(bob))[0] == "online"


async def test_a_connection_cannot_report_itself_offline(
    alice: CoopeClient, bob: CoopeClient
) -> None:
    async with bob.events() as bob_events:
        await ping(bob_events)
        async with alice.events() as device:
            assert (await next_presence(bob_events, "alice")).data.state == "online"
            for state in ("offline", "busy", None):
                await device.send({"type": "presence", "state": state})
                assert (await next_event(device, "error")).data.code == "bad_request"
            await assert_none_within(bob_events, presence_of("alice"))
            assert (await alices_presence_for(bob))[0] == "online"


async def test_chosen_away_and_text_persist_across_reconnects(
    daemon: RunningDaemon, alice: CoopeClient, bob: CoopeClient
) -> None:
    async with bob.events() as bob_events:
        await ping(bob_events)
        async with alice.events() as device:
            assert (await next_presence(bob_events, "alice")).data.state == "online"
            mine = await alice.presence.set("away", text="lunch")
            assert (mine.state, mine.text) == (PresenceState.AWAY, "lunch")
            seen = await next_presence(bob_events, "alice")
            assert (seen.data.state, seen.data.text) == ("away", "lunch")
            # Her own devices are told too (after the "online" of their own connection).
            own = [(await next_presence(device, "alice")).data for _ in range(2)]
            assert [(p.state, p.text) for p in own] == [("online", ""), ("away", "lunch")]
            # An active connection does not override a status chosen by hand.
            await device.send({"type": "presence", "state": "online"})
            await ping(device)
            assert (await alices_presence_for(bob))[:2] == ("away", "lunch")

        offline = await next_presence(bob_events, "alice")
        assert (offline.data.state, offline.data.text) == ("offline", "lunch")
        await sockets_closed_down_to(daemon, 1)

        async with alice.events():
            back = await next_presence(bob_events, "alice")
            assert (back.data.state, back.data.text) == ("away", "lunch")
            got = await alice.presence.get()
            assert (got.state, got.text) == (PresenceState.AWAY, "lunch")
            assert (await alices_presence_for(bob))[:2] == ("away", "lunch")

            mine = await alice.presence.set("available")
            assert (mine.state, mine.text) == (PresenceState.ONLINE, "lunch")  # text kept
            seen = await next_presence(bob_events, "alice")
            assert (seen.data.state, seen.data.text) == ("online", "lunch")

            await alice.presence.set(text="")
            seen = await next_presence(bob_events, "alice")
            assert (seen.data.state, seen.data.text) == ("online", "")
            assert (await alices_presence_for(bob))[:2] == ("online", "")


async def test_status_text_is_bounded(alice: CoopeClient) -> None:
    with pytest.raises(InvalidInput):
        await alice.presence.set(text="x" * 141)
    assert (await alice.presence.set(text="  x  ")).text == "x"


async def test_non_friends_get_no_presence(
    alice: CoopeClient, bob: CoopeClient, carol: CoopeClient
) -> None:
    async with bob.events() as bob_events, carol.events() as carol_events:
        # carol is told about herself (so her stream is live), never about alice.
        assert (await next_presence(carol_events, "carol")).data.state == "online"
        await ping(bob_events)
        async with alice.events() as device:
            assert (await next_presence(bob_events, "alice")).data.state == "online"
            await alice.presence.set("away", text="busy")
            assert (await next_presence(bob_events, "alice")).data.state == "away"
            await device.send({"type": "presence", "state": "away"})
            await ping(device)
        assert (await next_presence(bob_events, "alice")).data.state == "offline"
        await assert_none_within(carol_events, presence_of("alice"))
    assert await carol.friends.list() == []


async def test_presence_starts_flowing_when_a_friendship_starts_and_stops_when_it_ends(
    daemon: RunningDaemon, alice: CoopeClient, bob: CoopeClient, carol: CoopeClient
) -> None:
    async with carol.events() as carol_events, alice.events() as device:
        await ping(carol_events)
        await ping(device)
        await befriend(alice, carol)
        assert (await next_presence(carol_events, "alice")).data.state == "online"
        await alice.friends.remove("carol")
        await next_event(carol_events, "friend.removed")
        await alice.presence.set("away")
        await assert_none_within(carol_events, presence_of("alice"))
