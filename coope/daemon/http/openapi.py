"""The OpenAPI document, built from the declared endpoints and the pydantic models they use.

Every operation lists each status it can answer, all with the `ErrorOut` body: those its
declaration implies (a credential: 401; path parameters: 404 and 422; a query: 422; a JSON body:
400, 413, 415, 422; a raw body: 413), those it declares itself (`errors=`: 403, 409, 429...), and
500 and 503 (the database or the event bus cannot be reached). There is no `default` response,
so a client (or a fuzzer) knows exactly which statuses to expect. The websockets are described
as the GET they upgrade (101), with their protocol and close codes, and the document describes
itself. The events the events socket sends are the `WebsocketEvent` schema in the components,
and `/api/v1/events.schema.json` serves them as one standalone JSON Schema, for code generators
that read JSON Schema rather than OpenAPI.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field, TypeAdapter
from pydantic.json_schema import JsonSchemaMode

from coope import __version__
from coope.core.events import ANY_EVENT
from coope.core.schemas import ErrorOut, Id
from coope.daemon.http.routes import Endpoint, RouteTable

OPENAPI_PATH = "/api/v1/openapi.json"
EVENTS_SCHEMA_PATH = "/api/v1/events.schema.json"
EVENT_SCHEMA = "WebsocketEvent"  # the components schema of the union of every event

_REF = "#/components/schemas/{model}"

ERROR_STATUSES: dict[int, str] = {
    400: "Malformed request: the body is not JSON, or not what this endpoint reads",
    401: "No credential, or one that is invalid, expired or revoked",
    403: "Authenticated, but not allowed to do this",
    404: "No such thing, or none that the caller may see",
    409: "Conflicts with the current state",
    410: "It existed, but expired, was used up or was revoked",
    413: "The body is too large",
    415: "The body's content type is not the one this endpoint reads",
    422: "Well-formed, but breaks a rule; the message names the field",
    429: "Too many attempts: retry after the Retry-After header's seconds",
    500: "Internal error: a bug, and the daemon's log has the details",
    503: "The database or the event bus (Redis) cannot be reached: retry in a moment",
}
# What any operation may answer, whatever its declaration: a bug, or a server it stands on gone.
ANY_OPERATION = (500, 503)


@dataclass(frozen=True)
class Socket:
    """A websocket endpoint as the document shows it: the GET that is upgraded (101 Switching
    Protocols), the protocol spoken after that, and the close codes it ends with."""

    path: str
    name: str
    summary: str
    protocol: str
    close_codes: Mapping[int, str]
    params: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    # Statuses answered instead of the upgrade (400: not a websocket handshake).
    errors: tuple[int, ...] = (400,)
    tag: str = "websockets"
    # The components schema of the JSON messages it sends, if it sends JSON.
    sends: str | None = None


class SyncPath(BaseModel):
    page_id: Id


class SyncQuery(BaseModel):
    token: str | None = Field(
        default=None, description="The credential, for clients that cannot set headers"
    )


EVENTS_SOCKET = Socket(
    "/api/v1/ws",
    "events",
    summary="The events websocket: the caller's live events, chat sends and call signalling.",
    protocol=(
        "One websocket per client, JSON text frames both ways. Authenticate with the usual"
        " `Authorization: Bearer` header on the upgrade request, or (browsers) with a first"
        ' message `{"type": "auth", "token": "..."}`. The daemon answers `ready`, then sends'
        " every event published for the user: `{type, data, seq, ts}`, a discriminated union on"
        f" `type` (the `{EVENT_SCHEMA}` schema, and {EVENTS_SCHEMA_PATH} as standalone JSON"
        " Schema). Events of an ordered stream carry `seq`, so a client resumes with"
        " `/rooms/{room_id}/changes`. A newer daemon may send types and fields not listed:"
        " readers skip what they do not know.\n\n"
        "A client may send `ping` (answered `pong`), `presence` (`online` | `away`), `typing`"
        " (`room_id`), `message.send` (`room_id`, `body`, `client_id`, `reply_to`; answered"
        " `message.sent`) and the `call.*` signalling messages. A bad message is answered with"
        " an `error` event (`code`, `message`, and the `client_id` it carried); the connection"
        " lives on."
    ),
    close_codes={
        1001: "The daemon is shutting down",
        1009: "A message larger than 64 KiB",
        1013: "The client fell too far behind: reconnect and resume from the last seq",
        4401: "Not authenticated in time, a bad credential, or the credential was revoked"
        " or the account disabled while connected",
    },
    errors=(400, 401),
    sends=EVENT_SCHEMA,
)

SYNC_SOCKET = Socket(
    "/api/v1/sync/{page_id}",
    "sync",
    summary="A page's Yjs sync websocket, as y-websocket speaks it.",
    protocol=(
        "The y-websocket protocol, binary frames: sync step 1 and 2 and updates"
        " (message type 0) and awareness (type 1). Authenticate with the `Authorization:"
        " Bearer` header or, for browsers, the `token` query parameter. Editors' updates are"
        " checked and merged; viewers receive everything and may send awareness only. Access"
        " follows the user while connected (a changed role, a removal, a revoked credential).\n\n"
        "Every refusal comes after the upgrade, as a close code with a reason: 4000 + the HTTP"
        " status the same refusal gets over REST. Standard clients stop reconnecting on"
        " 4400-4499 and retry on the others."
    ),
    close_codes={
        1001: "The daemon is shutting down",
        1011: "Access could not be checked: reconnect",
        1013: "The socket fell behind, or an update builds on changes the page has not"
        " received: reconnect (the sync handshake sends them first)",
        4400: "A malformed message, or a text frame",
        4401: "No valid credential, or it was revoked or expired (or the account disabled)",
        4403: "An update from a viewer or on a page in the trash, or the caller lost access",
        4404: "No such page, or none that the caller may see",
        4409: "Updates that build on changes the page never received were sent again after"
        " reconnecting: they cannot be completed (reload the page)",
        4422: "An update that would break the page's block structure",
    },
    params=SyncPath,
    query=SyncQuery,
)

SOCKETS: tuple[Socket, ...] = (EVENTS_SOCKET, SYNC_SOCKET)


def _parameters(model: type[BaseModel], where: Literal["query", "path"]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=_REF)
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": where, "required": where == "path" or name in required, "schema": prop}
        for name, prop in schema.get("properties", {}).items()
    ]


def error_statuses(e: Endpoint) -> list[int]:
    """Every error status the endpoint can answer: implied by its declaration, or declared."""
    statuses = {*ANY_OPERATION, *e.errors}
    if e.auth:
        statuses.add(401)
    if "{" in e.path:
        statuses |= {404, 422}  # 422: an id that is no integer, a name with control characters
    if e.query is not None:
        statuses.add(422)
    if e.body is not None:
        statuses |= {400, 413, 415, 422}
    elif e.raw_body:
        statuses.add(413)
    unknown = statuses - ERROR_STATUSES.keys()
    if unknown:
        raise ValueError(f"{e.method} {e.path} declares unknown error statuses {sorted(unknown)}")
    return sorted(statuses)


def operation_id(e: Endpoint) -> str:
    """The tag and the handler's name: stable, and unique while handlers of one area are."""
    return f"{e.tag}_{e.handler.__name__}"


