"""API tokens: created once, listed without secrets, usable as credentials, revocable."""

from __future__ import annotations

import pytest

from coope.client import CoopeClient
from coope.core.errors import InvalidInput, NotFound, Unauthenticated
from coope.core.models import AuthKind
from tests.helpers import RunningDaemon, sqlite_only


async def test_token_lifecycle(daemon: RunningDaemon, alice: CoopeClient) -> None:
    created = await alice.tokens.create("notes-bot", expires_in_days=30)
    assert created.token.startswith("coope_")
    assert created.token.startswith(created.info.prefix)
    assert created.info.expires_at is not None

    async with daemon.client(created.token) as bot:
        me = await bot.auth.whoami()
        assert (me.user.username, me.auth) == ("alice", AuthKind.API_TOKEN)

    listed = await alice.tokens.list()
    assert [t.name for t in listed] == ["notes-bot"]
    assert created.token not in listed[0].model_dump_json()
    assert listed[0].last_used_at is not None  # the whoami above was recorded

    await alice.tokens.revoke(created.info.id)
    assert await alice.tokens.list() == []
    async with daemon.client(created.token) as bot:
        with pytest.raises(Unauthenticated, match="revoked"):
            await bot.auth.whoami()


@sqlite_only
async def test_secret_is_stored_hashed(daemon: RunningDaemon, alice: CoopeClient) -> None:
    created = await alice.tokens.create("scripts")
    raw = (daemon.config.data_dir / "coope.db").read_bytes()
    wal = daemon.config.data_dir / "coope.db-wal"
    raw += wal.read_bytes() if wal.exists() else b""
    assert created.token.encode() not in raw
    assert created.info.prefix.encode() in raw


async def test_users_cannot_revoke_each_others_tokens(
    daemon: RunningDaemon, admin: CoopeClient, alice: CoopeClient
) -> None:
    created = await alice.tokens.create("mine")
    with pytest.raises(NotFound):
        await admin.tokens.revoke(created.info.id)
    assert [t.id for t in await alice.tokens.list()] == [created.info.id]
    assert await admin.tokens.list() == []


async def test_expired_token_stops_working(start_daemon) -> None:
    daemon = await start_daemon(manual_clock=True)
    async with await daemon.user("kim") as kim:
        created = await kim.tokens.create("short-lived", expires_in_days=1)
        async with daemon.client(created.token) as bot:
            assert (await bot.auth.whoami()).user.username == "kim"
            daemon.clock.advance(24 * 3600 + 1)
            with pytest.raises(Unauthenticated, match="expired"):
                await bot.auth.whoami()


async def test_an_api_token_cannot_log_out(daemon: RunningDaemon, alice: CoopeClient) -> None:
    from coope.core.errors import Forbidden

    created = await alice.tokens.create("bot")
    async with daemon.client(created.token) as bot:
        with pytest.raises(Forbidden, match="logout ends a session"):
            await bot.auth.logout()
        assert (await bot.auth.whoami()).auth is AuthKind.API_TOKEN


@pytest.mark.parametrize(("name", "days"), [("", None), ("x" * 65, None), ("ok", 0), ("ok", 3651)])
async def test_bad_token_requests_are_refused(
    alice: CoopeClient, name: str, days: int | None
) -> None:
    with pytest.raises(InvalidInput):
        await alice.tokens.create(name, expires_in_days=days)
    assert await alice.tokens.list() == []


async def test_revoking_an_unknown_token_is_not_found(alice: CoopeClient) -> None:
    with pytest.raises(NotFound, match="12345"):
        await alice.tokens.revoke(12345)
