"""Health and the API's own description."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from aiohttp import web

from coope import __version__
from coope.core.errors import Unavailable
from coope.core.schemas import HealthOut
from coope.daemon.http.keys import CALLS, SERVICES, STARTED_AT, STORAGE
from coope.daemon.http.routes import RouteTable

routes = RouteTable("system")


# How long a check may take before its server counts as gone (a load balancer asks often).
CHECK_TIMEOUT_S = 5.0


@routes.get(
    "/api/v1/health",
    summary="Is the daemon up, with its database and event bus?",
    response=HealthOut,
    auth=False,
    errors=(503,),
)
async def health(request: web.Request) -> HealthOut:
    """503 while the database or the event bus (Redis) cannot be reached: a load balancer
    sends nobody to this daemon meanwhile, and it recovers by itself when they return."""
    services = request.app[SERVICES]
    storage = request.app[STORAGE]
    calls = request.app[CALLS]
    await _within(storage.check(), "the database")
    await _within(services.bus.check(), "the event bus (Redis)")
    uptime = services.clock.now() - request.app[STARTED_AT]
    return HealthOut(
        status="ok",
        version=__version__,
        uptime_s=round(uptime, 3),
        database=storage.engine,
        events=services.bus.kind,
        node=calls.node if calls.shared else None,
        draining=calls.draining,
    )


async def _within(check: Awaitable[None], what: str) -> None:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            await check
    except TimeoutError:
        raise Unavailable(f"{what} did not answer within {CHECK_TIMEOUT_S:g} s") from None
