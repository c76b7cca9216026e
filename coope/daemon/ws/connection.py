"""One client's event socket as the message handlers see it, and small helpers they share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from coope.core.errors import BadRequest
from coope.core.events import Event
from coope.core.models import Principal
from coope.core.schemas import INT64_MAX, INT64_MIN
from coope.daemon.bus import connection_topic
from coope.daemon.services import Services
from coope.daemon.sfu.routing import CallRouter


@dataclass(frozen=True)
class Connection:
    ws: web.WebSocketResponse
    services: Services
    calls: CallRouter
    principal: Principal
    id: str

    async def send(self, event: Event) -> None:
        """Send an event to this client only, through the bus like every other event it gets.

        A reply written straight to the socket would overtake the events already on their way:
        `call.left` would arrive before the `call.participant_left` the leaving caused.
        """
        await self.services.bus.publish([connection_topic(self.id)], event)


# Ids and sequence numbers are stored as SQLite integers: anything wider would fail there.


def int_field(payload: dict[str, Any], key: str) -> int:
    value = payload.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not INT64_MIN <= value <= INT64_MAX:
        raise BadRequest(f"{key!r} must be a 64-bit integer")
    return value


def optional_int_field(payload: dict[str, Any], key: str) -> int | None:
    return None if payload.get(key) is None else int_field(payload, key)


def bool_field(payload: dict[str, Any], key: str) -> bool:
    """A flag: absent (or null) is False; anything but true or false is refused, not guessed."""
    value = payload.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise BadRequest(f"{key!r} must be true or false")
    return value


def str_field(payload: dict[str, Any], key: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str):
        raise BadRequest(f"{key!r} must be a string")
    return value
