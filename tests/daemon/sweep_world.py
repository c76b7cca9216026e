"""A user's world of real data, built over plain HTTP: a friend, a workspace with pages and a
cover, an invite, a group room and a direct room with messages and a reaction, an API token.

Sweeps act on it as someone else. Every private text in it carries `SECRET`, so a response that
contains `SECRET` has leaked something of it.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from PIL import Image

from tests.helpers import PASSWORD

SECRET = "zq7private"


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


@dataclass
class Reply:
    status: int
    body: bytes
    content_type: str

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class Api:
    """Plain HTTP to the daemon: no client library between the test and the wire."""

    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self.http = http
        self.url = url

    async def call(
        self,
        method: str,
        path: str,
        token: str | None = None,
        *,
        json_body: Any = None,
        data: bytes | None = None,
        content_type: str | None = None,
        params: dict[str, str] | None = None,
    ) -> Reply:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if content_type:
            headers["Content-Type"] = content_type
        async with self.http.request(
            method, self.url + path, json=json_body, data=data, headers=headers, params=params
        ) as response:
            return Reply(response.status, await response.read(), response.content_type)

    async def ok(self, method: str, path: str, token: str | None = None, **kw: Any) -> Any:
        reply = await self.call(method, path, token, **kw)
        assert 200 <= reply.status < 300, f"{method} {path}: {reply.status} {reply.text}"
        return reply.json() if reply.body else None

    async def signup(self, username: str) -> str:
        body = {"username": username, "password": PASSWORD}
        return str((await self.ok("POST", "/api/v1/auth/signup", json_body=body))["token"])


@dataclass
class World:
    username: str
    token: str
    # Values for path parameters, by name: the ids of this world's things.
    values: dict[str, Any] = field(default_factory=dict)


async def build_world(
    api: Api, username: str, friend: str, friend_token: str, *, marker: str = SECRET
) -> World:
    """Sign `username` up and give them a world shared with `friend` (signed up already), every
    private text marked with `marker`."""
    token = await api.signup(username)
    v1 = "/api/v1"
    await api.ok("POST", f"{v1}/friends/requests", token, json_body={"username": friend})
    await api.ok("POST", f"{v1}/friends/requests/{username}/accept", friend_token)

    ws = await api.ok("POST", f"{v1}/workspaces", token, json_body={"name": f"{marker} ws"})
    member = {"username": friend, "role": "editor"}
    await api.ok("PUT", f"{v1}/workspaces/{ws['id']}/members", token, json_body=member)
    markdown = f"# {marker} heading\n\n{marker} text\n\n- [ ] {marker} task\n"
    page = await api.ok(
        "POST",
        f"{v1}/workspaces/{ws['id']}/pages",
        token,
        json_body={"title": f"{marker} page", "markdown": markdown},
    )
    child = {"title": f"{marker} child", "parent_id": page["id"]}
    await api.ok("POST", f"{v1}/workspaces/{ws['id']}/pages", token, json_body=child)
    old = await api.ok(
        "POST", f"{v1}/workspaces/{ws['id']}/pages", token, json_body={"title": f"{marker} old"}
    )
    await api.ok("POST", f"{v1}/pages/{old['id']}/archive", token)
    await api.ok(
        "PUT",
        f"{v1}/pages/{page['id']}/cover",
        token,
        data=png_bytes(),
        content_type="application/octet-stream",
    )
    invite = await api.ok("POST", f"{v1}/workspaces/{ws['id']}/invites", token, json_body={})

    room = await api.ok(
        "POST", f"{v1}/rooms", token, json_body={"name": f"{marker} room", "members": [friend]}
    )
    message = await api.ok(
        "POST", f"{v1}/rooms/{room['id']}/messages", token, json_body={"body": f"{marker} hi"}
    )
    await api.ok("PUT", f"{v1}/messages/{message['id']}/reactions/👍", token)
    reply = {"body": f"{marker} reply", "reply_to": message["id"]}
    await api.ok("POST", f"{v1}/rooms/{room['id']}/messages", friend_token, json_body=reply)
    await api.ok(
        "POST", f"{v1}/direct/{friend}/messages", token, json_body={"body": f"{marker} direct"}
    )
    created = await api.ok("POST", f"{v1}/tokens", token, json_body={"name": f"{marker} bot"})
    await api.ok("PUT", f"{v1}/presence", token, json_body={"text": f"{marker} status"})

    return World(
        username,
        token,
        {
            "workspace_id": ws["id"],
            "page_id": page["id"],
            "room_id": room["id"],
            "message_id": message["id"],
            "token_id": created["info"]["id"],
            "code": invite["code"],
            "username": username,
            "emoji": "👍",
            "name": "call.js",
        },
    )