def build_openapi(
    tables: list[RouteTable], sockets: tuple[Socket, ...] = SOCKETS
) -> dict[str, Any]:
    """The document for the declared endpoints, the websockets and itself.

    Raises `ValueError` on a duplicate operationId or an error status nobody describes, so a
    daemon with an invalid document does not start.
    """
    endpoints = [e for t in tables for e in t.endpoints]
    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = [(ErrorOut, "serialization")]
    for e in endpoints:
        if e.body is not None:
            wanted.append((e.body, "validation"))
        if e.response is not None:
            wanted.append((e.response, "serialization"))
    inputs: list[tuple[object, JsonSchemaMode, TypeAdapter[Any]]] = [
        (model, mode, TypeAdapter(model)) for model, mode in dict.fromkeys(wanted)
    ]
    # Generated with the REST models, so that a model both use (MessageOut...) is one schema.
    inputs.append((EVENT_SCHEMA, "serialization", ANY_EVENT))
    refs, defs = TypeAdapter.json_schemas(inputs, ref_template=_REF)
    schemas = {**defs.get("$defs", {}), EVENT_SCHEMA: refs[(EVENT_SCHEMA, "serialization")]}
    error_ref = refs[(ErrorOut, "serialization")]

    paths: dict[str, dict[str, Any]] = {}
    seen: dict[str, str] = {}

    def add(path: str, method: str, op: dict[str, Any]) -> None:
        where = f"{method.upper()} {path}"
        if op["operationId"] in seen:
            raise ValueError(
                f"operationId {op['operationId']!r} of {where} is also {seen[op['operationId']]}"
            )
        seen[op["operationId"]] = where
        paths.setdefault(path, {})[method] = op

    for e in endpoints:
        add(e.path, e.method.lower(), _operation(e, refs, error_ref))
    for socket in sockets:
        add(socket.path, "get", _socket_operation(socket, error_ref))
    add(OPENAPI_PATH, "get", _self_operation(error_ref))
    add(EVENTS_SCHEMA_PATH, "get", _events_schema_operation(error_ref))
    return {
        "openapi": "3.1.0",
        "info": {"title": "coope daemon", "version": __version__},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A session JWT from /auth/login or an API token (coope_...)",
                }
            },
        },
    }


