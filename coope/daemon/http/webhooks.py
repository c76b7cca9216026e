"""Webhooks from the external identity provider."""

from __future__ import annotations

from aiohttp import web

from coope.core.errors import NotFound
from coope.core.schemas import UserOut, WebhookOut
from coope.daemon.http.keys import SERVICES
from coope.daemon.http.routes import RouteTable

routes = RouteTable("webhooks")


@routes.post(
    "/api/v1/webhooks/clerk",
    summary="Clerk user sync (svix-signed user.created / user.updated / user.deleted).",
    response=WebhookOut,
    auth=False,
    raw_body="application/json",
    # 400: signature, headers or JSON; 404: not configured; 409: another body under a seen
    # delivery id; 422: a payload of the wrong shape. A delivery applied before is a 200.
    errors=(400, 404, 409, 422),
)
async def clerk(request: web.Request) -> WebhookOut:
    sync = request.app[SERVICES].clerk
    if sync is None:
        raise NotFound("Clerk webhooks are not configured: set COOPE_CLERK_WEBHOOK_SECRET")
    # The signature covers the exact bytes, so they are verified before any parsing.
    user = await sync.deliver(await request.read(), request.headers)
    return WebhookOut(received=True, user=UserOut.of(user) if user else None)
