"""Passwords and display names: your own (with the current password) and, for an admin,
anyone's; what each ends, and who may do it."""

from __future__ import annotations

import pytest

from coope.client import CoopeClient
from coope.core.errors import (
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    Unauthenticated,
)
from coope.core.models import Role
from tests.daemon.account_admin_tools import hostile_bodies, raw
from tests.helpers import PASSWORD, RunningDaemon, next_event

NEW = "a brand new passphrase"


async def _login(daemon: RunningDaemon, username: str, password: str = PASSWORD) -> CoopeClient:
    """A new client logged in as `username` (closed again if the login is refused)."""
    client = daemon.client()
    try:
        await client.auth.login(username, password)
    except BaseException:
        await client.aclose()
        raise
    return client


async def test_changing_your_password_ends_your_other_sessions_only(
    daemon: RunningDaemon, alice: CoopeClient
) -> None:
    token = (await alice.tokens.create("bot")).token
    async with (
        await _login(daemon, "alice") as laptop,
        daemon.client(token) as bot,
        laptop.events() as laptop_events,
        alice.events() as own_events,
    ):
        changed = await alice.auth.change_password(PASSWORD, NEW)
        assert (changed.user.username, changed.ended.sessions_ended) == ("alice", 1)
        assert changed.ended.api_tokens_revoked == 0
        # The other session is over, and its open socket is closed at once.
        with pytest.raises(Unauthenticated, match="password changed"):
            async for _ in laptop_events:
                pass
        assert laptop_events.close_code == 4401
        with pytest.raises(Unauthenticated, match="session has ended"):
            await laptop.auth.whoami()
        # The session that asked goes on, socket included; the API token keeps working.
        await own_events.send({"type": "ping"})
        assert (await next_event(own_events, "pong")).type == "pong"
        assert (await alice.auth.whoami()).user.username == "alice"
        assert (await bot.auth.whoami()).auth.value == "api_token"
    with pytest.raises(Unauthenticated, match="wrong username or password"):
        await _login(daemon, "alice")
    async with await _login(daemon, "alice", NEW) as again:
        assert (await again.auth.whoami()).user.username == "alice"


async def test_changing_it_with_an_api_token_ends_every_session(
    daemon: RunningDaemon, alice: CoopeClient
) -> None:
    token = (await alice.tokens.create("script")).token
    async with daemon.client(token) as script:
        changed = await script.auth.change_password(PASSWORD, NEW)
        assert changed.ended.sessions_ended == 1  # the signup's session: a token is none
        with pytest.raises(Unauthenticated, match="session has ended"):
            await alice.auth.whoami()
        assert (await script.auth.whoami()).user.username == "alice"


async def test_the_current_password_must_be_right_and_the_new_one_strong(
    daemon: RunningDaemon, alice: CoopeClient
) -> None:
    # Forbidden, not Unauthenticated: the session that asks is fine, and a client takes
    # Unauthenticated for "log in again".
    with pytest.raises(Forbidden, match="current password is wrong"):
        await alice.auth.change_password("not it at all", NEW)
    assert (await alice.auth.whoami()).user.username == "alice"
    with pytest.raises(InvalidInput, match="at least 8 characters"):
        await alice.auth.change_password(PASSWORD, "short")
    with pytest.raises(InvalidInput, match="at most 1024"):
        await alice.auth.change_password(PASSWORD, "x" * 1025)
    # The new one is checked first: a weak one is refused as such, whatever the current one.
    with pytest.raises(InvalidInput, match="at least 8 characters"):
        await alice.auth.change_password("not it at all", "short")
    # Nothing changed: the old password still logs in.
    async with await _login(daemon, "alice") as again:
        assert (await again.auth.whoami()).user.username == "alice"


async def test_guessing_the_current_password_is_limited_like_logins(
    start_daemon: object,
) -> None:
    daemon: RunningDaemon = await start_daemon(login_max_failures=3)  # type: ignore[operator]
    async with await daemon.user("root"), await daemon.user("alice") as alice:
        # A weak new password is refused before the current one is looked at: no guess.
        for _ in range(3):
            with pytest.raises(InvalidInput):
                await alice.auth.change_password("a wrong guess", "short")
        for _ in range(3):
            with pytest.raises(Forbidden, match="current password is wrong"):
                await alice.auth.change_password("a wrong guess", NEW)
        with pytest.raises(RateLimited):
            await alice.auth.change_password(PASSWORD, NEW)


async def test_nobody_changes_a_password_without_a_login(
    daemon: RunningDaemon, anon: CoopeClient, alice: CoopeClient
) -> None:
    with pytest.raises(Unauthenticated):
        await anon.auth.change_password(PASSWORD, NEW)
    with pytest.raises(Unauthenticated):
        await anon.auth.set_display_name("Anon")


async def test_an_admin_resets_a_password_and_every_session_ends(
    daemon: RunningDaemon, admin: CoopeClient, alice: CoopeClient
) -> None:
    token = (await alice.tokens.create("bot")).token
    async with daemon.client(token) as bot, alice.events() as events:
        reset = await admin.admin.reset_password("@alice", NEW)
        assert (reset.action, reset.by, reset.user.username) == ("password_reset", "root", "alice")
        assert (reset.ended.sessions_ended, reset.ended.api_tokens_revoked) == (1, 0)
        with pytest.raises(Unauthenticated, match="reset by an admin"):
            async for _ in events:
                pass
        with pytest.raises(Unauthenticated):
            await alice.auth.whoami()
        assert (await bot.auth.whoami()).user.username == "alice", "tokens stay by default"
        again = await admin.admin.reset_password("alice", PASSWORD, revoke_tokens=True)
        assert again.ended.api_tokens_revoked == 1
        with pytest.raises(Unauthenticated, match="revoked"):
            await bot.auth.whoami()
    async with await _login(daemon, "alice") as back:
        assert await back.tokens.list() == []


