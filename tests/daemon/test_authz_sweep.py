"""Authorization sweep: every operation in the daemon's OpenAPI document, called by a stranger
with another user's real ids.

The operations come from the document itself, so a new one is swept without being named here;
what the sweep cannot derive (a path parameter it has no value for, a body it cannot build)
fails loudly. For each call:
- the answer is 401, 403 or 404, or the operation is listed in `OWN_DATA` (it acts only on the
  caller's own data, or on nothing private) or `PUBLIC`, with the reason;
- the status is one the document lists for the operation;
- an id of the victim's gets the same status as an id never used (no existence oracle);
- no answer contains any of the victim's private text.
Afterwards everything the victim sees (every GET of the document, as the victim) is unchanged.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.conftest import DaemonFactory
from tests.daemon.sweep_openapi import (
    Operation,
    json_body,
    operations,
    query,
    resolve,
    url_path,
)
from tests.daemon.sweep_world import SECRET, Api, Reply, World, build_world, png_bytes
from tests.helpers import PASSWORD

pytestmark = pytest.mark.timeout(120)

REFUSED = {401, 403, 404}

# Authenticated operations that act only on the caller's own data (or are social actions anyone
# may take towards anyone); a 2xx from them is expected. The leak check and the victim's
# snapshot still apply to them.
OWN_DATA: dict[str, str] = {
    "accounts_whoami": "the caller's own account",
    "accounts_logout": "ends the caller's own session (a fresh one, made for this call)",
    "tokens_create_token": "a token for the caller",
    "tokens_list_tokens": "the caller's own tokens",
    "friends_request_friend": "anyone may ask anyone; the victim only sees a request",
    "friends_friend_requests": "the caller's own requests",
    "friends_cancel_friend": "takes back the caller's own request to the victim",
    "friends_list_friends": "the caller's own friends",
    "friends_block": "a block changes only what the blocker sees and sends",
    "friends_list_blocks": "the caller's own blocks",
    "friends_unblock": "undoes the caller's own block",
    "friends_my_presence": "the caller's own presence",
    "friends_set_presence": "the caller's own presence",
    "chat_list_rooms": "the caller's own rooms",
    "chat_create_room": "the caller's own room; the victim is invited, never added",
    "chat_list_room_invites": "the caller's own invitations",
    "workspaces_create_workspace": "the caller's own workspace",
    "workspaces_list_workspaces": "the caller's own workspaces",
    "calls_list_calls": "calls in the caller's own rooms",
    "websockets_events": "the caller's own event stream",
    "accounts_set_display_name": "the caller's own display name",
    "accounts_change_password": "the caller's own password",
}

# Operations that need no credential, with the statuses a stranger gets and why.
PUBLIC: dict[str, tuple[set[int], str]] = {
    "system_health": ({200}, "the daemon's status"),
    "system_openapi": ({200}, "this document"),
    "system_events_schema": ({200}, "the events' JSON Schema, part of the same contract"),
    "accounts_signup": ({409}, "the victim's name is taken"),
    "accounts_login": ({401}, "the victim's name with a wrong password"),
    "webhooks_clerk": ({400, 401}, "an unsigned delivery"),
    "web_call_page": ({200}, "the static page; it signs in before it shows anything"),
    "web_call_script": ({200}, "a static script"),
    "web_call_styles": ({200}, "static styles"),
    "web_invite_page": (
        {404},
        "an invite link is a capability: the stranger is handed a code that does not exist,"
        " as for join",
    ),
    "web_invite_script": ({200}, "a static script"),
    "web_invite_styles": ({200}, "static styles"),
}

# Path parameters that are capabilities (they grant access by design, like the join body's
# code), not ids: the stranger cannot know the victim's, so the sweep hands them unused ones.
CAPABILITY_PATHS = {"web_invite_page": ("code",)}

# Ids that were never used, for the existence-oracle comparison. Usernames are left as they
# are: they are public (friend requests go by name), so a user's existence is no secret.
NEVER_USED = {
    "workspace_id": 2**40,
    "page_id": 2**40,
    "room_id": 2**40,
    "message_id": 2**40,
    "token_id": 2**40,
    "code": "Nevr0used0code00",
    "parent_id": 2**40,
    "after": 2**40,
    "reply_to": 2**40,
    "room": 2**40,
    "workspace": 2**40,
}


def _body_values(world: World) -> dict[str, Any]:
    """Values for bodies and queries: the victim's ids under the names fields give them."""
    v = world.values
    return {
        "username": v["username"],
        "members": [v["username"]],
        "parent_id": v["page_id"],
        "after": v["page_id"],
        "reply_to": v["message_id"],
        "room": v["room_id"],
        "workspace": v["workspace_id"],
        # Search for the victim's private word: finding it would be a leak.
        "q": SECRET,
        # An invite code is a secret that grants access by design, not an id: the stranger
        # cannot know the victim's, so the sweep hands them one that does not exist.
        "code": NEVER_USED["code"],
        "password": "not the password",
        # The stranger's own password change, with a current password that is not theirs.
        "current_password": "not the password",
        "new_password": "a new password 9",
    }


