"""Declared endpoints: each handler states its body, query, path and response models once, and
that declaration drives request parsing, response serialisation and the OpenAPI document."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from coope.core.errors import (
    BadRequest,
    CoopeError,
    InvalidInput,
    PayloadTooLarge,
    Unauthenticated,
)
from coope.core.models import Principal
from coope.daemon.http.keys import SERVICES

Handler = Callable[..., Awaitable[BaseModel | web.StreamResponse | None]]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    params: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    auth: bool
    raw_body: str | None  # content type of a body the handler reads itself
    raw_response: str | None  # content type of a response the handler builds itself


class UserPath(BaseModel):
    username: str


class WorkspacePath(BaseModel):
    workspace_id: int


class RouteTable:
    """Endpoints of one area, declared with `@routes.get(...)` / `@routes.post(...)`."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.endpoints: list[Endpoint] = []

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        params: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        status: int = 200,
        auth: bool = True,
        raw_body: str | None = None,
        raw_response: str | None = None,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.endpoints.append(
                Endpoint(
                    method,
                    path,
                    handler,
                    summary,
                    self.tag,
                    body,
                    query,
                    params,
                    response,
                    status if response is not None or raw_response else 204,
                    auth,
                    raw_body,
                    raw_response,
                )
            )
            return handler

        return register

    def get(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("PUT", path, **kw)

    def patch(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("DELETE", path, **kw)


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
    return token.strip()


async def authenticate(request: web.Request) -> Principal:
    return await request.app[SERVICES].auth.authenticate(bearer_token(request))


def _validate(model: type[BaseModel], data: Any, where: str) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"]) or where, "problem": e["msg"]}
            for e in exc.errors(include_url=False, include_input=False)
        ]
        summary = "; ".join(f"{p['field']}: {p['problem']}" for p in problems)
        raise InvalidInput(f"invalid {where}: {summary}", details={"errors": problems}) from exc


async def _json_body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw.strip():
        raise BadRequest("this endpoint needs a JSON body")
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise BadRequest(f"request body is not valid JSON: {exc}") from exc


def to_aiohttp(endpoint: Endpoint) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        kwargs: dict[str, Any] = {}
        if endpoint.auth:
            kwargs["principal"] = await authenticate(request)
        if endpoint.params is not None:
            kwargs["params"] = _validate(endpoint.params, dict(request.match_info), "path")
        if endpoint.query is not None:
            kwargs["query"] = _validate(endpoint.query, dict(request.query), "query")
        if endpoint.body is not None:
            kwargs["body"] = _validate(endpoint.body, await _json_body(request), "body")
        result = await endpoint.handler(request, **kwargs)
        if isinstance(result, web.StreamResponse):
            return result
        if result is None:
            return web.Response(status=204)
        return web.json_response(result.model_dump(mode="json"), status=endpoint.status)

    handle.__name__ = endpoint.handler.__name__
    return handle


def add_routes(app: web.Application, tables: list[RouteTable]) -> None:
    for table in tables:
        for endpoint in table.endpoints:
            app.router.add_route(endpoint.method, endpoint.path, to_aiohttp(endpoint))


def error_response(error: CoopeError) -> web.Response:
    headers = {}
    retry_after = error.details.get("retry_after")
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return web.json_response(error.to_body(), status=error.status or 500, headers=headers)


async def read_limited(request: web.Request, limit: int) -> bytes:
    """The raw body, refusing more than `limit` bytes (for uploads above the app-wide limit).

    A refused body is still read (and dropped) up to a bound, so that the client, which is
    usually still sending, gets the 413 answer instead of a reset connection.
    """
    chunks, size = [], 0
    while chunk := await request.content.read(64 * 1024):
        size += len(chunk)
        if size > limit:
            await _discard(request, size, 4 * limit)
            raise PayloadTooLarge(f"the body can be at most {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _discard(request: web.Request, already: int, bound: int) -> None:
    while already <= bound and (chunk := await request.content.read(256 * 1024)):
        already += len(chunk)
    if already > bound:
        request.protocol.force_close()  # beyond the bound: answer, then hang up