def _errors(statuses: list[int], error_ref: dict[str, Any]) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status in statuses:
        response: dict[str, Any] = {
            "description": ERROR_STATUSES[status],
            "content": {"application/json": {"schema": error_ref}},
        }
        if status == 429:
            response["headers"] = {
                "Retry-After": {
                    "description": "Seconds to wait before trying again",
                    "schema": {"type": "integer", "minimum": 1},
                }
            }
        responses[str(status)] = response
    return responses


def _operation(e: Endpoint, refs: dict[Any, Any], error_ref: dict[str, Any]) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": operation_id(e),
        "summary": e.summary,
        "tags": [e.tag],
        "parameters": [],
    }
    if e.params is not None:
        op["parameters"] += _parameters(e.params, "path")
    elif "{" in e.path:
        op["parameters"] += [
            {"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
            for n in re.findall(r"{(\w+)}", e.path)
        ]
    if e.query is not None:
        op["parameters"] += _parameters(e.query, "query")
    if e.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[(e.body, "validation")]}},
        }
    elif e.raw_body:
        op["requestBody"] = {"required": True, "content": {e.raw_body: {"schema": {}}}}
    if e.auth:
        op["security"] = [{"bearer": []}]
    ok: dict[str, Any] = {"description": "OK"}
    if e.response is not None:
        ok["content"] = {"application/json": {"schema": refs[(e.response, "serialization")]}}
    elif e.raw_response:
        ok["content"] = {e.raw_response: {"schema": {"type": "string", "format": "binary"}}}
    others = {str(status): {**ok, "description": why} for status, why in e.also}
    # A status the endpoint answers in its own content type (a page that says "no such invite")
    # is described as that, not as the JSON error the status would otherwise imply.
    op["responses"] = {str(e.status): ok, **_errors(error_statuses(e), error_ref), **others}
    return op


def _socket_operation(socket: Socket, error_ref: dict[str, Any]) -> dict[str, Any]:
    codes = "\n".join(f"- `{code}`: {why}" for code, why in sorted(socket.close_codes.items()))
    parameters: list[dict[str, Any]] = []
    if socket.params is not None:
        parameters += _parameters(socket.params, "path")
    if socket.query is not None:
        parameters += _parameters(socket.query, "query")
    # No `security` entry: the credential may come after the upgrade, which OpenAPI cannot say;
    # the description tells how to authenticate.
    op: dict[str, Any] = {
        "operationId": f"{socket.tag}_{socket.name}",
        "summary": socket.summary,
        "description": f"{socket.protocol}\n\nClose codes:\n{codes}",
        "tags": [socket.tag],
        "parameters": parameters,
        "responses": {
            "101": {"description": "Switching Protocols: the websocket is open"},
            **_errors(sorted({*ANY_OPERATION, *socket.errors}), error_ref),
        },
        "x-websocket": {"close-codes": {str(c): why for c, why in socket.close_codes.items()}},
    }
    if socket.sends is not None:
        op["x-websocket"]["sends"] = {"$ref": _REF.format(model=socket.sends)}
    return op


def _self_operation(error_ref: dict[str, Any]) -> dict[str, Any]:
    return _document_operation(
        "system_openapi",
        "This document: every operation, its models and the statuses it answers.",
        error_ref,
    )


def _events_schema_operation(error_ref: dict[str, Any]) -> dict[str, Any]:
    return _document_operation(
        "system_events_schema",
        f"The events of {EVENTS_SOCKET.path} as one JSON Schema (the {EVENT_SCHEMA} schema here).",
        error_ref,
    )


def _document_operation(operation: str, summary: str, error_ref: dict[str, Any]) -> dict[str, Any]:
    return {
        "operationId": operation,
        "summary": summary,
        "tags": ["system"],
        "parameters": [],
        "responses": {
            "200": {
                "description": "OK",
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
            **_errors([500], error_ref),
        },
    }