class Sweep:
    def __init__(self, api: Api, doc: dict[str, Any], victim: World, stranger: World) -> None:
        self.api, self.doc, self.victim, self.stranger = api, doc, victim, stranger
        self.problems: list[str] = []

    async def call(
        self, op: Operation, token: str | None, values: dict[str, Any], body: dict[str, Any]
    ) -> Reply:
        path = url_path(op, values)
        if op.websocket:
            return await self._connect(path, token)
        kw: dict[str, Any] = {"params": query(self.doc, op, body) or None}
        if "application/json" in op.body_types:
            kw["json_body"] = json_body(self.doc, op, body)
        elif op.body_types:
            kw["data"], kw["content_type"] = png_bytes(), op.body_types[0]
        return await self.api.call(op.method, path, token, **kw)

    async def _connect(self, path: str, token: str | None) -> Reply:
        """A websocket: refused before the upgrade (its HTTP status), or after it (101 and the
        close code as the body); a data frame before the close is recorded as the body too."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            async with self.api.http.ws_connect(self.api.url + path, headers=headers) as ws:
                msg = await ws.receive(timeout=10)
                if msg.type is aiohttp.WSMsgType.CLOSE:
                    return Reply(101, f"close {ws.close_code}".encode(), "")
                data = msg.data if isinstance(msg.data, bytes) else str(msg.data).encode()
                return Reply(101, data, "data")
        except aiohttp.WSServerHandshakeError as exc:
            return Reply(exc.status, b"", "")

    def same_answer(self, op: Operation, ids: list[str], reply: Reply, other: Reply) -> None:
        """The victim's ids must get the answer unused ones get: no existence oracle."""
        if (reply.status, _code(reply)) != (other.status, _code(other)):
            self.problems.append(
                f"existence oracle: {op.label} answers {reply.status} {reply.text[:150]} for the"
                f" victim's {ids} but {other.status} {other.text[:150]} for unused ones"
            )

    async def assert_unchanged(self, before: dict[str, Any]) -> None:
        after = await _snapshot(self)
        for key in sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k)):
            self.problems.append(
                f"the victim's view changed: {key}: {before.get(key)} -> {after.get(key)}"
            )
        assert not self.problems, "\n".join(self.problems)

    def check(self, op: Operation, reply: Reply, label: str) -> None:
        where = f"{op.label} {label}: {reply.status} {reply.text[:300]}"
        if reply.status not in op.statuses:
            self.problems.append(f"undocumented status: {where}")
        if SECRET in reply.text:
            self.problems.append(f"the victim's private text leaked: {where}")


async def _snapshot(sweep: Sweep) -> dict[str, Any]:
    """Everything the victim sees: every authenticated GET in the document, as the victim."""
    victim, seen = sweep.victim, {}
    for op in operations(sweep.doc):
        if op.method != "GET" or not op.secured or op.websocket:
            continue
        reply = await sweep.call(op, victim.token, victim.values, _body_values(victim))
        seen[op.id] = (reply.status, _normalised(reply, sweep.stranger.username))
    return seen


def _code(reply: Reply) -> str | None:
    if reply.content_type != "application/json" or reply.status < 400:
        return None
    return str(reply.json().get("error", {}).get("code"))


def _normalised(reply: Reply, stranger: str) -> Any:
    if reply.content_type != "application/json":
        return reply.body
    data = reply.json()
    # The one thing a stranger may put before the victim: a request or an invitation to answer.
    if isinstance(data, dict) and isinstance(data.get("incoming"), list):
        data["incoming"] = [
            entry
            for entry in data["incoming"]
            if stranger not in json.dumps([entry.get("user"), entry.get("invited_by")])
        ]
    # Last activity moves with the people's own requests and the clock, wherever it shows (a
    # presence, or each friend's in a list): no doing of the stranger's.
    return _without_activity(data)


def _without_activity(data: Any) -> Any:
    if isinstance(data, list):
        return [_without_activity(item) for item in data]
    if isinstance(data, dict):
        moved = ("last_active_at", "last_seen_at", "active_ago_s")
        return {k: _without_activity(v) for k, v in data.items() if k not in moved}
    return data


