"""Pages open on several daemons of one service: what one daemon accepts reaches the others.

Every daemon with a page open listens to the page's topic on the bus. A daemon that accepts an
update stores it first (the log numbers it, one sequence per page), then announces it there,
update included; the others apply it and forward it to their own peers. It is stored once, by
the daemon that accepted it.

The bus may lose what it carries (pub/sub keeps nothing for a daemon that is away), so an
announcement only saves a read: the log is the record. An update too big to carry is announced
by its number alone, and `DocumentHub` reads from the log whatever it lacks (see its
`_catch_up`). Cursors (awareness) are forwarded, never stored; a peer joining through one daemon
asks the others for theirs.

These events are the daemons' own: they never reach a client's socket.
"""

from __future__ import annotations

import base64
import binascii
import logging
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from coope.core.errors import Unavailable
from coope.core.events import Event, GenericEvent
from coope.daemon.bus import EventBus, Subscription

log = logging.getLogger(__name__)

# An update bigger than this (a large Markdown import) goes by number: the log has it.
MAX_CARRIED = 64 * 1024


class Said(StrEnum):
    UPDATE = "internal.page_update"  # seq, and the update unless too big
    AWARENESS = "internal.page_awareness"  # an awareness update of the sender's peers
    ASK_AWARENESS = "internal.page_awareness_asked"  # a peer joined: send yours
    FORGOTTEN = "internal.page_forgotten"  # deleted for good: close your peers


@dataclass(frozen=True)
class Heard:
    """What another daemon said about a page."""

    said: Said
    seq: int = 0
    payload: bytes | None = None  # the update or awareness update, when carried


def page_topic(page_id: int) -> str:
    return f"page:{page_id}"


class DocRelay:
    """Says and hears, for one daemon, what happens to the pages it has open."""

    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        self.node = uuid.uuid4().hex  # what this daemon's words carry, so it skips its own

    async def listen(self, page_id: int) -> Subscription:
        """What the other daemons say about the page from now on; raises `Unavailable`."""
        return await self._bus.subscribe([page_topic(page_id)])

    def heard(self, event: Event) -> Heard | None:
        """What another daemon said, or None (this daemon's own words, or not words of ours)."""
        data: Any = event.data
        if not isinstance(data, dict) or data.get("node") == self.node:
            return None
        try:
            said = Said(event.type)
            seq, payload = data.get("seq", 0), data.get("payload")
            if not isinstance(seq, int):
                raise ValueError("seq is not a number")
            body = base64.b64decode(payload, validate=True) if isinstance(payload, str) else None
        except (ValueError, binascii.Error) as exc:
            log.warning("not a page event of ours (%s): dropped", exc)
            return None
        return Heard(said, seq, body)

    async def updated(self, page_id: int, seq: int, update: bytes | None) -> bool:
        """Announce update `seq` (None, or too big: its number alone). False if the bus could
        not take it: say it again later."""
        carried = update if update is not None and len(update) <= MAX_CARRIED else None
        return await self._say(page_id, Said.UPDATE, seq, carried)

    async def awareness(self, page_id: int, payload: bytes) -> None:
        await self._say(page_id, Said.AWARENESS, 0, payload)

    async def ask_awareness(self, page_id: int) -> None:
        await self._say(page_id, Said.ASK_AWARENESS, 0, None)

    async def forgotten(self, page_id: int) -> None:
        await self._say(page_id, Said.FORGOTTEN, 0, None)

    async def _say(self, page_id: int, said: Said, seq: int, payload: bytes | None) -> bool:
        data: dict[str, Any] = {"page": page_id, "node": self.node, "seq": seq}
        if payload is not None:
            data["payload"] = base64.b64encode(payload).decode("ascii")
        try:
            await self._bus.publish([page_topic(page_id)], GenericEvent(type=said.value, data=data))
        except Unavailable:
            return False  # the bus said so in its log; what was lost is read from the log
        return True