async def test_only_admins_reset_passwords_and_not_their_own(
    daemon: RunningDaemon, admin: CoopeClient, alice: CoopeClient
) -> None:
    async with await daemon.user("bob") as bob:
        # A user, for another user, for themselves and for the admin.
        for target in ("bob", "alice", "root"):
            with pytest.raises(Forbidden, match="admin role"):
                await alice.admin.reset_password(target, NEW)
        assert (await bob.auth.whoami()).user.username == "bob", "nothing was ended"
    with pytest.raises(InvalidInput, match="that is you"):
        await admin.admin.reset_password("root", NEW)
    with pytest.raises(NotFound, match="nobody"):
        await admin.admin.reset_password("nobody", NEW)
    with pytest.raises(InvalidInput, match="at least 8"):
        await admin.admin.reset_password("alice", "short")
    assert (await alice.auth.whoami()).user.username == "alice", "a refused reset ends nothing"


async def test_display_names_your_own_and_by_an_admin(
    daemon: RunningDaemon, admin: CoopeClient, alice: CoopeClient
) -> None:
    async with alice.events() as events:
        user = await alice.auth.set_display_name("  Alice   Liddell ")
        assert (user.username, user.display_name) == ("alice", "Alice Liddell")
        assert (await next_event(events, "user.updated")).data.display_name == "Alice Liddell"
    assert (await alice.auth.whoami()).user.display_name == "Alice Liddell"
    listed = (await admin.admin.users(search="liddell")).users
    assert [(u.username, u.display_name) for u in listed] == [("alice", "Alice Liddell")]

    changed = await admin.admin.set_display_name("alice", "Alice L.")
    assert (changed.action, changed.by, changed.user.display_name) == (
        "display_name_set",
        "root",
        "Alice L.",
    )
    assert (await alice.auth.whoami()).user.display_name == "Alice L."
    with pytest.raises(Forbidden, match="admin role"):
        await alice.admin.set_display_name("root", "Not Root")
    with pytest.raises(Forbidden, match="admin role"):
        await alice.admin.set_display_name("alice", "Self via admin")
    with pytest.raises(NotFound):
        await admin.admin.set_display_name("nobody", "Nobody")
    assert (await admin.auth.whoami()).user.display_name == "root"


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "at least 1"),
        ("   ", "must show something"),
        ("\u200b\u200d", "must show something"),
        ("Deleted  USER", "deleted accounts"),
        ("x" * 65, "at most 64"),
        ("two\nlines", "control characters"),
        ("bell\x07", "control characters"),
        ("\u202eecilA", "control characters"),  # shown as "Alice" reversed
        ("Alice \u2066evil\u2069", "control characters"),  # an isolate
    ],
)
async def test_display_names_are_checked(alice: CoopeClient, name: str, problem: str) -> None:
    with pytest.raises(InvalidInput, match=problem):
        await alice.auth.set_display_name(name)
    assert (await alice.auth.whoami()).user.display_name == "alice"


_CHANGE = {"current_password": PASSWORD, "new_password": NEW}


@pytest.mark.parametrize(
    ("path", "valid", "field"),
    [
        ("/api/v1/account/password", _CHANGE, "current_password"),
        ("/api/v1/account/password", _CHANGE, "new_password"),
        ("/api/v1/account/name", {"display_name": "Root"}, "display_name"),
        ("/api/v1/admin/users/alice/password", {"new_password": NEW}, "new_password"),
        ("/api/v1/admin/users/alice/name", {"display_name": "Al"}, "display_name"),
        ("/api/v1/admin/users/alice/tokens", {"name": "bot"}, "name"),
    ],
)
async def test_hostile_bodies_are_refused(
    daemon: RunningDaemon,
    admin: CoopeClient,
    alice: CoopeClient,
    path: str,
    valid: dict[str, object],
    field: str,
) -> None:
    # Each body is a valid one with one thing made hostile, so that thing alone is refused.
    for body in hostile_bodies(valid, field):
        status, answer = await raw(daemon, "POST", path, admin, body)
        assert status in (400, 413, 422), (body if len(str(body)) < 200 else field, answer)
    status, _ = await raw(daemon, "POST", path, admin, data=b"{not json")
    assert status == 400
    status, _ = await raw(
        daemon,
        "POST",
        "/api/v1/admin/users/alice/password",
        admin,
        {"new_password": NEW, "revoke_tokens": "yes"},
    )
    assert status == 422, "revoke_tokens takes true or false only"
    assert (await alice.auth.whoami()).user.display_name == "alice"
    status, answer = await raw(daemon, "POST", path, admin, valid)
    assert status in (200, 201), ("the valid body itself is taken", answer)


async def test_an_admin_made_by_promotion_may_reset_and_a_demoted_one_may_not(
    admin: CoopeClient, alice: CoopeClient, daemon: RunningDaemon
) -> None:
    async with await daemon.user("bob") as bob:
        await admin.admin.set_role("alice", Role.ADMIN)
        await alice.admin.reset_password("bob", NEW)
        with pytest.raises(Unauthenticated):
            await bob.auth.whoami()
        await admin.admin.set_role("alice", Role.USER)
        with pytest.raises(Forbidden):
            await alice.admin.reset_password("bob", PASSWORD)