@pytest.fixture
async def sweep(start_daemon: DaemonFactory) -> AsyncIterator[Sweep]:
    daemon = await start_daemon(clerk_webhook_secret="whsec_" + "c3dlZXAgc2VjcmV0IGtleQ==")
    async with aiohttp.ClientSession() as http:
        api = Api(http, daemon.url)
        await api.signup("root")  # the admin: neither the victim nor the stranger
        buddy = await api.signup("buddy")
        victim = await build_world(api, "victim", "buddy", buddy)
        stranger = World("stranger", await api.signup("stranger"))
        doc = await api.ok("GET", "/api/v1/openapi.json")
        yield Sweep(api, doc, victim, stranger)


def _allowed(op: Operation, reply: Reply) -> tuple[set[int], str]:
    """The statuses a stranger may get from `op` with the victim's ids, and why."""
    if op.id in PUBLIC:
        return PUBLIC[op.id]
    if op.id in OWN_DATA:
        return REFUSED | set(range(200, 300)) | {101}, OWN_DATA[op.id]
    if op.websocket and reply.text.startswith(("close 4401", "close 4403", "close 4404")):
        return REFUSED | {101}, "refused after the upgrade, before any data"
    return REFUSED, ""


async def test_a_stranger_with_the_victims_ids_gets_nothing(sweep: Sweep) -> None:
    before = await _snapshot(sweep)
    victim, stranger = sweep.victim, sweep.stranger
    stale = (OWN_DATA.keys() | PUBLIC.keys()) - {op.id for op in operations(sweep.doc)}
    assert not stale, f"listed operations the document no longer has: {sorted(stale)}"

    for op in operations(sweep.doc):
        token = stranger.token if op.secured or op.websocket else None
        if op.id == "accounts_logout":  # it would end the session the sweep goes on with
            login = {"username": stranger.username, "password": PASSWORD}
            token = (await sweep.api.ok("POST", "/api/v1/auth/login", json_body=login))["token"]
        values = {**victim.values, **{k: NEVER_USED[k] for k in CAPABILITY_PATHS.get(op.id, ())}}
        reply = await sweep.call(op, token, values, _body_values(victim))
        sweep.check(op, reply, "with the victim's ids")
        allowed, why = _allowed(op, reply)
        if reply.status not in allowed:
            sweep.problems.append(
                f"{op.label}: {reply.status} {reply.text[:200]} (allowed: {sorted(allowed)}"
                f"{'; ' + why if why else ''})"
            )
        ids = [k for k in op.path_params if k in NEVER_USED]
        if ids and op.id not in PUBLIC:
            unused = {**victim.values, **{k: NEVER_USED[k] for k in ids}}
            other = await sweep.call(op, token, unused, _body_values(victim))
            sweep.same_answer(op, ids, reply, other)

    await sweep.assert_unchanged(before)


# Body and query fields that name a stored thing (the names the sweep fills with the victim's).
ID_FIELDS = ("parent_id", "after", "reply_to", "room", "workspace")


def _id_fields(sweep: Sweep, op: Operation) -> set[str]:
    names = {p["name"] for p in op.query_params()}
    if "application/json" in op.body_types:
        schema = op.spec["requestBody"]["content"]["application/json"]["schema"]
        names |= set(resolve(sweep.doc, schema).get("properties", {}))
    return names & set(ID_FIELDS)


async def test_the_victims_ids_in_a_strangers_own_requests_reveal_nothing(sweep: Sweep) -> None:
    """The stranger's own page moved under the victim's page, a reply to the victim's message,
    a search scoped to the victim's room...: the same answer as for an id never used."""
    api, victim = sweep.api, sweep.victim
    pal = await api.signup("pal")
    mine = await build_world(api, "stranger2", "pal", pal, marker="zq7mine")
    sweep.stranger = mine
    before = await _snapshot(sweep)
    swept = []
    for op in operations(sweep.doc):
        fields = _id_fields(sweep, op)
        if op.websocket or not op.secured or not fields:
            continue
        swept.append(op.id)
        theirs = {**_body_values(mine), **{f: _body_values(victim)[f] for f in fields}}
        reply = await sweep.call(op, mine.token, mine.values, theirs)
        sweep.check(op, reply, f"with the victim's {sorted(fields)}")
        unused = {**theirs, **{f: NEVER_USED[f] for f in fields}}
        other = await sweep.call(op, mine.token, mine.values, unused)
        sweep.same_answer(op, sorted(fields), reply, other)
    assert {"pages_move", "pages_create_page", "chat_send", "chat_search"} <= set(swept), swept
    await sweep.assert_unchanged(before)
