"""Every operation in the daemon's OpenAPI document is reachable through the typed client.

A REST operation is covered when the client package's source sends that method to that path
template through its transport (`self._t.call("GET", f"/api/v1/rooms/{room_id}", RoomOut)`),
read from the source's syntax tree. The websocket endpoints and the call page are not requests
the transport sends: for them the client must build their address. What no client method
reaches is listed below with the reason. And the other way round: every request the client
sends is one the daemon documents, so a renamed route cannot leave a dead method behind.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import aiohttp

import coope.client
from tests.helpers import RunningDaemon

Operation = tuple[str, str]  # (METHOD, path template with every parameter written `{}`)

CLIENT_SOURCES = sorted(Path(coope.client.__file__).parent.glob("*.py"))

# Reached by an address the client builds rather than a request through its transport.
ADDRESSED: dict[Operation, str] = {
    ("GET", "/api/v1/ws"): "the live event websocket (`client.events()`, the live connection)",
    ("GET", "/api/v1/sync/{}"): "a page's CRDT sync websocket (`client.replica(page_id)`)",
    ("GET", "/call/{}"): "the call page, for a browser: `client.calls.link(room_id)`",
}

# Deliberately not in the client.
NOT_IN_THE_CLIENT: dict[Operation, str] = {
    ("POST", "/api/v1/webhooks/clerk"): "called by the identity provider, signed with its secret",
    ("GET", "/api/v1/openapi.json"): "the API's description, which this test reads",
    ("GET", "/api/v1/events.schema.json"): "the events' JSON Schema, for clients in other"
    " languages: this one reads events with the models in `coope.core.events`",
    ("GET", "/web/call.js"): "the call page's script, which the browser loads with the page",
    ("GET", "/web/call.css"): "the call page's styles, which the browser loads with the page",
    ("GET", "/invite/{}"): "an invite link's page, for a browser: `coope ws join CODE` joins",
    ("GET", "/web/invite.js"): "the invite page's script, which the browser loads with the page",
    ("GET", "/web/invite.css"): "the invite page's styles, which the browser loads with the page",
}

_PARAMETER = re.compile(r"\{[^{}]*\}")


async def _documented(daemon: RunningDaemon) -> set[Operation]:
    async with aiohttp.ClientSession() as http, http.get(daemon.url + "/api/v1/openapi.json") as r:
        assert r.status == 200
        doc: dict[str, Any] = await r.json()
    return {
        (method.upper(), _PARAMETER.sub("{}", path))
        for path, methods in doc["paths"].items()
        for method in methods
    }


def _template(node: ast.expr) -> str | None:
    """The text of a string or f-string, each interpolation written `{}`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            part.value if isinstance(part, ast.Constant) else "{}" for part in node.values
        )
    return None


def _methods(node: ast.expr) -> set[str]:
    """The HTTP methods a call's first argument can be: a constant, or `"A" if x else "B"`."""
    if isinstance(node, ast.IfExp):
        return _methods(node.body) | _methods(node.orelse)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    return set()


def _trees() -> list[ast.Module]:
    return [ast.parse(source.read_text(), str(source)) for source in CLIENT_SOURCES]


def sent_by_the_client() -> set[Operation]:
    """Every (method, path) the client's source sends through its transport's `call`/`send`,
    the path written in the call or in a variable of the same function."""
    sent = set()
    for tree in _trees():
        for function in ast.walk(tree):
            if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                sent |= _sent_in(function)
    return sent


def _sent_in(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[Operation]:
    named = {
        node.targets[0].id: text
        for node in ast.walk(function)
        if isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
        and (text := _template(node.value)) is not None
    }
    sent = set()
    for node in ast.walk(function):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("call", "send")
            and len(node.args) >= 2
        ):
            continue
        where = node.args[1]
        path = named.get(where.id) if isinstance(where, ast.Name) else _template(where)
        if path is not None and path.startswith("/"):
            sent |= {(method, path) for method in _methods(node.args[0])}
    return sent


def strings_in_the_client() -> set[str]:
    """Every string and f-string in the client's source (docstrings aside, they are not code)."""
    found = set()
    for tree in _trees():
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant | ast.JoinedStr) and id(node) not in docstrings:
                text = _template(node)
                if text is not None:
                    found.add(text)
    return found


async def test_every_rest_operation_has_a_typed_client_method(daemon: RunningDaemon) -> None:
    documented = await _documented(daemon)
    missing = documented - sent_by_the_client() - ADDRESSED.keys() - NOT_IN_THE_CLIENT.keys()
    assert not missing, f"operations no client method sends: {sorted(missing)}"


async def test_the_client_builds_the_address_of_each_websocket_and_page(
    daemon: RunningDaemon,
) -> None:
    strings = strings_in_the_client()
    unbuilt = [op for op in ADDRESSED if not any(s.endswith(op[1]) for s in strings)]
    assert not unbuilt, f"addresses the client never builds: {unbuilt}"


async def test_the_client_sends_only_documented_operations(daemon: RunningDaemon) -> None:
    undocumented = sent_by_the_client() - await _documented(daemon)
    assert not undocumented, f"requests the daemon does not document: {sorted(undocumented)}"


async def test_every_listed_exception_is_still_served(daemon: RunningDaemon) -> None:
    documented = await _documented(daemon)
    stale = (ADDRESSED.keys() | NOT_IN_THE_CLIENT.keys()) - documented
    assert not stale, f"listed here but no longer served: {sorted(stale)}"


def test_the_source_reader_sees_what_it_should() -> None:
    """The reader itself: the forms the client writes requests in are all recognized."""
    function = ast.parse(
        "async def f(self, room_id, remove, emoji):\n"
        "    await self._t.call('GET', f'/api/v1/rooms/{room_id}', RoomOut)\n"
        "    path = f'/api/v1/m/{room_id}/r/{_seg(emoji)}'\n"
        "    await self._t.call('DELETE' if remove else 'PUT', path)\n"
        "    raw, _ = await self._t.send('GET', '/api/v1/health')\n"
        "    await events.send({'type': 'call.leave'})\n"
    ).body[0]
    assert isinstance(function, ast.AsyncFunctionDef)
    assert _sent_in(function) == {
        ("GET", "/api/v1/rooms/{}"),
        ("DELETE", "/api/v1/m/{}/r/{}"),
        ("PUT", "/api/v1/m/{}/r/{}"),
        ("GET", "/api/v1/health"),
    }
