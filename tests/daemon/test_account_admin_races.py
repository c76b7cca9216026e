"""A credential is never issued to an account that changed while it was being issued: a login
whose password check overlaps a reset, a password change, disabling or deletion fails; an admin's
token for an account disabled meanwhile is not made; an events socket whose credential is revoked
while it connects is closed.

Each race is made to happen every time: the storage read the operation starts with (or the
credential check) is hooked to commit the competing change right after it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from coope.client import CoopeClient
from coope.core.errors import Conflict, NotFound, Unauthenticated
from coope.core.models import Principal, User
from coope.daemon.http.keys import SERVICES
from coope.daemon.storage.sql.accounts import SqlAccounts
from tests.helpers import PASSWORD, RunningDaemon

Change = Callable[[SqlAccounts, int], Awaitable[object]]

CHANGES: dict[str, Change] = {
    "reset": lambda storage, user_id: storage.set_password(user_id, "another hash"),
    "disable": lambda storage, user_id: storage.set_disabled(user_id, True, 0.0),
    "delete": lambda storage, user_id: storage.delete_user(user_id, 0.0),
}


@pytest.mark.parametrize("change", CHANGES)
async def test_a_change_while_a_login_checks_the_password_wins(
    daemon: RunningDaemon,
    admin: CoopeClient,
    alice: CoopeClient,
    monkeypatch: pytest.MonkeyPatch,
    change: str,
) -> None:
    read_hash = SqlAccounts.get_password_hash

    async def hash_then_change(self: SqlAccounts, user_id: int) -> str | None:
        # The hash is read, then (while the login would be running scrypt on it) the account
        # changes and that change commits.
        stored = await read_hash(self, user_id)
        monkeypatch.setattr(SqlAccounts, "get_password_hash", read_hash)
        await CHANGES[change](self, user_id)
        return stored

    monkeypatch.setattr(SqlAccounts, "get_password_hash", hash_then_change)
    async with daemon.client() as late:
        with pytest.raises(Unauthenticated, match="wrong username or password"):
            await late.auth.login("alice", PASSWORD)
        assert late.token is None
    if change == "disable":
        # Enabling again revives no credential, this login's included: there is none.
        await admin.admin.enable("alice")
        async with daemon.client() as again:
            await again.auth.login("alice", PASSWORD)  # the account itself is fine


async def test_an_admin_token_for_an_account_disabled_meanwhile_is_not_made(
    daemon: RunningDaemon, admin: CoopeClient, alice: CoopeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    find = SqlAccounts.get_user_by_name

    async def find_then_disable(self: SqlAccounts, username: str) -> User | None:
        # The admin's request finds alice live; she is disabled before the token is stored.
        user = await find(self, username)
        if user is not None and username == "alice":
            monkeypatch.setattr(SqlAccounts, "get_user_by_name", find)
            await self.set_disabled(user.id, True, 0.0)
        return user

    monkeypatch.setattr(SqlAccounts, "get_user_by_name", find_then_disable)
    with pytest.raises(Conflict, match="alice is disabled"):
        await admin.admin.tokens.create("alice", "bot")
    await admin.admin.enable("alice")
    assert await admin.admin.tokens.list("alice") == [], "no token was left to revive"


async def test_an_admin_token_for_an_account_deleted_meanwhile_is_not_made(
    daemon: RunningDaemon, admin: CoopeClient, alice: CoopeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    find = SqlAccounts.get_user_by_name
    deleted: list[int] = []

    async def find_then_delete(self: SqlAccounts, username: str) -> User | None:
        user = await find(self, username)
        if user is not None and username == "alice":
            monkeypatch.setattr(SqlAccounts, "get_user_by_name", find)
            deleted.append((await self.delete_user(user.id, 0.0)).user.id)
        return user

    monkeypatch.setattr(SqlAccounts, "get_user_by_name", find_then_delete)
    with pytest.raises(NotFound):
        await admin.admin.tokens.create("alice", "bot")
    assert deleted, "the race was made"


async def _revoke_while_connecting(daemon: RunningDaemon, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first credential check of the events socket logs the session out (announcing it)
    just after it succeeds: before the socket listens for such announcements."""
    services = daemon.app[SERVICES]
    check = services.auth.authenticate

    async def check_then_log_out(bearer: str | None) -> Principal:
        principal = await check(bearer)
        monkeypatch.setattr(services.auth, "authenticate", check)
        await services.accounts.logout(principal)
        return principal

    monkeypatch.setattr(services.auth, "authenticate", check_then_log_out)


async def test_a_session_ended_while_its_events_socket_connects_is_refused(
    daemon: RunningDaemon, alice: CoopeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _revoke_while_connecting(daemon, monkeypatch)
    with pytest.raises(Unauthenticated):  # the reason is checked below, on the raw socket
        async with alice.events():
            pass


async def test_the_same_with_the_token_in_the_first_message(
    daemon: RunningDaemon, alice: CoopeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _revoke_while_connecting(daemon, monkeypatch)
    url = daemon.url.replace("http", "ws", 1) + "/api/v1/ws"
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        await ws.send_json({"type": "auth", "token": alice.token})
        first: dict[str, Any] = await ws.receive_json(timeout=5)
        assert (first["type"], first["data"]["code"]) == ("error", "unauthenticated"), first
        assert "session has ended" in first["data"]["message"]
        closing = await ws.receive(timeout=5)
        assert closing.type is aiohttp.WSMsgType.CLOSE
        assert ws.close_code == 4401
