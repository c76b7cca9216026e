"""Follow a room live, surviving disconnects without missing or repeating anything.

Every change in a room takes the room's next sequence number, so a follower that remembers the
last number it saw can always ask the daemon for exactly what came after (`chat.changes`). It does
so after each (re)connect of the live connection and whenever a live event skips a number; a
change already seen (fetched and then also received live) is passed over.

The live connection (`coope.client.live`) feeds each follower an inbox of the room's changes
with a `Resync` marker wherever the follower must fetch: after every (re)connect, and in place
of whatever a follower too slow to keep up would otherwise have piled up.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Literal, Protocol

from coope.core.errors import CoopeError
from coope.core.social_schemas import MessageOut, MessagePageOut

ChangeKind = Literal["created", "updated", "deleted"]
Change = tuple[ChangeKind, MessageOut]


class Resync:
    """In a room's inbox: fetch every change after the last one seen before reading on."""


RESYNC = Resync()


class RoomInbox(Protocol):
    """What a follower reads: the room's live changes, `Resync` markers, and the end."""

    async def get(self) -> Change | Resync | None:
        """The next item; None once the subscription ended cleanly, or raises why it ended."""
        ...

    @property
    def connected(self) -> bool:
        """Whether the live connection is up: a fetch that failed is worth retrying now."""
        ...

    async def pause(self, attempt: int) -> None:
        """Wait before retrying a failed fetch (the live connection's backoff)."""
        ...


FetchChanges = Callable[[int, int], Awaitable[MessagePageOut]]


def change_kind(message: MessageOut) -> ChangeKind:
    if message.deleted:
        return "deleted"
    return "created" if message.rev == message.seq else "updated"


async def follow(
    inbox: RoomInbox, fetch: FetchChanges, room_id: int, after: int
) -> AsyncGenerator[Change, None]:
    """Yield (kind, message) for every change in the room after sequence number `after`, in
    order and each once, until the inbox ends."""
    last = after
    while (item := await inbox.get()) is not None:
        if isinstance(item, Resync) or item[1].rev > last + 1:
            # A gap: the fetch brings the live change too, which is then skipped as seen.
            async for change in _catch_up(inbox, fetch, room_id, last):
                last = change[1].rev
                yield change
            continue
        if item[1].rev > last:
            last = item[1].rev
            yield item


async def _catch_up(
    inbox: RoomInbox, fetch: FetchChanges, room_id: int, after: int
) -> AsyncIterator[Change]:
    """Every change after `after`, page by page. A failure the daemon coming back heals is
    retried while the connection is up; once it is down, the next connect brings a `Resync`."""
    attempt = 0
    while True:
        try:
            page = await fetch(room_id, after)
        except CoopeError as exc:
            if not exc.retryable:
                raise
            if not inbox.connected:
                return
            await inbox.pause(attempt)
            attempt += 1
            continue
        for message in page.messages:
            after = message.rev
            yield change_kind(message), message
        if not page.has_more:
            return
