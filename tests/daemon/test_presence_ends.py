"""The service that ends chosen statuses: one change of a user's status at a time, a timer
woken at the soonest end (or within a minute), nothing armed once closed, and a deleted
account forgotten."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from coope.client import CoopeClient
from coope.daemon.http.keys import SERVICES
from coope.daemon.services.presence import RECHECK_S, PresenceService
from tests.daemon.social_helpers import assert_none_within, befriend, next_presence, ping
from tests.daemon.social_helpers import presence_of as about
from tests.helpers import RunningDaemon

HOUR = 3600


@pytest.fixture
async def daemon(start_daemon: Any) -> RunningDaemon:
    running: RunningDaemon = await start_daemon(manual_clock=True)
    return running


@pytest.fixture
async def bob(daemon: RunningDaemon, alice: CoopeClient) -> AsyncIterator[CoopeClient]:
    async with await daemon.user("bob") as client:
        await befriend(alice, client)
        yield client


def service(daemon: RunningDaemon) -> PresenceService:
    return daemon.app[SERVICES].presence


def advance(daemon: RunningDaemon, seconds: float) -> None:
    assert daemon.clock is not None
    daemon.clock.advance(seconds)
    service(daemon).check_ends()


async def test_two_changes_at_once_leave_the_end_of_the_one_stored_last(
    daemon: RunningDaemon, alice: CoopeClient, bob: CoopeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    presence = service(daemon)
    storage = presence._storage
    write, lock = storage.set_chosen_status, presence._status_lock
    first_written, second_started, release = asyncio.Event(), asyncio.Event(), asyncio.Event()
    writes = 0

    async def slow_first_write(*args: Any) -> None:
        nonlocal writes
        writes += 1
        await write(*args)
        if writes == 1:  # the first change stops between storing and watching its end
            first_written.set()
            await release.wait()
        else:
            second_started.set()  # the second one stored meanwhile

    def locking(user_id: int) -> asyncio.Lock:
        if first_written.is_set():
            second_started.set()  # waiting its turn
        return lock(user_id)

    monkeypatch.setattr(storage, "set_chosen_status", slow_first_write)
    monkeypatch.setattr(presence, "_status_lock", locking)

    ending = asyncio.create_task(bob.presence.set("busy", "review", for_s=HOUR))
    await first_written.wait()
    lasting = asyncio.create_task(bob.presence.set("away", "lunch"))  # no end
    await second_started.wait()
    release.set()
    await asyncio.gather(ending, lasting)

    mine = await bob.presence.get()
    assert (mine.status, mine.text, mine.expires_at) == ("away", "lunch", None)
    async with alice.events() as events:
        await ping(events)
        advance(daemon, HOUR)
        # What was stored last has no end: no end is announced an hour later.
        await assert_none_within(events, about("bob"))


async def test_the_timer_wakes_at_the_soonest_end_or_within_a_minute(
    daemon: RunningDaemon, bob: CoopeClient
) -> None:
    presence = service(daemon)
    loop = asyncio.get_running_loop()
    await bob.presence.set("busy", for_s=HOUR)
    timer = presence._timer  # not a poll every second: a wake-up a minute ahead at most
    assert timer is not None and RECHECK_S - 5 < timer.when() - loop.time() <= RECHECK_S
    await bob.presence.set("busy", for_s=10)
    timer = presence._timer
    assert timer is not None and 5 < timer.when() - loop.time() <= 10


async def test_after_closing_a_status_change_arms_nothing(
    daemon: RunningDaemon, bob: CoopeClient
) -> None:
    presence = service(daemon)
    await presence.aclose()
    await bob.presence.set("busy", for_s=60)
    assert presence._timer is None
    advance(daemon, 60)
    assert presence._timer is None and not presence._ending


async def test_a_forgotten_account_s_status_end_is_never_announced(
    daemon: RunningDaemon, alice: CoopeClient, bob: CoopeClient
) -> None:
    bob_id = (await bob.auth.whoami()).user.id
    await bob.presence.set("busy", for_s=60)
    advance(daemon, 30)
    await bob.auth.whoami()  # active now, in memory only (written once a minute)
    service(daemon).forget(bob_id)
    seen = (await alice.friends.get("bob")).presence
    assert seen.active_ago_s == 30  # what was stored, not what was held in memory
    async with alice.events() as events:
        await ping(events)
        advance(daemon, 60)
        await assert_none_within(events, about("bob"))
    assert service(daemon)._timer is None


async def test_an_end_is_announced_when_the_service_is_woken(
    daemon: RunningDaemon, alice: CoopeClient, bob: CoopeClient
) -> None:
    await bob.presence.set("busy", for_s=60)
    async with alice.events() as events:
        await ping(events)
        advance(daemon, 60)
        told = (await next_presence(events, "bob")).data
    assert told.status == "available"
