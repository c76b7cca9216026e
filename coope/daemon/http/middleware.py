"""The one place where errors become HTTP responses, where every response gets the headers that
all of them carry, and where every request made with a valid credential counts as its user's
activity (what friends read as "active 2 min ago")."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from coope.core.errors import (
    BadRequest,
    CoopeError,
    Forbidden,
    InternalError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    Unauthenticated,
)
from coope.daemon.http.keys import PRINCIPAL, SERVICES
from coope.daemon.http.routes import LINGER_S, drain_unread_body, error_response

log = logging.getLogger(__name__)

_BY_STATUS: dict[int, type[CoopeError]] = {
    400: BadRequest,
    401: Unauthenticated,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    413: PayloadTooLarge,
}


def _from_http_exception(request: web.Request, exc: web.HTTPException) -> CoopeError:
    if exc.status == 404:
        return NotFound(f"no such endpoint: {request.method} {request.path}")
    if exc.status == 405:
        return MethodNotAllowed(f"{request.method} is not allowed on {request.path}")
    if exc.status == 413:
        limit = request.app._client_max_size
        return PayloadTooLarge(f"request body is larger than {limit} bytes")
    cls = _BY_STATUS.get(exc.status, BadRequest if exc.status < 500 else InternalError)
    return cls(exc.reason or f"HTTP {exc.status}")


# Every response: browsers must take the declared content type as it is, never guess one from
# the bytes (a text answer that echoes input, an uploaded cover).
COMMON_HEADERS = {"X-Content-Type-Options": "nosniff"}


@web.middleware
async def errors_as_json(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        response = await handler(request)
    except CoopeError as exc:
        response = await _refusal(request, exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = await _refusal(request, _from_http_exception(request, exc))
    except Exception:
        log.exception("unhandled error", extra={"method": request.method, "path": request.path})
        response = await _refusal(
            request, InternalError("internal error: the daemon's log has the details")
        )
    else:
        if not response.prepared:  # a websocket handshake has been sent already
            response.headers.update(COMMON_HEADERS)
    await _count_activity(request, response.status)
    return response


async def _count_activity(request: web.Request, status: int) -> None:
    """A request whose credential was found valid is its user's activity; one refused before
    that is not. An event socket counts as a live connection instead (the presence service
    sees it)."""
    principal = request.get(PRINCIPAL)
    if principal is None or status == 101:
        return
    try:
        await request.app[SERVICES].presence.activity.touch(principal.user.id)
    except Exception:  # the answer stands: counting activity is never worth failing a request
        log.exception("recording activity failed", extra={"path": request.path})


async def _refusal(request: web.Request, error: CoopeError) -> web.StreamResponse:
    """The error's answer, sent so that a client still sending its body does read it."""
    response = error_response(error)
    response.headers.update(COMMON_HEADERS)
    if await drain_unread_body(request):
        return response
    # Beyond the bound: answer now, drop what still comes for a moment (the client stops
    # sending once it has read the answer), then hang up.
    response.force_close()
    await response.prepare(request)
    await response.write_eof()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(LINGER_S):
            await drain_unread_body(request)
    request.protocol.force_close()
    return response
