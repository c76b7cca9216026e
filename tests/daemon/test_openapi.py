"""The OpenAPI document describes exactly what the daemon serves: every route (the websockets and
the document itself included), real schemas, and every status each operation answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from openapi_spec_validator import validate

from coope.core.schemas import SessionOut, SignupIn
from tests.conftest import DaemonFactory
from tests.daemon.sweep_openapi import Operation, find_operation, operations
from tests.daemon.sweep_world import Api, Reply, png_bytes
from tests.helpers import PASSWORD, RunningDaemon


async def _document(daemon: RunningDaemon) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.get(daemon.url + "/api/v1/openapi.json") as r:
        assert r.status == 200
        return dict(await r.json())


async def test_openapi_lists_every_route_and_its_models(daemon: RunningDaemon) -> None:
    doc = await _document(daemon)
    assert doc["openapi"].startswith("3.")
    documented = {
        (method.upper(), path) for path, methods in doc["paths"].items() for method in methods
    }
    served = {
        (route.method, route.resource.canonical)
        for route in daemon.app.router.routes()
        if route.method != "HEAD" and route.resource is not None
    }
    assert documented == served

    signup = doc["paths"]["/api/v1/auth/signup"]["post"]
    body_ref = signup["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body_schema = doc["components"]["schemas"][body_ref.rsplit("/", 1)[1]]
    assert set(body_schema["properties"]) == set(SignupIn.model_fields)
    ok = signup["responses"]["201"]["content"]["application/json"]["schema"]["$ref"]
    assert set(doc["components"]["schemas"][ok.rsplit("/", 1)[1]]["properties"]) == set(
        SessionOut.model_fields
    )
    assert "security" not in signup
    assert doc["paths"]["/api/v1/auth/whoami"]["get"]["security"] == [{"bearer": []}]
    params = {p["name"]: p for p in doc["paths"]["/api/v1/admin/users"]["get"]["parameters"]}
    assert set(params) == {"search", "limit", "offset"}
    assert params["limit"]["schema"]["maximum"] == 500


async def test_the_document_is_valid_openapi_with_unique_operation_ids(
    daemon: RunningDaemon,
) -> None:
    doc = await _document(daemon)
    validate(doc)  # raises on anything invalid, duplicate operationIds included
    ids = [op.id for op in operations(doc)]
    assert len(ids) == len(set(ids))
    # Ids are the area and the handler: stable, and never only the handler's name.
    assert doc["paths"]["/api/v1/messages/search"]["get"]["operationId"] == "chat_search"
    assert doc["paths"]["/api/v1/search/pages"]["get"]["operationId"] == "pages_search"


ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}
# Errors a browser page answers as a page that says what went wrong, not as JSON.
ANSWERED_AS_PAGES = {("web_invite_page", 404), ("web_invite_page", 410)}


async def test_every_operation_lists_the_error_statuses_its_declaration_implies(
    daemon: RunningDaemon,
) -> None:
    doc = await _document(daemon)
    for op in operations(doc):
        responses = op.spec["responses"]
        assert "default" not in responses, op.label
        errors = {s for s in op.statuses if s >= 400}
        for status in errors:
            if (op.id, status) in ANSWERED_AS_PAGES:
                assert list(responses[str(status)]["content"]) == ["text/html"], op.label
                continue
            content = responses[str(status)]["content"]["application/json"]
            assert content["schema"] == ERROR_REF, (op.label, status)
        # The documents are served from memory: no server behind them to be gone.
        expected = {500} if op.id in ("system_openapi", "system_events_schema") else {500, 503}
        if op.secured:
            expected.add(401)
        if op.path_params and not op.websocket:
            expected |= {404, 422}
        if "application/json" in op.body_types and op.id != "webhooks_clerk":
            expected |= {400, 413, 415, 422}
        if op.query_params() and not op.websocket:
            expected.add(422)
        if op.websocket:
            expected.add(400)  # a GET that is not a websocket handshake
        assert expected <= errors, f"{op.label}: lists {sorted(errors)}, lacks {expected - errors}"
    login = doc["paths"]["/api/v1/auth/login"]["post"]["responses"]
    assert "Retry-After" in login.get("429", {}).get("headers", {}), login.keys()


async def test_the_websockets_are_described_with_their_close_codes(
    daemon: RunningDaemon,
) -> None:
    doc = await _document(daemon)
    events = doc["paths"]["/api/v1/ws"]["get"]
    sync = doc["paths"]["/api/v1/sync/{page_id}"]["get"]
    for op, codes in ((events, {4401}), (sync, {4400, 4401, 4403, 4404, 4422})):
        assert "101" in op["responses"]
        described = {int(c) for c in op["x-websocket"]["close-codes"]}
        assert codes <= described
        for code in described:
            assert f"`{code}`" in op["description"]
    assert {p["name"]: p["in"] for p in sync["parameters"]} == {"page_id": "path", "token": "query"}
    assert "ready" in events["description"] and "message.send" in events["description"]


# --- the statuses the daemon really answers are documented ------------------------------------


class Checker:
    """Calls that must get a given status, each checked against its operation's document."""

    def __init__(self, api: Api, doc: dict[str, Any]) -> None:
        self.api = api
        self.ops: list[Operation] = operations(doc)
        self.problems: list[str] = []

    async def expect(
        self, status: int, method: str, path: str, token: str | None = None, **kw: Any
    ) -> Reply:
        reply = await self.api.call(method, "/api/v1" + path, token, **kw)
        op = find_operation(self.ops, method, "/api/v1" + path)
        if reply.status != status:
            self.problems.append(
                f"{method} {path}: {reply.status} {reply.text[:200]}, not {status}"
            )
        elif status not in op.statuses:
            self.problems.append(f"{op.label} answers {status}, which it does not document")
        return reply


