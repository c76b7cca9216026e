"""Raw requests for the account administration tests: bodies the typed client would never send."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from coope.client import CoopeClient
from tests.helpers import RunningDaemon


async def raw(
    daemon: RunningDaemon,
    method: str,
    path: str,
    who: CoopeClient | None = None,
    body: Any = None,
    *,
    data: bytes | None = None,
) -> tuple[int, dict[str, Any]]:
    """(status, JSON answer) of one request as `who` (nobody: no credential)."""
    headers = {"Content-Type": "application/json"}
    if who is not None and who.token:
        headers["Authorization"] = f"Bearer {who.token}"
    payload = data if data is not None else None if body is None else json.dumps(body).encode()
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, daemon.url + path, data=payload, headers=headers) as reply,
    ):
        text = await reply.text()
        return reply.status, json.loads(text) if text else {}


def hostile_bodies(valid: dict[str, Any], field: str) -> list[Any]:
    """`valid` (a body the endpoint takes) with `field` made hostile, one way per body: wrong
    types, control characters, a size beyond every bound; and bodies hostile as a whole (an
    unknown field, not an object). Each must be refused with a 4xx for that one reason alone."""
    values: list[Any] = [12, None, ["a"], {"a": 1}, "nul\x00inside", "esc\x1b[2J", "x" * 100_000]
    return [*({**valid, field: value} for value in values), {**valid, "extra": 1}, [], "text"]
