"""Follow a room live, surviving disconnects without missing or repeating anything.

Every change in a room takes the room's next sequence number, so a follower that remembers the
last number it saw can always ask the daemon for exactly what came after (`chat.changes`). It does
so after each (re)connect and whenever a live event skips a number.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Literal

from coope.core.errors import DaemonUnreachable, NotFound, Unavailable
from coope.core.social_schemas import MessageOut

if TYPE_CHECKING:
    from coope.client.client import CoopeClient

ChangeKind = Literal["created", "updated", "deleted"]
_MESSAGE_EVENTS = {
    "message.created": "created",
    "message.updated": "updated",
    "message.deleted": "deleted",
}


def change_kind(message: MessageOut) -> ChangeKind:
    if message.deleted:
        return "deleted"
    return "created" if message.rev == message.seq else "updated"


async def follow_room(
    client: CoopeClient,
    room_id: int,
    after: int,
    *,
    retry_delays: tuple[float, ...] = (0.2, 0.5, 1, 2, 5),
) -> AsyncIterator[tuple[ChangeKind, MessageOut]]:
    """Yield (kind, message) for every change in the room after sequence number `after`, in
    order, until cancelled. Reconnects with back-off when the daemon goes away."""
    last = after
    failures = 0
    while True:
        try:
            async with client.events() as events:
                failures = 0
                async for message in _catch_up(client, room_id, last):
                    last = message.rev
                    yield change_kind(message), message
                async for event in events:
                    if event.type == "room.left" and event.data.get("room_id") == room_id:
                        raise NotFound(f"you are no longer in room {room_id}")
                    kind = _MESSAGE_EVENTS.get(event.type)
                    if kind is None or event.data.get("room_id") != room_id:
                        continue
                    message = MessageOut.model_validate(event.data)
                    if message.rev <= last:
                        continue  # already seen through a catch-up
                    if message.rev > last + 1:  # something was missed: fetch it in order
                        async for missed in _catch_up(client, room_id, last):
                            last = missed.rev
                            yield change_kind(missed), missed
                        continue
                    last = message.rev
                    yield kind, message  # type: ignore[misc]
        except (DaemonUnreachable, Unavailable, ConnectionError):
            pass
        delay = retry_delays[min(failures, len(retry_delays) - 1)]
        failures += 1
        await asyncio.sleep(delay)


async def _catch_up(client: CoopeClient, room_id: int, after: int) -> AsyncIterator[MessageOut]:
    while True:
        page = await client.chat.changes(room_id, after=after)
        for message in page.messages:
            after = message.rev
            yield message
        if not page.has_more:
            return
