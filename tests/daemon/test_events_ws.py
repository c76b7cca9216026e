"""The event websocket: authentication, keepalive, live events, and closing on revocation."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
import pytest

from coope.client import CoopeClient
from coope.core.errors import Unauthenticated
from coope.core.events import parse_event
from coope.core.models import Role
from coope.daemon.http.keys import SERVICES
from tests.helpers import RunningDaemon, next_event


def ws_url(daemon: RunningDaemon) -> str:
    return daemon.url.replace("http", "ws", 1) + "/api/v1/ws"


async def test_ready_names_the_user(alice: CoopeClient) -> None:
    async with alice.events() as events:
        assert events.ready is not None
        assert events.ready.data.user.username == "alice"
        assert events.ready.data.auth == "session"


async def test_first_message_auth_for_browsers(daemon: RunningDaemon, alice: CoopeClient) -> None:
    async with aiohttp.ClientSession() as http, http.ws_connect(ws_url(daemon)) as ws:
        await ws.send_json({"type": "auth", "token": alice.token})
        ready = parse_event(await ws.receive_json(timeout=5))
        assert (ready.type, ready.data.user.username) == ("ready", "alice")
        await ws.send_json({"type": "ping", "id": 7})
        pong = await ws.receive_json(timeout=5)
        assert (pong["type"], pong["data"]["id"]) == ("pong", 7)


@pytest.mark.parametrize(
    "first", [{"type": "auth", "token": "nonsense"}, {"type": "hello"}, "not json", "[" * 100_000]
)
async def test_bad_first_message_closes_with_4401(
    daemon: RunningDaemon, first: dict[str, str] | str
) -> None:
    async with aiohttp.ClientSession() as http, http.ws_connect(ws_url(daemon)) as ws:
        if isinstance(first, str):
            await ws.send_str(first)
        else:
            await ws.send_json(first)
        error = await ws.receive_json(timeout=5)
        assert (error["type"], error["data"]["code"]) == ("error", "unauthenticated")
        closing = await ws.receive(timeout=5)
        assert closing.type is aiohttp.WSMsgType.CLOSE
        assert ws.close_code == 4401


async def test_silent_client_is_closed_after_the_auth_timeout(start_daemon) -> None:
    daemon = await start_daemon(ws_auth_timeout_s=0.2)
    async with aiohttp.ClientSession() as http, http.ws_connect(ws_url(daemon)) as ws:
        closing = await ws.receive(timeout=5)
        assert closing.type is aiohttp.WSMsgType.CLOSE
        assert ws.close_code == 4401


async def test_bad_header_fails_the_upgrade_with_401(daemon: RunningDaemon) -> None:
    async with daemon.client("coope_not-a-token") as client:
        with pytest.raises(Unauthenticated):
            async with client.events():
                pass


async def test_unknown_and_binary_messages_get_an_error_event(alice: CoopeClient) -> None:
    async with alice.events() as events:
        await events.send({"type": "frobnicate"})
        event = await next_event(events, "error")
        assert event.data.code == "bad_request"
        assert "frobnicate" in event.data.message


async def test_role_change_arrives_as_user_updated(admin: CoopeClient, alice: CoopeClient) -> None:
    async with alice.events() as events:
        await admin.admin.set_role("alice", Role.ADMIN)
        event = await next_event(events, "user.updated")
        assert event.data.role == "admin"


async def test_logout_closes_only_that_sessions_sockets(
    daemon: RunningDaemon, alice: CoopeClient
) -> None:
    async with daemon.client() as laptop:
        await laptop.auth.login("alice", "correct horse battery")
        async with alice.events() as phone_events, laptop.events() as laptop_events:
            await laptop.auth.logout()
            with pytest.raises(Unauthenticated, match="logout"):
                async for event in laptop_events:
                    assert event.type in ("auth.revoked", "presence")
            assert laptop_events.close_code == 4401
            # The other session saw the notice but stays connected and usable.
            notice = await next_event(phone_events, "auth.revoked")
            assert notice.data.reason == "logout"
            await phone_events.send({"type": "ping"})
            assert (await next_event(phone_events, "pong")).type == "pong"


async def test_disabling_a_user_closes_every_socket(
    daemon: RunningDaemon, admin: CoopeClient, alice: CoopeClient
) -> None:
    token = (await alice.tokens.create("bot")).token
    async with daemon.client(token) as bot, alice.events() as a, bot.events() as b:
        await admin.admin.disable("alice")
        for stream in (a, b):
            with pytest.raises(Unauthenticated, match="disabled"):
                async for _ in stream:
                    pass
            assert stream.close_code == 4401


async def test_enabling_again_does_not_revive_the_closed_sockets_credentials(
    daemon: RunningDaemon, admin: CoopeClient, alice: CoopeClient
) -> None:
    token = (await alice.tokens.create("bot")).token
    async with daemon.client(token) as bot, alice.events() as a, bot.events() as b:
        await admin.admin.disable("alice")
        for stream in (a, b):
            with pytest.raises(Unauthenticated, match="disabled"):
                async for _ in stream:
                    pass
            assert stream.close_code == 4401
    await admin.admin.enable("alice")
    async with daemon.client(token) as bot:
        for client in (alice, bot):
            # A socket that wrongly connects would wait for events for ever: bounded here.
            with pytest.raises(Unauthenticated):
                async with asyncio.timeout(10), client.events() as stream:
                    async for _ in stream:
                        pass


async def test_revoking_a_token_closes_its_socket(
    daemon: RunningDaemon, alice: CoopeClient
) -> None:
    created = await alice.tokens.create("bot")
    async with daemon.client(created.token) as bot, bot.events() as events:
        await alice.tokens.revoke(created.info.id)
        with pytest.raises(Unauthenticated, match="revoked"):
            async for _ in events:
                pass


async def test_daemon_shutdown_closes_sockets_as_going_away(start_daemon) -> None:
    daemon = await start_daemon()
    async with await daemon.user("zed") as zed, zed.events() as events:
        await daemon.app.shutdown()
        assert [e async for e in events] == []
        assert events.close_code == 1001


# --- hostile input: a bad message gets an error, and the connection lives ---------------------

HUGE = 10**30

# For each kind of message, every field with a wrong value: wrong types, integers beyond 64
# bits, nesting where a scalar belongs.
BAD_MESSAGES: list[dict[str, Any]] = [
    {"type": ["ping"]},
    {"type": {"nested": {"deeper": []}}},
    {"type": None},
    {"type": "ping", "id": {"a": 1}},
    {"type": "ping", "id": [1]},
    {"type": "ping", "id": HUGE},
    {"type": "ping", "id": 1.5},
    {"type": "ping", "id": "x" * 1000},
    {"type": "presence", "state": 1},
    {"type": "presence", "state": ["online"]},
    {"type": "presence", "state": "offline"},
    {"type": "presence", "state": "asleep"},
    {"type": "presence"},
    {"type": "typing", "room_id": HUGE},
    {"type": "typing", "room_id": -HUGE},
    {"type": "typing", "room_id": "1"},
    {"type": "typing", "room_id": 1.0},
    {"type": "typing", "room_id": True},
    {"type": "typing", "room_id": [1]},
    {"type": "message.send", "room_id": HUGE, "body": "hi"},
    {"type": "message.send", "room_id": None, "body": "hi"},
    {"type": "message.send", "room_id": "{room}", "body": 5},
    {"type": "message.send", "room_id": "{room}", "body": ["hi"]},
    {"type": "message.send", "room_id": "{room}", "body": "hi", "client_id": 5},
    {"type": "message.send", "room_id": "{room}", "body": "hi", "client_id": {"x": 1}},
    {"type": "message.send", "room_id": "{room}", "body": "hi", "reply_to": HUGE},
    {"type": "message.send", "room_id": "{room}", "body": "hi", "reply_to": "1"},
    {"type": "call.join", "room_id": HUGE},
    {"type": "call.join", "room_id": "1"},
    {"type": "call.join", "room_id": "{room}", "takeover": "yes"},
    {"type": "call.join", "room_id": "{room}", "recording": 1},
    {"type": "call.join", "room_id": "{room}", "receive_video": "no"},
    {"type": "call.offer", "room_id": HUGE, "sdp": "v=0"},
    {"type": "call.offer", "room_id": "{room}", "sdp": 5},
    {"type": "call.offer", "room_id": "{room}", "sdp": "v=0", "sources": []},
    {"type": "call.offer", "room_id": "{room}", "sdp": "v=0", "sources": {"0": 5}},
    {"type": "call.leave", "room_id": HUGE},
    {"type": "call.leave", "room_id": {"id": 1}},
    {"type": "call.frobnicate", "room_id": "{room}"},
]


def _with_room(message: dict[str, Any], room_id: int) -> dict[str, Any]:
    return {k: room_id if v == "{room}" else v for k, v in message.items()}


async def _next_reply(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    """The next reply to what we sent, past the events of the moment (presence...)."""
    while True:
        received: dict[str, Any] = await ws.receive_json(timeout=5)
        if received["type"] in ("error", "pong", "message.sent", "call.joined", "call.left"):
            return received


async def _error_then_pong(ws: aiohttp.ClientWebSocketResponse, ping_id: int) -> dict[str, Any]:
    """The reply to the last message; then a ping is still answered."""
    error = await _next_reply(ws)
    await ws.send_json({"type": "ping", "id": ping_id})
    pong = await _next_reply(ws)
    assert (pong["type"], pong["data"]["id"]) == ("pong", ping_id)
    return error


async def test_bad_messages_get_an_error_and_the_connection_lives(
    daemon: RunningDaemon, alice: CoopeClient, caplog: pytest.LogCaptureFixture
) -> None:
    room = await alice.chat.create_room("mine")
    async with aiohttp.ClientSession() as http, http.ws_connect(ws_url(daemon)) as ws:
        await ws.send_json({"type": "auth", "token": alice.token})
        assert (await ws.receive_json(timeout=5))["type"] == "ready"
        for n, message in enumerate(BAD_MESSAGES):
            await ws.send_json(_with_room(message, room.id))
            error = await _error_then_pong(ws, n)
            assert error["type"] == "error", (message, error)
            assert error["data"]["code"] in ("bad_request", "not_found"), (message, error)
        # Nesting deeper than any parser goes, and a number no integer type holds.
        for n, text in enumerate(["[" * 100_000, '{"type": "typing", "room_id": 1e400}']):
            await ws.send_str(text)
            error = await _error_then_pong(ws, 1000 + n)
            assert (error["type"], error["data"]["code"]) == ("error", "bad_request")
        assert not ws.closed
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_a_failure_of_ours_is_an_internal_error_and_the_connection_lives(
    daemon: RunningDaemon, alice: CoopeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: Any) -> None:
        raise OverflowError("Python int too large to convert to SQLite INTEGER")

    monkeypatch.setattr(daemon.app[SERVICES].chat, "typing", broken)
    room = await alice.chat.create_room("mine")
    async with alice.events() as events:
        await events.send({"type": "typing", "room_id": room.id})
        error = await next_event(events, "error")
        assert error.data.code == "internal"
        await events.send({"type": "ping", "id": "after"})
        assert (await next_event(events, "pong")).data.id == "after"


@pytest.mark.parametrize("body", ["hi\x1b]0;pwned\x07", "nul\x00here", "c1\x9bcsi"])
async def test_control_characters_are_refused_over_the_socket_too(
    alice: CoopeClient, body: str
) -> None:
    room = await alice.chat.create_room("mine")
    async with alice.events() as events:
        await events.send({"type": "message.send", "room_id": room.id, "body": body})
        error = await next_event(events, "error")
        assert error.data.code == "invalid_input"
        assert "control characters" in error.data.message
        await events.send({"type": "message.send", "room_id": room.id, "body": "tab\tand\nline"})
        sent = await next_event(events, "message.sent")
        assert sent.data.message.body == "tab\tand\nline"
    assert [m.body for m in (await alice.chat.history(room.id)).messages] == ["tab\tand\nline"]


STRANGERS_MESSAGES: list[dict[str, Any]] = [
    {"type": "typing", "room_id": "{room}"},
    {"type": "message.send", "room_id": "{room}", "body": "let me in", "client_id": "x1"},
    {"type": "call.join", "room_id": "{room}"},
    {"type": "call.offer", "room_id": "{room}", "sdp": "v=0", "sources": {}},
    {"type": "call.leave", "room_id": "{room}"},
]


async def test_a_stranger_on_the_socket_gets_nothing_of_anothers_room(
    daemon: RunningDaemon, alice: CoopeClient
) -> None:
    room = await alice.chat.create_room("private")
    await alice.chat.send(room.id, "secret plans")
    replies = ("error", "call.joined", "call.left", "message.sent")
    async with await daemon.user("mallory") as mallory, mallory.events() as events:
        for message in STRANGERS_MESSAGES:
            answers = []
            for room_id in (room.id, room.id + 1000):  # alice's room, and one never made
                await events.send(_with_room(message, room_id))
                reply = await next_event(events, *replies)
                answers.append((reply.type, getattr(reply.data, "code", None)))
            # The same answer as for a room that does not exist: not_found, or (leaving a call
            # one is not in) the plain acknowledgement.
            assert answers[0] == answers[1], (message, answers)
            assert answers[0] in (("error", "not_found"), ("call.left", None)), (message, answers)
    assert [m.body for m in (await alice.chat.history(room.id)).messages] == ["secret plans"]
    assert await alice.calls.list() == []  # the call.join opened no call
