"""Declared endpoints: each handler states its body, query, path and response models once, and
that declaration drives request parsing, response serialisation and the OpenAPI document."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import hdrs, web
from pydantic import BaseModel, ValidationError

from coope.core import rules
from coope.core.errors import (
    BadRequest,
    CoopeError,
    InvalidInput,
    PayloadTooLarge,
    Unauthenticated,
    UnsupportedMediaType,
)
from coope.core.models import Principal
from coope.core.schemas import INT64_MAX, INT64_MIN, Id
from coope.daemon.http.keys import PRINCIPAL, SERVICES


@dataclass(frozen=True)
class WithStatus:
    """A handler's answer with another success status than its declared one (one of those it
    declares in `also`)."""

    body: BaseModel
    status: int


Handler = Callable[..., Awaitable[BaseModel | WithStatus | web.StreamResponse | None]]


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
    # Error statuses this operation answers beyond those its declaration implies (401 with auth,
    # 404 with path parameters, 400/413/415/422 with a body...): 403, 409, 429...
    errors: tuple[int, ...] = ()
    # Other success statuses it answers with the same body, and what each means.
    also: tuple[tuple[int, str], ...] = ()


class UserPath(BaseModel):
    username: str


class WorkspacePath(BaseModel):
    workspace_id: Id


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
        errors: tuple[int, ...] = (),
        also: tuple[tuple[int, str], ...] = (),
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
                    errors,
                    also,
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


# Tokens (JWTs, API tokens) are printable ASCII; anything else (bytes that are not UTF-8 arrive
# as surrogates) is refused here, before a token check tries to encode it.
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]*")


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get(hdrs.AUTHORIZATION)
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or not _PRINTABLE_ASCII.fullmatch(header):
        raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
    return token.strip()


async def authenticate(request: web.Request) -> Principal:
    return await request.app[SERVICES].auth.authenticate(bearer_token(request))


def _validate(model: type[BaseModel], data: Any, where: str) -> BaseModel:
    """`data` as `model`, or `InvalidInput` naming each field that is wrong.

    Beyond the model's own rules, every value must be one the daemon can store and show: integers
    within signed 64 bits (SQLite's), strings free of control characters other than tabs and
    line breaks (NUL breaks full-text queries, ESC steers the terminal that shows the text).
    """
    try:
        validated = model.model_validate(data)
    except ValidationError as exc:
        problems = [
            (".".join(str(p) for p in e["loc"]), e["msg"].removeprefix("Value error, "))
            for e in exc.errors(include_url=False, include_input=False)
        ]
        raise _invalid(where, problems) from exc
    problems = list(_unstorable(validated, ()))
    if problems:
        raise _invalid(where, problems)
    return validated


def _invalid(where: str, problems: list[tuple[str, str]]) -> InvalidInput:
    errors = [{"field": field or where, "problem": problem} for field, problem in problems]
    summary = "; ".join(f"{e['field']}: {e['problem']}" for e in errors)
    return InvalidInput(f"invalid {where}: {summary}", details={"errors": errors})


def _unstorable(value: Any, loc: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    """(field, problem) for each value inside `value` that no endpoint may take."""
    field = ".".join(loc)
    if isinstance(value, BaseModel):
        for name, info in type(value).model_fields.items():
            yield from _unstorable(getattr(value, name), (*loc, info.alias or name))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _unstorable(key, loc)
            yield from _unstorable(item, (*loc, str(key)))
    elif isinstance(value, list | tuple | set | frozenset):
        for index, item in enumerate(value):
            yield from _unstorable(item, (*loc, str(index)))
    elif isinstance(value, bool):
        return
    elif isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
        yield field, f"must be between {INT64_MIN} and {INT64_MAX}"
    elif isinstance(value, str) and (bad := rules.control_character(value)) is not None:
        yield field, f"must not contain control characters (found {bad})"


MAX_JSON_DEPTH = 64


def parse_json(raw: bytes) -> Any:
    """The JSON value of a request body, or `BadRequest` saying why there is none.

    Strict JSON (no NaN or Infinity), nested at most `MAX_JSON_DEPTH` levels: deeper nesting
    serves no request and would exhaust the parser's recursion.
    """
    try:
        value = json.loads(raw, parse_constant=_refuse_constant)
    except RecursionError as exc:
        raise BadRequest(_too_deep()) from exc
    except ValueError as exc:
        raise BadRequest(f"request body is not valid JSON: {exc}") from exc
    if _nested_deeper_than(value, MAX_JSON_DEPTH):
        raise BadRequest(_too_deep())
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _too_deep() -> str:
    return f"request body nests arrays and objects deeper than {MAX_JSON_DEPTH} levels"


def _nested_deeper_than(value: Any, limit: int) -> bool:
    # An explicit stack, not recursion: the check must not fail the way it guards against.
    stack = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


def _require_json_content_type(request: web.Request) -> None:
    # A body is read as JSON only when it says it is: a script that sends a form (`curl -d`
    # does) or text by mistake is told what to send instead of having its bytes guessed at.
    sent = request.headers.get(hdrs.CONTENT_TYPE)
    media = request.content_type.lower() if sent else ""
    if media != "application/json" and not re.fullmatch(r"application/[\w.+-]+\+json", media):
        got = f"got {sent!r}" if sent else "no Content-Type was sent"
        raise UnsupportedMediaType(
            f"send the body as JSON with 'Content-Type: application/json' ({got})"
        )


async def _json_body(request: web.Request) -> Any:
    _require_json_content_type(request)
    raw = await request.read()
    if not raw.strip():
        raise BadRequest("this endpoint needs a JSON body")
    return parse_json(raw)


def _single_query(request: web.Request) -> dict[str, str]:
    """The query as one value per name: a name given twice is refused, not silently narrowed
    to its first value (which one a proxy or a client library keeps differs)."""
    for name in request.query:
        if len(request.query.getall(name)) > 1:
            raise InvalidInput(f"the query parameter {name!r} is given more than once")
    return dict(request.query)


def to_aiohttp(endpoint: Endpoint) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        kwargs: dict[str, Any] = {}
        if endpoint.auth:
            kwargs["principal"] = request[PRINCIPAL] = await authenticate(request)
        if endpoint.params is not None:
            kwargs["params"] = _validate(endpoint.params, dict(request.match_info), "path")
        if endpoint.query is not None:
            kwargs["query"] = _validate(endpoint.query, _single_query(request), "query")
        if endpoint.body is not None:
            kwargs["body"] = _validate(endpoint.body, await _json_body(request), "body")
        result = await endpoint.handler(request, **kwargs)
        if isinstance(result, web.StreamResponse):
            return result
        if result is None:
            return web.Response(status=204)
        if isinstance(result, WithStatus):
            if result.status not in dict(endpoint.also):
                raise RuntimeError(f"{endpoint.path} does not declare status {result.status}")
            return web.json_response(result.body.model_dump(mode="json"), status=result.status)
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

    The rest of a refused body is left to `drain_unread_body`, which the error middleware calls.
    """
    chunks, size = [], 0
    while chunk := await request.content.read(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body can be at most {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


# How much of a refused body is read and dropped before the answer is sent, and for how long
# what still comes is dropped after an answer sent before the body's end.
DRAIN_BOUND = 32 * 1024 * 1024
LINGER_S = 5.0


async def drain_unread_body(request: web.Request, bound: int = DRAIN_BOUND) -> bool:
    """Read and drop what is left of the request body, up to `bound` bytes; True if all was.

    A client that is still sending when it is refused (an upload too large, a wrong credential)
    often reads the answer only once it has sent everything; and closing a connection with
    unread bytes makes the kernel reset it, losing the answer. So the rest is read first.
    """
    drained = 0
    try:
        while drained <= bound and (chunk := await request.content.read(256 * 1024)):
            drained += len(chunk)
    except (OSError, aiohttp.ClientError):  # the client went away: nobody to answer
        return False
    return request.content.is_eof()
