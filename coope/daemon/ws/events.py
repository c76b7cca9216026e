"""`/api/v1/ws`: one authenticated websocket per client carrying typed JSON events.

Authentication is either the usual `Authorization` header on the upgrade request, or (for browsers,
which cannot set headers on a websocket) a first message `{"type": "auth", "token": "..."}`.
The server then sends `ready`, forwards the events published for the user, answers
`{"type": "ping"}` with `pong`, and closes the socket (code 4401) the moment the credential is
revoked or the account disabled.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from aiohttp import WSMsgType, web

from coope.core.errors import CoopeError, Unauthenticated
from coope.core.models import Principal
from coope.core.schemas import Event, UserOut
from coope.daemon.bus import Subscription, user_topic
from coope.daemon.http.keys import CONFIG, SERVICES, WEBSOCKETS
from coope.daemon.http.routes import bearer_token

log = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_BAD_MESSAGE = 4400
MAX_MESSAGE_BYTES = 64 * 1024


def _event(type_: str, **data: Any) -> str:
    return Event(type=type_, data=data).model_dump_json()


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
            principal = await _first_message_auth(request, ws)
            if principal is None:
                return ws
        await _serve(ws, principal, services.bus.subscribe([user_topic(principal.user.id)]))
    finally:
        request.app[WEBSOCKETS].discard(ws)
    return ws


async def _first_message_auth(request: web.Request, ws: web.WebSocketResponse) -> Principal | None:
    timeout = request.app[CONFIG].ws_auth_timeout_s
    try:
        msg = await asyncio.wait_for(ws.receive(), timeout)
    except TimeoutError:
        await ws.close(code=CLOSE_UNAUTHENTICATED, message=b"authenticate within the time limit")
        return None
    try:
        if msg.type is not WSMsgType.TEXT:
            raise Unauthenticated('the first message must be {"type": "auth", "token": ...}')
        payload = json.loads(msg.data)
        if not isinstance(payload, dict) or payload.get("type") != "auth":
            raise Unauthenticated('the first message must be {"type": "auth", "token": ...}')
        return await request.app[SERVICES].auth.authenticate(str(payload.get("token") or ""))
    except (ValueError, CoopeError) as exc:
        message = exc.message if isinstance(exc, CoopeError) else "the first message is not JSON"
        await ws.send_str(_event("error", code="unauthenticated", message=message))
        await ws.close(code=CLOSE_UNAUTHENTICATED, message=message.encode()[:120])
        return None


async def _serve(ws: web.WebSocketResponse, principal: Principal, sub: Subscription) -> None:
    await ws.send_str(
        _event(
            "ready",
            user=UserOut.of(principal.user).model_dump(mode="json"),
            auth=principal.kind.value,
        )
    )
    pump = asyncio.create_task(_pump(ws, principal, sub), name="ws-event-pump")
    try:
        async for msg in ws:
            if msg.type is WSMsgType.TEXT:
                await _on_client_message(ws, msg.data)
            elif msg.type is WSMsgType.BINARY:
                await ws.send_str(_event("error", code="bad_request", message="send JSON text"))
    finally:
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pump
        await sub.aclose()


async def _pump(ws: web.WebSocketResponse, principal: Principal, sub: Subscription) -> None:
    async for event in sub:
        if ws.closed:
            return
        await ws.send_str(event.model_dump_json())
        if event.type == "auth.revoked" and event.data.get("credential_id") in (
            None,
            principal.credential_id,
        ):
            reason = str(event.data.get("reason") or "credential revoked")
            await ws.close(code=CLOSE_UNAUTHENTICATED, message=reason.encode()[:120])
            return
    if not ws.closed:  # the bus ended our stream (we fell too far behind): reconnect and resume
        await ws.close(code=1013, message=b"too far behind: reconnect")


async def _on_client_message(ws: web.WebSocketResponse, data: str) -> None:
    try:
        payload = json.loads(data)
    except ValueError:
        payload = None
    kind = payload.get("type") if isinstance(payload, dict) else None
    if kind == "ping":
        await ws.send_str(
            _event("pong", id=payload.get("id") if isinstance(payload, dict) else None)
        )
    else:
        await ws.send_str(
            _event("error", code="bad_request", message=f"unknown message type: {kind!r}")
        )
