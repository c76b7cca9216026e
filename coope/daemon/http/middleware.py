"""The one place where errors become HTTP responses."""

from __future__ import annotations

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
from coope.daemon.http.routes import error_response

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


@web.middleware
async def errors_as_json(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except CoopeError as exc:
        return error_response(exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error_response(_from_http_exception(request, exc))
    except Exception:
        log.exception("unhandled error", extra={"method": request.method, "path": request.path})
        return error_response(InternalError("internal error: the daemon's log has the details"))
