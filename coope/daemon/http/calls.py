"""Live calls in the caller's rooms."""

from __future__ import annotations

from aiohttp import web

from coope.core.models import Principal
from coope.core.social_schemas import CallListOut, CallOut
from coope.daemon.http.keys import CALLS, SERVICES
from coope.daemon.http.routes import RouteTable

routes = RouteTable("calls")


@routes.get("/api/v1/calls", summary="Calls going on in your rooms.", response=CallListOut)
async def list_calls(request: web.Request, principal: Principal) -> CallListOut:
    rooms = {r.room.id for r in await request.app[SERVICES].chat.rooms(principal)}
    live = await request.app[CALLS].live_calls(rooms)
    return CallListOut(calls=[CallOut.model_validate(c) for c in live])
