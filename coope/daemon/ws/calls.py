"""Call signalling messages on the event socket (the protocol is in coope.daemon.sfu.calls)."""

from __future__ import annotations

from typing import Any

from coope.core.errors import BadRequest
from coope.core.events import CallLeft, RoomIdData
from coope.daemon.ws.connection import Connection, bool_field, int_field, str_field

MAX_SDP = 64 * 1024


async def handle_call_message(conn: Connection, kind: str, payload: dict[str, Any]) -> None:
    room_id = int_field(payload, "room_id")
    if kind == "call.join":
        # `call.joined` comes from the daemon that runs the call, wherever that is.
        await conn.calls.join(
            conn.principal,
            room_id,
            conn.id,
            conn.send,
            takeover=bool_field(payload, "takeover"),
            recording=bool_field(payload, "recording"),
            receive_video=_receive_video(payload),
        )
    elif kind == "call.offer":
        sdp = str_field(payload, "sdp")
        if len(sdp) > MAX_SDP:
            raise BadRequest("the offer is too large")
        sources = payload.get("sources")
        if sources is None:
            sources = {}
        if not isinstance(sources, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in sources.items()
        ):
            raise BadRequest("'sources' must map mids to microphone, camera or screen")
        await conn.calls.offer(conn.principal, conn.id, room_id, sdp, sources)
    elif kind == "call.leave":
        await conn.calls.leave(conn.principal, conn.id, room_id)
        await conn.send(CallLeft(data=RoomIdData(room_id=room_id)))
    else:
        raise BadRequest(f"unknown message type: {kind[:64]!r}")


def _receive_video(payload: dict[str, Any]) -> bool:
    """Whether the participant takes video slots; absent means yes (the browser page)."""
    return payload.get("receive_video") is None or bool_field(payload, "receive_video")
