"""Bad input on every endpoint gets a clear JSON 4xx, never a 500, and leaves no partial data.

The endpoints come from the daemon's own OpenAPI document, so a new endpoint is swept too.
"""

from __future__ import annotations

import re
from typing import Any

import aiohttp
import pytest

from coope.client import CoopeClient
from tests.helpers import RunningDaemon


async def _openapi(daemon: RunningDaemon) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.get(daemon.url + "/api/v1/openapi.json") as r:
        assert r.status == 200
        return dict(await r.json())


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), re.sub(r"{\w+}", "1", path), op)
        for path, methods in doc["paths"].items()
        for method, op in methods.items()
    ]


async def _send(
    daemon: RunningDaemon,
    method: str,
    path: str,
    *,
    token: str | None = None,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if token:
        all_headers["Authorization"] = f"Bearer {token}"
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, daemon.url + path, data=data, headers=all_headers) as response,
    ):
        body = await response.json(content_type=None)
        return response.status, body


def _assert_error(status: int, body: dict[str, Any], expected_status: int, code: str) -> None:
    assert (status, body["error"]["code"]) == (expected_status, code), body
    assert body["error"]["message"]


async def test_every_authenticated_endpoint_needs_a_credential(daemon: RunningDaemon) -> None:
    doc = await _openapi(daemon)
    secured = [(m, p) for m, p, op in _operations(doc) if op.get("security")]
    assert len(secured) >= 9
    for method, path in secured:
        for token in (None, "garbage", "coope_garbage"):
            status, body = await _send(daemon, method, path, token=token, data=b"{}")
            _assert_error(status, body, 401, "unauthenticated")
        status, body = await _send(
            daemon, method, path, data=b"{}", headers={"Authorization": "Basic dTpw"}
        )
        _assert_error(status, body, 401, "unauthenticated")


async def test_every_body_endpoint_rejects_malformed_and_invalid_json(
    daemon: RunningDaemon, admin: CoopeClient
) -> None:
    doc = await _openapi(daemon)
    # JSON bodies only: raw uploads (covers, Yjs updates) and the signed webhook have own tests.
    with_body = [
        (m, p)
        for m, p, op in _operations(doc)
        if "application/json" in op.get("requestBody", {}).get("content", {})
        and "webhooks" not in p
    ]
    assert len(with_body) >= 5
    for method, path in with_body:
        for raw, status_code, code in [
            (b"{not json", 400, "bad_request"),
            (b"", 400, "bad_request"),
            (b"[1, 2]", 422, "invalid_input"),
            (b'{"unexpected": true}', 422, "invalid_input"),
            (b'{"username": 5, "password": [], "name": {}, "role": "god"}', 422, "invalid_input"),
        ]:
            status, body = await _send(daemon, method, path, token=admin.token, data=raw)
            _assert_error(status, body, status_code, code)
    # None of that created anything.
    assert [u.username for u in (await admin.admin.users()).users] == ["root"]
    assert await admin.tokens.list() == []


async def test_oversized_bodies_are_refused_with_413(start_daemon) -> None:
    daemon = await start_daemon(max_body_bytes=10_000)
    big = b'{"username": "' + b"a" * 20_000 + b'", "password": "x"}'
    status, body = await _send(daemon, "POST", "/api/v1/auth/signup", data=big)
    _assert_error(status, body, 413, "payload_too_large")


async def test_unknown_route_and_wrong_method(daemon: RunningDaemon) -> None:
    status, body = await _send(daemon, "GET", "/api/v1/nope")
    _assert_error(status, body, 404, "not_found")
    status, body = await _send(daemon, "PUT", "/api/v1/health")
    _assert_error(status, body, 405, "method_not_allowed")


@pytest.mark.parametrize(
    ("path", "error_field"),
    [
        ("/api/v1/admin/users?limit=0", "limit"),
        ("/api/v1/admin/users?limit=abc", "limit"),
        ("/api/v1/admin/users?offset=-1", "offset"),
        ("/api/v1/admin/users?sneaky=1", "sneaky"),
    ],
)
async def test_bad_query_parameters_are_named(
    daemon: RunningDaemon, admin: CoopeClient, path: str, error_field: str
) -> None:
    status, body = await _send(daemon, "GET", path, token=admin.token)
    _assert_error(status, body, 422, "invalid_input")
    assert error_field in body["error"]["message"]


async def test_bad_path_parameter_is_invalid_input(
    daemon: RunningDaemon, admin: CoopeClient
) -> None:
    status, body = await _send(daemon, "DELETE", "/api/v1/tokens/abc", token=admin.token)
    _assert_error(status, body, 422, "invalid_input")
    assert "token_id" in body["error"]["message"]


async def test_a_failed_signup_leaves_nothing_behind(
    daemon: RunningDaemon, admin: CoopeClient
) -> None:
    for body in (
        b'{"username": "ok_name", "password": "short"}',
        b'{"username": "Bad Name", "password": "long enough"}',
    ):
        status, _ = await _send(daemon, "POST", "/api/v1/auth/signup", data=body)
        assert status == 422
    assert (await admin.admin.users()).total == 1