@pytest.fixture
async def checker(start_daemon: DaemonFactory) -> AsyncIterator[Checker]:
    daemon = await start_daemon()
    async with aiohttp.ClientSession() as http:
        api = Api(http, daemon.url)
        yield Checker(api, await api.ok("GET", "/api/v1/openapi.json"))


async def test_the_statuses_the_daemon_answers_are_documented(checker: Checker) -> None:
    """Each refusal the services make (403, 409, 410, 429...), provoked for real."""
    api, expect = checker.api, checker.expect
    root = await api.signup("root")
    alice, bob, carol = [await api.signup(n) for n in ("alice", "bob", "carol")]

    # accounts
    taken = {"username": "bob", "password": PASSWORD}
    await expect(409, "POST", "/auth/signup", json_body=taken)
    bot = (await api.ok("POST", "/api/v1/tokens", alice, json_body={"name": "bot"}))["token"]
    await expect(403, "POST", "/auth/logout", bot)
    for _ in range(5):
        wrong = {"username": "carol", "password": "not the password"}
        await expect(401, "POST", "/auth/login", json_body=wrong)
    await expect(429, "POST", "/auth/login", json_body=wrong)

    # admin
    await expect(403, "GET", "/admin/users", alice)
    await expect(409, "POST", "/admin/users/root/disable", root)
    await expect(409, "POST", "/admin/users/root/role", root, json_body={"role": "user"})
    new = {"username": "bob", "password": PASSWORD}
    await expect(409, "POST", "/admin/users", root, json_body=new)

    # friends
    await expect(404, "POST", "/friends/requests", alice, json_body={"username": "nobody"})
    await api.ok("POST", "/api/v1/blocks", carol, json_body={"username": "alice"})
    await expect(403, "POST", "/friends/requests", alice, json_body={"username": "carol"})
    await expect(404, "POST", "/blocks", alice, json_body={"username": "nobody"})

    # workspaces
    ws = await api.ok("POST", "/api/v1/workspaces", alice, json_body={"name": "Team"})
    w = f"/workspaces/{ws['id']}"
    viewer = {"username": "bob", "role": "viewer"}
    await api.ok("PUT", f"/api/v1{w}/members", alice, json_body=viewer)
    await expect(403, "GET", "/workspaces", bob, params={"all": "true"})
    await expect(403, "POST", f"{w}/name", bob, json_body={"name": "Mine"})
    await expect(403, "PUT", f"{w}/members", bob, json_body=viewer)
    await expect(403, "DELETE", f"{w}/members/alice", bob)
    await expect(409, "DELETE", f"{w}/members/alice", alice)
    await expect(409, "POST", f"{w}/leave", alice)
    await expect(403, "POST", f"{w}/transfer", bob, json_body={"username": "bob"})
    await expect(403, "POST", f"{w}/invites", bob, json_body={})
    await expect(403, "GET", f"{w}/invites", bob)
    invite = await api.ok("POST", f"/api/v1{w}/invites", alice, json_body={})
    await expect(403, "DELETE", f"{w}/invites/{invite['code']}", bob)
    await api.ok("DELETE", f"/api/v1{w}/invites/{invite['code']}", alice)
    await expect(410, "POST", "/invites/join", carol, json_body={"code": invite["code"]})
    await expect(404, "POST", "/invites/join", carol, json_body={"code": "Nevr0used0code00"})
    await expect(403, "DELETE", w, bob)

    # pages
    page = await api.ok("POST", f"/api/v1{w}/pages", alice, json_body={"title": "Plans"})
    p = f"/pages/{page['id']}"
    await expect(403, "POST", f"{w}/pages", bob, json_body={"title": "Mine"})
    await expect(403, "POST", f"{p}/title", bob, json_body={"title": "Mine"})
    await expect(403, "POST", f"{p}/icon", bob, json_body={"icon": "x"})
    await expect(403, "POST", f"{p}/move", bob, json_body={})
    await expect(403, "POST", f"{p}/blocks", bob, json_body={"text": "x"})
    await expect(403, "POST", f"{p}/import", bob, json_body={"markdown": "x"})
    octet = {"content_type": "application/octet-stream"}
    await expect(403, "PUT", f"{p}/cover", bob, data=png_bytes(), **octet)
    await expect(403, "DELETE", f"{p}/cover", bob)
    await expect(403, "POST", f"{p}/updates", bob, data=b"\x00", **octet)
    await expect(400, "POST", f"{p}/updates", alice, data=b"\xff\xff\xff", **octet)
    await expect(422, "PUT", f"{p}/cover", alice, data=b"<html>not an image", **octet)
    await expect(403, "POST", f"{p}/archive", bob)
    await api.ok("POST", f"/api/v1{p}/archive", alice)
    await expect(403, "POST", f"{p}/restore", bob)
    await expect(403, "DELETE", p, bob)
    await expect(404, "GET", "/search/pages", alice, params={"q": "x", "workspace": "999"})

    # chat
    await expect(403, "POST", "/direct/bob/messages", alice, json_body={"body": "hi"})
    await expect(422, "GET", "/direct/alice", alice)
    await api.ok("POST", "/api/v1/friends/requests", alice, json_body={"username": "bob"})
    await api.ok("POST", "/api/v1/friends/requests/alice/accept", bob)
    room = await api.ok("POST", "/api/v1/rooms", alice, json_body={"name": "r", "members": ["bob"]})
    other = await api.ok("POST", "/api/v1/rooms", alice, json_body={"name": "s"})
    r = f"/rooms/{room['id']}"
    await expect(403, "POST", f"{r}/name", bob, json_body={"name": "mine"})
    await expect(403, "POST", f"{r}/members", bob, json_body={"username": "carol"})
    await expect(403, "DELETE", f"{r}/members/alice", bob)
    sent = {"body": "hi", "client_id": "c1"}
    message = await api.ok("POST", f"/api/v1{r}/messages", alice, json_body=sent)
    await expect(409, "POST", f"/rooms/{other['id']}/messages", alice, json_body=sent)
    m = f"/messages/{message['id']}"
    await expect(403, "PATCH", m, bob, json_body={"body": "mine"})
    await expect(403, "DELETE", m, bob)
    await api.ok("DELETE", f"/api/v1{m}", alice)
    await expect(409, "PATCH", m, alice, json_body={"body": "again"})
    await expect(409, "PUT", f"{m}/reactions/x", alice)
    await expect(404, "GET", "/messages/search", alice, params={"q": "x", "room": "999"})
    hello = {"body": "hello"}
    direct = await api.ok("POST", "/api/v1/direct/bob/messages", alice, json_body=hello)
    await api.ok("POST", "/api/v1/blocks", bob, json_body={"username": "alice"})
    await expect(403, "POST", f"/rooms/{direct['room_id']}/messages", alice, json_body=hello)
    await expect(403, "PUT", f"/messages/{direct['id']}/reactions/x", alice)

    # content types: a JSON body sent as something else
    await expect(
        415, "POST", "/workspaces", alice, data=b'{"name": "x"}', content_type="text/plain"
    )

    assert not checker.problems, "\n".join(checker.problems)
