"""The event bus contract, for the in-process bus and for `RedisBus` across daemons.

Each test runs on "nodes": for the in-process bus, one bus that every node shares; for Redis,
one `RedisBus` per node, against the real Redis server with a key prefix of the test's own.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import redis.asyncio as redis

from coope.core.errors import Unavailable
from coope.core.events import Event, GenericEvent, PongData, PongEvent
from coope.daemon.bus import EventBus, InProcessBus, Subscription
from coope.daemon.bus_redis import RedisBus
from tests.helpers import PATIENCE_S, assert_eventually
from tests.tools import REDIS_URL, redis_bus, redis_link

KINDS = ["in-process", "redis"]


@asynccontextmanager
async def nodes(kind: str, count: int = 2, max_pending: int = 1000) -> AsyncIterator[list[Any]]:
    if kind == "in-process":
        shared = InProcessBus(max_pending)
        yield [shared] * count
        await shared.aclose()
        return
    prefix = f"coope-test-{uuid.uuid4().hex}:"  # the nodes of one service
    buses = [await redis_bus(prefix=prefix, max_pending=max_pending) for _ in range(count)]
    for bus in buses:
        await bus.start()
    try:
        yield buses
    finally:
        for bus in buses:
            await bus.aclose()


def numbered(n: int) -> Event:
    return GenericEvent(type="test.numbered", data={"n": n})


async def take(sub: Subscription, count: int) -> list[Event]:
    got: list[Event] = []

    async def read() -> None:
        async for event in sub:
            got.append(event)
            if len(got) == count:
                return

    await asyncio.wait_for(read(), PATIENCE_S)
    return got


async def ends(sub: Subscription) -> list[Event]:
    """What the subscription still yields before it ends (it must end)."""
    return [event async for event in _bounded(sub)]


async def _bounded(sub: Subscription) -> AsyncIterator[Event]:
    iterator = aiter(sub)
    while True:
        try:
            yield await asyncio.wait_for(anext(iterator), PATIENCE_S)
        except StopAsyncIteration:
            return


async def listening_again(bus: EventBus, *, publisher: EventBus) -> None:
    """Wait until `bus` subscribes again and hears what `publisher` publishes (after it lost
    Redis: subscribing fails until it has connected anew)."""

    async def hears() -> bool:
        try:
            again = await bus.subscribe(["user:1"])
        except Unavailable:
            return False
        await publisher.publish(["user:1"], numbered(1))
        return [e.data["n"] for e in await take(again, 1)] == [1]

    await assert_eventually(hears, what="the bus connected to Redis again")


@pytest.mark.parametrize("kind", KINDS)
async def test_an_event_reaches_its_topics_subscribers_on_every_node_and_no_other(
    kind: str,
) -> None:
    async with nodes(kind, 3) as (a, b, c):
        on_a, on_b = await a.subscribe(["user:1"]), await b.subscribe(["user:1"])
        elsewhere = await c.subscribe(["user:2"])
        await a.publish(["user:1"], numbered(1))
        await c.publish(["user:1"], numbered(2))
        await c.publish(["user:2"], numbered(3))
        await b.publish(["user:2", "user:1", "user:3"], numbered(4))  # one call, three topics
        for sub in (on_a, on_b):
            assert [e.data["n"] for e in await take(sub, 3)] == [1, 2, 4]
        # Only its own topic's events: had user:1's reached it, they would have come first.
        assert [e.data["n"] for e in await take(elsewhere, 2)] == [3, 4]


@pytest.mark.parametrize("kind", KINDS)
async def test_one_subscription_keeps_publish_order_across_its_topics(kind: str) -> None:
    async with nodes(kind) as (a, b):
        sub = await b.subscribe(["user:1", "connection:x"])
        for n in range(300):
            await a.publish(["user:1" if n % 3 else "connection:x"], numbered(n))
        assert [e.data["n"] for e in await take(sub, 300)] == list(range(300))


@pytest.mark.parametrize("kind", KINDS)
async def test_publishes_at_once_to_several_topics_all_arrive(kind: str) -> None:
    """Many senders at once (a busy daemon), each event to several topics: every one is
    published, none refused for want of a connection."""
    async with nodes(kind) as (a, b):
        sub = await b.subscribe(["user:1"])
        await asyncio.gather(
            *(a.publish([f"user:{n % 7 + 2}", "user:1"], numbered(n)) for n in range(200))
        )
        assert sorted(e.data["n"] for e in await take(sub, 200)) == list(range(200))


@pytest.mark.parametrize("kind", KINDS)
async def test_events_arrive_as_the_classes_they_were_published_as(kind: str) -> None:
    async with nodes(kind) as (a, b):
        sub = await b.subscribe(["user:1"])
        sent = PongEvent(data=PongData(id="p-1"), seq=7)
        await a.publish(["user:1"], sent)
        (got,) = await take(sub, 1)
        assert type(got) is PongEvent and got == sent and got.json_text == sent.json_text


@pytest.mark.parametrize("kind", KINDS)
async def test_what_is_published_once_subscribe_returns_is_never_missed(kind: str) -> None:
    async with nodes(kind) as (a, b):
        for n in range(20):
            sub = await b.subscribe([f"user:{n}"])
            await a.publish([f"user:{n}"], numbered(n))
            assert [e.data["n"] for e in await take(sub, 1)] == [n]
            await sub.aclose()


@pytest.mark.parametrize("kind", KINDS)
async def test_a_closed_subscription_ends_and_its_topic_can_be_listened_to_again(
    kind: str,
) -> None:
    async with nodes(kind) as (a, b):
        first = await b.subscribe(["user:1"])
        await first.aclose()
        assert await ends(first) == []
        # At once, while letting go of the topic may still be under way.
        again = await b.subscribe(["user:1"])
        await a.publish(["user:1"], numbered(1))
        assert [e.data["n"] for e in await take(again, 1)] == [1]


@pytest.mark.parametrize("kind", KINDS)
async def test_a_reader_too_far_behind_is_ended_not_kept(kind: str) -> None:
    async with nodes(kind, max_pending=5) as (a, b):
        slow = await b.subscribe(["user:1"])
        keeping_up = await b.subscribe(["user:1"])
        for n in range(6):
            await a.publish(["user:1"], numbered(n))
            assert [e.data["n"] for e in await take(keeping_up, 1)] == [n]
        held = [e.data["n"] for e in await ends(slow)]
        assert len(held) < 5 and 5 not in held  # some of what it held, then the end


async def test_a_daemon_that_loses_redis_ends_its_subscriptions_and_connects_again() -> None:
    async with nodes("redis") as (a, b):
        sub = await b.subscribe(["user:1"])
        admin = redis.from_url(REDIS_URL)
        try:
            ours = [c for c in await admin.client_list(_type="pubsub") if c["name"] == b.name]
            assert len(ours) == 1
            await admin.client_kill_filter(_id=ours[0]["id"])
        finally:
            await admin.aclose()
        assert await ends(sub) == []  # its reader resumes from what it holds

        await listening_again(b, publisher=a)


async def test_subscribe_returns_only_once_redis_has_the_subscription() -> None:
    """Its SUBSCRIBE reaches Redis late: a subscribe that returned before Redis confirmed would
    let the publish that follows it go by unseen."""
    prefix = f"coope-test-{uuid.uuid4().hex}:"
    async with redis_link() as slow:
        publisher = await redis_bus(prefix=prefix)
        listener = RedisBus(slow.url, prefix=prefix)
        await publisher.start()
        await listener.start()
        try:
            slow.delay_s = 0.2
            sub = await listener.subscribe(["user:1"])
            await publisher.publish(["user:1"], numbered(1))
            assert [e.data["n"] for e in await take(sub, 1)] == [1]
        finally:
            await listener.aclose()
            await publisher.aclose()


async def test_a_publish_redis_does_not_take_is_unavailable_and_readers_resume() -> None:
    async with redis_link() as link:
        await redis_bus()  # or a skip without Redis
        bus = RedisBus(link.url, prefix=f"coope-test-{uuid.uuid4().hex}:", dead_after_s=1)
        await bus.start()
        try:
            sub = await bus.subscribe(["user:1"])
            link.refusing = True
            link.cut()
            with pytest.raises(Unavailable, match="event bus"):
                await bus.publish(["user:1"], numbered(1))
            assert await ends(sub) == []
        finally:
            await bus.aclose()


async def test_a_redis_that_stops_answering_is_taken_for_lost_and_found_again() -> None:
    prefix = f"coope-test-{uuid.uuid4().hex}:"
    async with redis_link() as link:
        publisher = await redis_bus(prefix=prefix)
        bus = RedisBus(link.url, prefix=prefix, dead_after_s=0.6)
        await publisher.start()
        await bus.start()
        try:
            sub = await bus.subscribe(["user:1"])
            link.freeze()  # connections stay open; nothing passes either way
            assert await ends(sub) == []  # the PINGs went unanswered
            link.cut()
            link.thaw()

            await listening_again(bus, publisher=publisher)
        finally:
            await bus.aclose()
            await publisher.aclose()
