"""`/api/v1/ws`: one authenticated websocket per client carrying typed JSON events.

Authentication is either the usual `Authorization` header on the upgrade request, or (for browsers,
which cannot set headers on a websocket) a first message `{"type": "auth", "token": "..."}`.
The server then sends `ready`, forwards the events published for the user, and closes the
socket (code 4401) the moment the credential is revoked or the account disabled.

What a client may send (anything else, or a field of the wrong type, gets an `error` event
`{code, message, client_id}`, and the connection goes on; so does a failure of the daemon's own,
with the code `internal`):
- `{"type": "ping", "id": ...}` -> `pong` (the id: a string of up to 64 characters or an integer)
- `{"type": "presence", "state": "online" | "away"}`: this connection is active or idle
- `{"type": "typing", "room_id": N}`: shown to the room's other members, never stored
- `{"type": "message.send", "room_id": N, "body": "...", "client_id": "...", "reply_to": M}`
  -> `message.sent` with the stored message (the same as the REST endpoint, without a round trip
  per message)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from typing import Any

from aiohttp import WSMsgType, web

from coope.core.errors import BadRequest, CoopeError, InternalError, Unauthenticated
from coope.core.events import (
    AuthRevoked,
    CallKicked,
    ErrorData,
    ErrorEvent,
    Event,
    MessageSent,
    MessageSentData,
    PongData,
    PongEvent,
    ReadyData,
    ReadyEvent,
    RoomLeft,
)
from coope.core.models import PresenceState, Principal
from coope.core.schemas import UserOut
from coope.core.social_schemas import CLIENT_ID_MAX, MessageOut
from coope.daemon.bus import Subscription, connection_topic, user_topic
from coope.daemon.http.keys import CALLS, CONFIG, SERVICES, WEBSOCKETS
from coope.daemon.http.routes import bearer_token
from coope.daemon.services import Services
from coope.daemon.ws.calls import handle_call_message
from coope.daemon.ws.connection import Connection, int_field, optional_int_field, str_field
from coope.daemon.ws.reasons import close_code, close_reason

log = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_BAD_MESSAGE = 4400
# Room for the largest offer (64 KiB of SDP) and then some: a message that is merely malformed
# gets an `error` reply, and only one beyond this closes the socket (1009, as RFC 6455 says).
MAX_MESSAGE_BYTES = 256 * 1024


async def _send(ws: web.WebSocketResponse, event: Event) -> None:
    """Write an event straight to this socket, not through the bus."""
    await ws.send_str(event.json_text)


def _error(code: str, message: str, client_id: str | None = None) -> ErrorEvent:
    return ErrorEvent(data=ErrorData(code=code, message=message, client_id=client_id))


async def events_socket(request: web.Request) -> web.WebSocketResponse:
    services, config = request.app[SERVICES], request.app[CONFIG]
    # A bad header fails the upgrade with a plain 401, which every client understands.
    bearer = bearer_token(request)
    principal = await services.auth.authenticate(bearer) if bearer else None

    ws = web.WebSocketResponse(heartbeat=config.ws_heartbeat_s, max_msg_size=MAX_MESSAGE_BYTES)
    await ws.prepare(request)
    request.app[WEBSOCKETS].add(ws)
    try:
        if principal is None:
            bearer, principal = await _first_message_auth(request, ws)
            if principal is None:
                return ws
        connection_id = uuid.uuid4().hex
        try:
            subscription = await services.bus.subscribe(
                [user_topic(principal.user.id), connection_topic(connection_id)]
            )
        except CoopeError as exc:  # the bus cannot be reached: a new connection may do
            await _send(ws, _error(exc.code, exc.message))
            await ws.close(code=close_code(exc), message=close_reason(exc.message))
            return ws
        # A revocation (a logout, a reset, the account disabled or deleted) announced between
        # the check above and this subscription reached nobody here: the credential is checked
        # again now that the next one cannot be missed.
        principal = await _authenticate(ws, services, bearer)
        if principal is None:
            await subscription.aclose()
            return ws
        connection = Connection(ws, services, request.app[CALLS], principal, connection_id)
        await _serve(connection, subscription)
    finally:
        request.app[WEBSOCKETS].discard(ws)
    return ws


async def _authenticate(
    ws: web.WebSocketResponse, services: Services, bearer: str | None
) -> Principal | None:
    """The principal of `bearer`, or None once the socket is closed saying why not."""
    try:
        return await services.auth.authenticate(bearer)
    except CoopeError as exc:
        await _refuse(ws, exc.message)
        return None


async def _refuse(ws: web.WebSocketResponse, message: str) -> None:
    await _send(ws, _error("unauthenticated", message))
    await ws.close(code=CLOSE_UNAUTHENTICATED, message=close_reason(message))


async def _first_message_auth(
    request: web.Request, ws: web.WebSocketResponse
) -> tuple[str, Principal | None]:
    """(the token the first message holds, its principal or None once the socket is closed)."""
    timeout = request.app[CONFIG].ws_auth_timeout_s
    try:
        msg = await asyncio.wait_for(ws.receive(), timeout)
    except TimeoutError:
        await ws.close(code=CLOSE_UNAUTHENTICATED, message=b"authenticate within the time limit")
        return "", None
    try:
        if msg.type is not WSMsgType.TEXT:
            raise Unauthenticated('the first message must be {"type": "auth", "token": ...}')
        payload = json.loads(msg.data)
        if not isinstance(payload, dict) or payload.get("type") != "auth":
            raise Unauthenticated('the first message must be {"type": "auth", "token": ...}')
    except (ValueError, RecursionError, CoopeError) as exc:
        await _refuse(
            ws, exc.message if isinstance(exc, CoopeError) else "the first message is not JSON"
        )
        return "", None
    token = str(payload.get("token") or "")
    return token, await _authenticate(ws, request.app[SERVICES], token)


async def _serve(conn: Connection, sub: Subscription) -> None:
    ws, services, principal = conn.ws, conn.services, conn.principal
    await _send(
        ws, ReadyEvent(data=ReadyData(user=UserOut.of(principal.user), auth=principal.kind))
    )
    pump = asyncio.create_task(_pump(conn, sub), name="ws-event-pump")
    try:
        try:
            await services.presence.connected(principal, conn.id)
        except CoopeError as exc:  # who is online cannot be kept: a new connection may do
            await _send(ws, _error(exc.code, exc.message))
            await ws.close(code=close_code(exc), message=close_reason(exc.message))
            return
        async for msg in ws:
            if msg.type is WSMsgType.TEXT:
                await _on_client_message(conn, msg.data)
            elif msg.type is WSMsgType.BINARY:
                await _send(ws, _error("bad_request", "send JSON text"))
    except ConnectionResetError:
        pass  # the client went away while a reply was being written: nothing is left to tell
    finally:
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pump
        await sub.aclose()
        await conn.calls.disconnected(principal, conn.id)
        await services.presence.disconnected(principal, conn.id)


async def _pump(conn: Connection, sub: Subscription) -> None:
    ws, principal = conn.ws, conn.principal
    try:
        async for event in sub:
            if ws.closed:
                return
            await ws.send_str(event.json_text)
            if isinstance(event, CallKicked):
                conn.calls.kicked(conn.id, event.data.room_id)
            elif isinstance(event, RoomLeft):
                # Removed from a room (or left it on another device): whatever this connection
                # does in the room's call ends now, not at its next action.
                await _left_room(conn, event.data.room_id)
            elif isinstance(event, AuthRevoked) and event.data.credential_id in (
                None,
                principal.credential_id,
            ):
                reason = event.data.reason or "credential revoked"
                await ws.close(code=CLOSE_UNAUTHENTICATED, message=close_reason(reason))
                return
        if not ws.closed:  # the bus ended our stream (we fell too far behind): reconnect, resume
            await ws.close(code=1013, message=b"too far behind: reconnect")
    except ConnectionResetError:
        return  # the socket closed under a write; the handler's own loop ends it


async def _left_room(conn: Connection, room_id: int) -> None:
    try:
        await conn.calls.member_removed(conn.principal, conn.id, room_id)
    except Exception:
        # The event stream must go on; the call checks membership again at every action.
        log.exception("ending call participation failed", extra={"room": room_id})


async def _on_client_message(conn: Connection, data: str) -> None:
    """Handle one client message. Whatever it holds, the connection lives on: a bad message
    gets an `error` reply, and so does a failure of ours (logged), never a dropped socket."""
    ws = conn.ws
    try:
        payload = json.loads(data)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser goes
        payload = None
    if not isinstance(payload, dict):
        await _send(ws, _error("bad_request", "send a JSON object"))
        return
    kind = payload.get("type")
    client_id = payload.get("client_id")
    if not isinstance(client_id, str) or len(client_id) > CLIENT_ID_MAX:
        client_id = None  # echoed back only as the string it may be
    try:
        await _dispatch(conn, kind, payload)
    except CoopeError as exc:
        await _send(ws, _error(exc.code, exc.message, client_id))
    except ValueError:
        message = f"bad {str(kind)[:64]} message"
        await _send(ws, _error("bad_request", message, client_id))
    except ConnectionResetError:
        raise
    except Exception:
        log.exception(
            "event socket message failed",
            extra={"user": conn.principal.user.username, "kind": str(kind)[:64]},
        )
        message = "the daemon failed on this message; it is logged"
        await _send(ws, _error(InternalError.code, message, client_id))


async def _dispatch(conn: Connection, kind: Any, payload: dict[str, Any]) -> None:
    ws, services, principal = conn.ws, conn.services, conn.principal
    if kind == "ping":
        await _send(ws, PongEvent(data=PongData(id=_ping_id(payload))))
    elif kind == "presence":
        state = PresenceState(str_field(payload, "state"))
        if state is PresenceState.OFFLINE:
            raise BadRequest("'state' must be online or away")
        await services.presence.connection_state(principal, conn.id, state)
    elif kind == "typing":
        await services.chat.typing(principal, int_field(payload, "room_id"))
    elif kind == "message.send":
        message = await services.chat.send(
            principal,
            int_field(payload, "room_id"),
            str_field(payload, "body"),
            _optional_str(payload, "client_id"),
            optional_int_field(payload, "reply_to"),
        )
        sent = MessageSentData(client_id=message.client_id, message=MessageOut.of(message))
        await _send(ws, MessageSent(data=sent))
    elif isinstance(kind, str) and kind.startswith("call."):
        await handle_call_message(conn, kind, payload)
    else:
        raise BadRequest(f"unknown message type: {str(kind)[:64]!r}")


def _ping_id(payload: dict[str, Any]) -> str | int | None:
    """The id a ping is answered with: a short string or an integer, echoed as it came."""
    value = payload.get("id")
    if value is None or (isinstance(value, str) and len(value) <= CLIENT_ID_MAX):
        return value
    return int_field(payload, "id")


def _optional_str(payload: dict[str, Any], key: str) -> str | None:
    value = payload.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= CLIENT_ID_MAX:
        raise BadRequest(f"{key!r} must be a string of 1 to {CLIENT_ID_MAX} characters")
    return value
