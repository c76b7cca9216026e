"""Helpers for the friends, presence and chat tests: befriending, rooms with members, and
waiting for (no) events."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence

from coope.client import CoopeClient, EventStream
from coope.core.events import Event, PongEvent, PresenceEvent
from coope.core.social_schemas import RoomOut

# How long "nothing arrives" is watched for. Events fan out in-process over loopback, so anything
# that was going to arrive does so within a few milliseconds.
QUIET_S = 0.3


async def username(client: CoopeClient) -> str:
    return (await client.auth.whoami()).user.username


async def befriend(a: CoopeClient, b: CoopeClient) -> None:
    """Make `a` and `b` friends through the public flow (request, then accept)."""
    a_name, b_name = await username(a), await username(b)
    assert (await a.friends.request(b_name)).outcome == "requested"
    assert (await b.friends.accept(a_name)).username == a_name


async def group_room(owner: CoopeClient, name: str, members: Sequence[CoopeClient]) -> RoomOut:
    """A group room `owner` administers with `members` in it. Only friends are added directly, so
    each member becomes the owner's friend first (if not one already)."""
    friends = {f.user.username for f in await owner.friends.list()}
    names = [await username(m) for m in members]
    for member, member_name in zip(members, names, strict=True):
        if member_name not in friends:
            await befriend(owner, member)
    room = await owner.chat.create_room(name, names)
    assert room.invited == [], room.invited
    return room


async def next_matching(
    events: EventStream, predicate: Callable[[Event], bool], timeout: float = 5.0
) -> Event:
    """The next event for which `predicate` holds, skipping the others."""

    async def find() -> Event:
        async for event in events:
            if predicate(event):
                return event
        raise AssertionError("the event stream ended before the expected event")

    return await asyncio.wait_for(find(), timeout)


def presence_of(name: str) -> Callable[[Event], bool]:
    return lambda e: isinstance(e, PresenceEvent) and e.data.username == name


async def next_presence(events: EventStream, name: str, timeout: float = 5.0) -> Event:
    return await next_matching(events, presence_of(name), timeout)


async def events_within(events: EventStream, seconds: float = QUIET_S) -> list[Event]:
    """Every event that arrives within `seconds` (the stream stays usable afterwards)."""
    seen: list[Event] = []

    async def collect() -> None:
        async for event in events:
            seen.append(event)

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(collect(), seconds)
    return seen


async def assert_none_within(
    events: EventStream, predicate: Callable[[Event], bool], seconds: float = QUIET_S
) -> None:
    """No event matching `predicate` arrives within a short bounded wait."""
    unexpected = [e for e in await events_within(events, seconds) if predicate(e)]
    assert unexpected == [], f"unexpected events: {unexpected}"


def of_type(*types: str) -> Callable[[Event], bool]:
    return lambda e: e.type in types


async def ping(events: EventStream) -> None:
    """A round trip on this socket: the daemon has finished setting the connection up (presence
    registration happens before it reads the first client message)."""
    await events.send({"type": "ping", "id": "sync"})
    await next_matching(events, lambda e: isinstance(e, PongEvent) and e.data.id == "sync")
