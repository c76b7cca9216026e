"""Signup, login, logout and whoami through the typed client against a real daemon."""

from __future__ import annotations

import pytest

from coope.client import CoopeClient
from coope.core.errors import Conflict, Forbidden, InvalidInput, RateLimited, Unauthenticated
from coope.core.models import AuthKind, Role
from tests.helpers import PASSWORD, RunningDaemon


async def test_first_account_is_admin_and_later_ones_are_users(daemon: RunningDaemon) -> None:
    async with daemon.client() as first, daemon.client() as second:
        a = await first.auth.signup("Root", PASSWORD, display_name="The Root")
        b = await second.auth.signup("bob", PASSWORD)
    assert (a.first_user, a.user.role, a.user.username, a.user.display_name) == (
        True,
        Role.ADMIN,
        "root",
        "The Root",
    )
    assert (b.first_user, b.user.role) == (False, Role.USER)


async def test_signup_logs_in_and_whoami_names_the_session(anon: CoopeClient) -> None:
    session = await anon.auth.signup("carol", PASSWORD)
    me = await anon.auth.whoami()
    assert me.user.username == "carol"
    assert me.auth is AuthKind.SESSION
    assert me.expires_at == session.expires_at


async def test_login_opens_an_independent_session(daemon: RunningDaemon) -> None:
    async with await daemon.user("dave") as first, daemon.client() as second:
        await second.auth.login("DAVE", PASSWORD)  # usernames are case-insensitive
        assert first.token != second.token
        await second.auth.logout()
        assert (await first.auth.whoami()).user.username == "dave"


async def test_logout_revokes_the_session_for_good(daemon: RunningDaemon) -> None:
    async with await daemon.user("erin") as client:
        token = client.token
        await client.auth.logout()
    async with daemon.client(token) as stale:
        with pytest.raises(Unauthenticated, match="ended"):
            await stale.auth.whoami()


@pytest.mark.parametrize(
    ("username", "password", "problem"),
    [
        ("ab", PASSWORD, "3 to 32"),
        ("x" * 33, PASSWORD, "3 to 32"),
        ("1abc", PASSWORD, "start with a letter"),
        ("bad name", PASSWORD, "start with a letter"),
        ("émile", PASSWORD, "start with a letter"),
        ("frank", "short", "at least 8"),
        ("frank", "x" * 1025, "at most 1024"),
    ],
)
async def test_signup_rules_are_explained(
    anon: CoopeClient, username: str, password: str, problem: str
) -> None:
    with pytest.raises(InvalidInput, match=problem):
        await anon.auth.signup(username, password)


async def test_taken_username_is_a_conflict(daemon: RunningDaemon, admin: CoopeClient) -> None:
    async with daemon.client() as client:
        with pytest.raises(Conflict, match="taken"):
            await client.auth.signup("ROOT", PASSWORD)


async def test_wrong_password_and_unknown_user_look_the_same(
    anon: CoopeClient, admin: CoopeClient
) -> None:
    with pytest.raises(Unauthenticated) as wrong:
        await anon.auth.login("root", "not the password")
    with pytest.raises(Unauthenticated) as unknown:
        await anon.auth.login("nobody", "not the password")
    assert wrong.value.message == unknown.value.message


async def test_login_failures_are_rate_limited_until_the_window_passes(start_daemon) -> None:
    daemon = await start_daemon(manual_clock=True, login_max_failures=3, login_window_s=60)
    async with await daemon.user("gina"), daemon.client() as client:
        for _ in range(3):
            with pytest.raises(Unauthenticated):
                await client.auth.login("gina", "wrong password")
        # Even the right password is refused while the lock holds: guessing must not go on.
        with pytest.raises(RateLimited) as limited:
            await client.auth.login("gina", PASSWORD)
        assert limited.value.retry_after in range(1, 61)
        assert daemon.clock is not None
        daemon.clock.advance(61)
        assert (await client.auth.login("gina", PASSWORD)).user.username == "gina"


async def test_rate_limit_answers_429_with_retry_after(start_daemon) -> None:
    import aiohttp

    daemon = await start_daemon(login_max_failures=1)
    async with aiohttp.ClientSession() as http:
        url = daemon.url + "/api/v1/auth/login"
        body = {"username": "henry", "password": "wrong password"}
        async with http.post(url, json=body) as first:
            assert first.status == 401
        async with http.post(url, json=body) as second:
            assert second.status == 429
            assert int(second.headers["Retry-After"]) > 0
            assert (await second.json())["error"]["code"] == "rate_limited"


async def test_disabled_account_cannot_log_in(
    daemon: RunningDaemon, admin: CoopeClient, alice: CoopeClient
) -> None:
    await admin.admin.disable("alice")
    async with daemon.client() as client:
        with pytest.raises(Forbidden, match="disabled"):
            await client.auth.login("alice", PASSWORD)


async def test_signup_closed_allows_only_the_first_account(start_daemon) -> None:
    from coope.core.errors import SignupClosed
    from coope.daemon.config import SignupPolicy

    daemon = await start_daemon(signup=SignupPolicy.CLOSED)
    async with await daemon.user("boss") as boss, daemon.client() as other:
        with pytest.raises(SignupClosed, match="closed"):
            await other.auth.signup("ivan", PASSWORD)
        created = await boss.admin.create_user("ivan", PASSWORD)
        assert created.role is Role.USER
        assert (await other.auth.login("ivan", PASSWORD)).user.username == "ivan"
