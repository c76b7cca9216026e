"""Bad input on every endpoint gets a clear JSON 4xx, never a 500, and leaves no partial data.

The endpoints come from the daemon's own OpenAPI document, so a new endpoint is swept too.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from coope.client import CoopeClient
from tests.daemon.test_pages import tiny_png
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


def _json_body_operations(doc: dict[str, Any]) -> list[tuple[str, str]]:
    # JSON bodies only: raw uploads (covers, Yjs updates) and the signed webhook have own tests.
    return [
        (m, p)
        for m, p, op in _operations(doc)
        if "application/json" in op.get("requestBody", {}).get("content", {})
        and "webhooks" not in p
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
    with_body = _json_body_operations(doc)
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


# --- hostile input: each of these was a 500 or a reset connection -----------------------------

INT64_MAX = 2**63 - 1


def _integer_path_params(op: dict[str, Any]) -> list[str]:
    return [
        p["name"]
        for p in op.get("parameters", [])
        if p["in"] == "path" and p.get("schema", {}).get("type") == "integer"
    ]


async def test_integers_wider_than_64_bits_in_any_path_are_refused(
    daemon: RunningDaemon, admin: CoopeClient
) -> None:
    doc = await _openapi(daemon)
    swept = 0
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            names = _integer_path_params(op)
            if not names or not op.get("security"):
                continue
            for value in (INT64_MAX + 1, -(2**63) - 1, 10**30):
                url = path
                for name in names:
                    url = url.replace("{" + name + "}", str(value))
                url = re.sub(r"{\w+}", "x", url)  # any other (string) parameter
                status, body = await _send(daemon, method.upper(), url, token=admin.token)
                _assert_error(status, body, 422, "invalid_input")
                assert names[0] in body["error"]["message"]
            swept += 1
    assert swept >= 20


@pytest.mark.parametrize(
    ("method", "path", "data", "field"),
    [
        ("GET", f"/api/v1/rooms/1/messages?after={INT64_MAX + 1}", None, "after"),
        ("GET", f"/api/v1/rooms/1/messages?before={-(2**63) - 1}", None, "before"),
        ("GET", f"/api/v1/admin/users?offset={INT64_MAX + 1}", None, "offset"),
        ("GET", f"/api/v1/search/pages?q=x&workspace={10**30}", None, "workspace"),
        ("GET", f"/api/v1/messages/search?q=x&room={10**30}", None, "room"),
        ("POST", "/api/v1/rooms/1/read", b'{"seq": 100000000000000000000000000000}', "seq"),
        ("POST", "/api/v1/rooms/1/read", b'{"seq": 1e30}', "seq"),
        ("POST", "/api/v1/rooms/1/messages", b'{"body": "x", "reply_to": 1e19}', "reply_to"),
        ("POST", "/api/v1/pages/1/move", b'{"parent_id": 9223372036854775808}', "parent_id"),
    ],
)
async def test_integers_wider_than_64_bits_in_queries_and_bodies_are_named(
    daemon: RunningDaemon,
    admin: CoopeClient,
    method: str,
    path: str,
    data: bytes | None,
    field: str,
) -> None:
    status, body = await _send(daemon, method, path, token=admin.token, data=data)
    _assert_error(status, body, 422, "invalid_input")
    assert field in body["error"]["message"]


async def test_the_largest_64_bit_id_is_a_plain_not_found(
    daemon: RunningDaemon, admin: CoopeClient
) -> None:
    for method, path in [
        ("GET", f"/api/v1/rooms/{INT64_MAX}"),
        ("DELETE", f"/api/v1/messages/{INT64_MAX}"),
        ("GET", f"/api/v1/pages/{INT64_MAX}"),
    ]:
        status, body = await _send(daemon, method, path, token=admin.token)
        _assert_error(status, body, 404, "not_found")


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/messages/search?q=a%00b",
        "/api/v1/search/pages?q=a%00b",
        "/api/v1/messages/search?q=%1B%5B2J",
        "/api/v1/search/pages?q=%C2%9B31m",
        "/api/v1/admin/users?search=%7F",
    ],
)
async def test_control_characters_in_queries_are_refused(
    daemon: RunningDaemon, admin: CoopeClient, path: str
) -> None:
    status, body = await _send(daemon, "GET", path, token=admin.token)
    _assert_error(status, body, 422, "invalid_input")
    field = "search" if "search=" in path else "q"
    assert f"{field}: " in body["error"]["message"]


async def test_control_characters_in_bodies_are_refused_where_they_are_not_text(
    daemon: RunningDaemon, admin: CoopeClient
) -> None:
    ws = await admin.workspaces.create("Team")
    page = await admin.pages.create(ws.id, "Notes")
    room = await admin.chat.create_room("general")
    refused = [
        ("POST", "/api/v1/workspaces", {"name": "\x1b]0;pwned\x07"}, "name"),
        ("POST", f"/api/v1/workspaces/{ws.id}/name", {"name": "two\nlines"}, "name"),
        ("POST", f"/api/v1/workspaces/{ws.id}/pages", {"title": "tab\there"}, "title"),
        ("POST", f"/api/v1/pages/{page.id}/title", {"title": "x\u2028y"}, "title"),
        ("POST", "/api/v1/tokens", {"name": "bot\x1b[2J"}, "name"),
        ("POST", f"/api/v1/pages/{page.id}/blocks", {"text": "nul\x00"}, "text"),
        ("POST", f"/api/v1/rooms/{room.id}/messages", {"body": "\x1b[2Jhi"}, "body"),
        ("POST", f"/api/v1/rooms/{room.id}/messages", {"body": "c1 \x9b31m"}, "body"),
        ("POST", "/api/v1/auth/login", {"username": "root\r", "password": "x" * 8}, "username"),
    ]
    for method, path, payload, field in refused:
        data = json.dumps(payload).encode()
        status, body = await _send(daemon, method, path, token=admin.token, data=data)
        _assert_error(status, body, 422, "invalid_input")
        assert f"{field}: " in body["error"]["message"], body
        assert body["error"]["details"]["errors"][0]["field"] == field
    # Multi-line text keeps its tabs and line breaks.
    sent = await admin.chat.send(room.id, "first line\n\tindented\r\nlast")
    assert sent.body == "first line\n\tindented\r\nlast"
    await admin.pages.append(page.id, "a\tb\nc", kind="code")
    assert "a\tb\nc" in (await admin.pages.content(page.id)).markdown
    assert [w.name for w in await admin.workspaces.list()] == ["Team"]


def _nested(depth: int) -> bytes:
    return b'{"a": ' * depth + b"1" + b"}" * depth


async def test_deeply_nested_json_is_a_bad_request_on_every_json_route(
    daemon: RunningDaemon, admin: CoopeClient
) -> None:
    doc = await _openapi(daemon)
    with_body = _json_body_operations(doc)
    for method, path in with_body:
        for raw in (b"[" * 100_000, b"[" * 65 + b"]" * 65, _nested(65)):
            status, body = await _send(daemon, method, path, token=admin.token, data=raw)
            _assert_error(status, body, 400, "bad_request")
            assert "64 levels" in body["error"]["message"]
        for raw in (b"[" * 64 + b"]" * 64, b'{"name": NaN}', b'{"name": -Infinity}'):
            status, body = await _send(daemon, method, path, token=admin.token, data=raw)
            assert status in (400, 422), body


def test_parse_json_is_strict_and_bounded() -> None:
    from coope.core.errors import BadRequest
    from coope.daemon.http.routes import MAX_JSON_DEPTH, parse_json

    assert parse_json(b'{"a": [1, {"b": null}]}') == {"a": [1, {"b": None}]}
    assert parse_json(_nested(MAX_JSON_DEPTH)) is not None
    for raw in (_nested(MAX_JSON_DEPTH + 1), b"[" * 100_000, b"NaN", b"\xff", b"[1,"):
        with pytest.raises(BadRequest):
            parse_json(raw)


async def _raw_http(daemon: RunningDaemon, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """One request written byte for byte (headers no HTTP library would send)."""
    host, port = daemon.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(request)
        await writer.drain()
        raw = await reader.read()
    finally:
        writer.close()
        await writer.wait_closed()
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
    return int(status_line.split()[1]), headers, body


@pytest.mark.parametrize(
    "credential",
    [
        b"Bearer \xff\xfe",
        b"Bearer eyJ\xff.eyJ.sig",
        b"Bearer coope_\xc3\xa9",
        b"Bearer \xe2\x80\xa8",
    ],
)
async def test_authorization_that_is_not_printable_ascii_is_unauthenticated(
    daemon: RunningDaemon, credential: bytes
) -> None:
    status, _, body = await _raw_http(
        daemon,
        b"GET /api/v1/auth/whoami HTTP/1.1\r\nHost: coope\r\nConnection: close\r\n"
        b"Authorization: " + credential + b"\r\n\r\n",
    )
    _assert_error(status, json.loads(body), 401, "unauthenticated")


async def _megabytes(count: int, first: bytes = b"") -> AsyncIterator[bytes]:
    """`count` MB sent as a stream: the same megabyte again, so the test never holds them all."""
    chunk = first + bytes(1024 * 1024 - len(first))
    for _ in range(count):
        yield chunk


async def _open_page(admin: CoopeClient) -> int:
    ws = await admin.workspaces.create("Uploads")
    return (await admin.pages.create(ws.id, "Big")).id


async def test_a_10_mb_yjs_update_over_rest_is_answered_413(
    daemon: RunningDaemon, admin: CoopeClient
) -> None:
    page_id = await _open_page(admin)
    url = f"{daemon.url}/api/v1/pages/{page_id}/updates"
    headers = {"Authorization": f"Bearer {admin.token}"}
    async with aiohttp.ClientSession() as http:
        async with http.post(url, data=io.BytesIO(bytes(10 * 1024 * 1024)), headers=headers) as r:
            body = await r.json()
        _assert_error(r.status, body, 413, "payload_too_large")
        # Drained, not dropped: the same connection serves the next request.
        async with http.get(f"{daemon.url}/api/v1/pages/{page_id}", headers=headers) as r:
            assert r.status == 200


async def test_a_100_mb_cover_upload_is_answered_413(
    daemon: RunningDaemon, admin: CoopeClient
) -> None:
    page_id = await _open_page(admin)
    async with (
        aiohttp.ClientSession() as http,
        http.put(
            f"{daemon.url}/api/v1/pages/{page_id}/cover",
            data=_megabytes(100, first=b"\x89PNG"),
            headers={
                "Authorization": f"Bearer {admin.token}",
                "Content-Type": "application/octet-stream",
            },
        ) as r,
    ):
        body = await r.json()
        _assert_error(r.status, body, 413, "payload_too_large")
        # More than the daemon drains before it answers: it says it ends the connection.
        assert r.headers["Connection"] == "close"
    assert not (await admin.pages.get(page_id)).has_cover


async def test_an_oversized_json_body_far_beyond_the_limit_is_answered_413(start_daemon) -> None:
    daemon = await start_daemon(max_body_bytes=10_000)
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            daemon.url + "/api/v1/auth/signup",
            data=_megabytes(100, first=b'{"username": "'),
            headers={"Content-Type": "application/json"},
        ) as r,
    ):
        _assert_error(r.status, await r.json(), 413, "payload_too_large")
        assert r.headers["Connection"] == "close"


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/jsonx",
    ],
)
async def test_json_bodies_must_say_they_are_json(
    daemon: RunningDaemon, admin: CoopeClient, content_type: str | None
) -> None:
    doc = await _openapi(daemon)
    with_body = _json_body_operations(doc)
    headers = {"Authorization": f"Bearer {admin.token}"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    async with aiohttp.ClientSession() as http:
        for method, path in with_body:
            # skip_auto_headers: aiohttp would otherwise label the bytes itself.
            async with http.request(
                method,
                daemon.url + path,
                data=b'{"name": "Sneaky"}',
                headers=headers,
                skip_auto_headers=["Content-Type"],
            ) as r:
                _assert_error(r.status, await r.json(), 415, "unsupported_media_type")
    assert await admin.workspaces.list() == []


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/vnd.coope+json",
    ],
)
async def test_json_bodies_in_any_json_type_are_taken(
    daemon: RunningDaemon, admin: CoopeClient, content_type: str
) -> None:
    status, body = await _send(
        daemon,
        "POST",
        "/api/v1/workspaces",
        token=admin.token,
        data=b'{"name": "Fine"}',
        headers={"Content-Type": content_type},
    )
    assert (status, body["name"]) == (201, "Fine")


async def test_every_response_forbids_content_sniffing(
    daemon: RunningDaemon, admin: CoopeClient
) -> None:
    page_id = await _open_page(admin)
    await admin.pages.set_cover(page_id, tiny_png())
    headers = {"Authorization": f"Bearer {admin.token}"}
    async with aiohttp.ClientSession() as http:
        for method, path in [
            ("GET", "/api/v1/health"),
            ("GET", "/api/v1/openapi.json"),
            ("GET", f"/api/v1/pages/{page_id}/cover"),
            ("GET", f"/api/v1/pages/{page_id}/state"),
            ("GET", "/call/1"),
            ("GET", "/web/call.js"),
            ("GET", "/api/v1/nope"),
            ("PUT", "/api/v1/health"),
            ("GET", "/api/v1/pages/abc"),
            ("POST", "/api/v1/workspaces"),
        ]:
            async with http.request(method, daemon.url + path, headers=headers) as r:
                assert r.headers.get("X-Content-Type-Options") == "nosniff", (method, path)
