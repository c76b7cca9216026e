"""Health and the API's own description."""

from __future__ import annotations

from aiohttp import web

from coope import __version__
from coope.core.schemas import HealthOut
from coope.daemon.http.keys import SERVICES, STARTED_AT
from coope.daemon.http.routes import RouteTable

routes = RouteTable("system")


@routes.get("/api/v1/health", summary="Is the daemon up?", response=HealthOut, auth=False)
async def health(request: web.Request) -> HealthOut:
    uptime = request.app[SERVICES].clock.now() - request.app[STARTED_AT]
    return HealthOut(status="ok", version=__version__, uptime_s=round(uptime, 3))
