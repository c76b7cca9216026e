"""Administration: the admin matrix, search, roles, disabling, and the last-admin guard."""

from __future__ import annotations

import pytest

from coope.client import CoopeClient
from coope.core.errors import Conflict, Forbidden, NotFound, Unauthenticated
from coope.core.models import Role
from tests.helpers import PASSWORD, RunningDaemon


async def test_users_cannot_use_admin_endpoints(
    daemon: RunningDaemon, admin: CoopeClient, alice: CoopeClient
) -> None:
    calls = [
        alice.admin.users(),
        alice.admin.create_user("mallory", PASSWORD),
        alice.admin.set_role("alice", Role.ADMIN),
        alice.admin.disable("root"),
        alice.admin.enable("alice"),
    ]
    for call in calls:
        with pytest.raises(Forbidden, match="admin role"):
            await call
    users = (await admin.admin.users()).users
    assert {(u.username, u.role, u.disabled) for u in users} == {
        ("root", Role.ADMIN, False),
        ("alice", Role.USER, False),
    }


async def test_anonymous_callers_are_unauthenticated(anon: CoopeClient) -> None:
    with pytest.raises(Unauthenticated):
        await anon.admin.users()


async def test_search_and_paging(daemon: RunningDaemon, admin: CoopeClient) -> None:
    for name in ("ann", "anna", "bert", "annette"):
        await admin.admin.create_user(name, PASSWORD, display_name=f"{name.title()} Smith")
    found = await admin.admin.users(search="ann")
    assert [u.username for u in found.users] == ["ann", "anna", "annette"]
    assert found.total == 3
    page = await admin.admin.users(limit=2, offset=1)
    assert page.total == 5
    assert [u.username for u in page.users] == ["anna", "annette"]
    assert (await admin.admin.users(search="%")).total == 0  # LIKE wildcards are literal
    assert (await admin.admin.users(search="smith")).total == 4


async def test_role_change_takes_effect(admin: CoopeClient, alice: CoopeClient) -> None:
    assert (await admin.admin.set_role("alice", Role.ADMIN)).role is Role.ADMIN
    assert (await alice.admin.users()).total == 2
    await admin.admin.set_role("alice", Role.USER)
    with pytest.raises(Forbidden):
        await alice.admin.users()


async def test_disabling_cuts_sessions_and_tokens_at_once(
    daemon: RunningDaemon, admin: CoopeClient, alice: CoopeClient
) -> None:
    token = (await alice.tokens.create("bot")).token
    await admin.admin.disable("alice")
    async with daemon.client(token) as bot:
        for client in (alice, bot):
            with pytest.raises(Unauthenticated, match="disabled"):
                await client.auth.whoami()
    user = await admin.admin.enable("alice")
    assert not user.disabled
    # Enabling revives nothing: the old session and token stay ended; a new login works.
    async with daemon.client(token) as bot:
        for client in (alice, bot):
            with pytest.raises(Unauthenticated, match="session has ended|revoked"):
                await client.auth.whoami()
    async with daemon.client() as again:
        await again.auth.login("alice", PASSWORD)
        assert (await again.auth.whoami()).user.username == "alice"
        assert await again.tokens.list() == [], "the bot's token is revoked, not listed"


async def test_the_last_admin_cannot_be_removed(admin: CoopeClient, alice: CoopeClient) -> None:
    with pytest.raises(Conflict, match="last active admin"):
        await admin.admin.set_role("root", Role.USER)
    with pytest.raises(Conflict, match="last active admin"):
        await admin.admin.disable("root")
    await admin.admin.set_role("alice", Role.ADMIN)
    await alice.admin.disable("root")
    with pytest.raises(Unauthenticated):
        await admin.auth.whoami()


async def test_unknown_users_are_not_found(admin: CoopeClient) -> None:
    with pytest.raises(NotFound, match="nobody"):
        await admin.admin.set_role("nobody", Role.ADMIN)
    with pytest.raises(NotFound):
        await admin.admin.disable("nobody")


async def test_admin_can_create_admins(daemon: RunningDaemon, admin: CoopeClient) -> None:
    created = await admin.admin.create_user("ops", PASSWORD, role=Role.ADMIN, display_name="Ops")
    assert (created.role, created.display_name) == (Role.ADMIN, "Ops")
    async with daemon.client() as ops:
        await ops.auth.login("ops", PASSWORD)
        assert (await ops.admin.users()).total == 2
