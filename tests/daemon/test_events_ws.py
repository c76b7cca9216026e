"""The event websocket: authentication, keepalive, live events, and closing on revocation."""

from __future__ import annotations

import aiohttp
import pytest

from coope.client import CoopeClient
from coope.core.errors import Unauthenticated
from coope.core.models import Role
from coope.core.schemas import Event
from tests.helpers import RunningDaemon, next_event


def ws_url(daemon: RunningDaemon) -> str:
    return daemon.url.replace("http", "ws", 1) + "/api/v1/ws"


async def test_ready_names_the_user(alice: CoopeClient) -> None:
    async with alice.events() as events:
        assert events.ready is not None
        assert events.ready.data["user"]["username"] == "alice"
        assert events.ready.data["auth"] == "session"


async def test_first_message_auth_for_browsers(daemon: RunningDaemon, alice: CoopeClient) -> None:
    async with aiohttp.ClientSession() as http, http.ws_connect(ws_url(daemon)) as ws:
        await ws.send_json({"type": "auth", "token": alice.token})
        ready = Event.model_validate(await ws.receive_json(timeout=5))
        assert (ready.type, ready.data["user"]["username"]) == ("ready", "alice")
        await ws.send_json({"type": "ping", "id": 7})
        pong = await ws.receive_json(timeout=5)
        assert (pong["type"], pong["data"]["id"]) == ("pong", 7)


@pytest.mark.parametrize(
    "first", [{"type": "auth", "token": "nonsense"}, {"type": "hello"}, "not json"]
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
        assert event.data["code"] == "bad_request"
        assert "frobnicate" in event.data["message"]


async def test_role_change_arrives_as_user_updated(admin: CoopeClient, alice: CoopeClient) -> None:
    async with alice.events() as events:
        await admin.admin.set_role("alice", Role.ADMIN)
        event = await next_event(events, "user.updated")
        assert event.data["role"] == "admin"


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
            assert notice.data["reason"] == "logout"
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
