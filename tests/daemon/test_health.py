"""`/api/v1/health` speaks for the servers the daemon stands on, and a daemon that loses one
answers 503 meanwhile and comes back by itself when it returns."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from coope.client import CoopeClient
from coope.core.errors import Unavailable
from coope.daemon.bus_redis import RedisBus
from tests.conftest import DaemonFactory
from tests.helpers import PASSWORD, RunningDaemon, assert_eventually, sqlite_only
from tests.tools import PostgresServer, TcpLink, postgres_link, redis_bus, redis_link


async def test_health_names_the_database_and_the_bus(
    daemon: RunningDaemon, anon: CoopeClient, storage_backend: str
) -> None:
    health = await anon.health()
    assert health.status == "ok"
    assert health.database == {"sqlite": "sqlite", "postgres": "postgresql"}[storage_backend]
    assert health.events == "in-process"


async def _answers(client: CoopeClient) -> bool:
    try:
        await client.health()
    except Unavailable:
        return False
    return True


@pytest.fixture
async def database_link(postgres: PostgresServer) -> AsyncIterator[TcpLink]:
    """A link to a database of its own, to be cut; asked for before `start_daemon`, so that the
    daemon stops before the link does."""
    url = await asyncio.to_thread(postgres.url, f"lost_{uuid.uuid4().hex[:12]}")
    async with postgres_link(url) as link:
        yield link


@pytest.mark.parametrize("storage_backend", ["postgres"])
async def test_a_daemon_whose_database_is_gone_answers_503_and_recovers(
    database_link: TcpLink, start_daemon: DaemonFactory
) -> None:
    link = database_link
    daemon = await start_daemon(database_url=link.url)
    async with await daemon.user("alice") as alice, daemon.client() as anon:
        room = await alice.chat.create_room("general", [])
        link.refusing = True
        link.cut()
        with pytest.raises(Unavailable, match="database"):
            await anon.health()
        with pytest.raises(Unavailable, match="database"):
            await alice.chat.send(room.id, "while the database is gone")
        link.refusing = False
        await assert_eventually(lambda: _answers(anon), what="health answers again")
        sent = await alice.chat.send(room.id, "after")
        assert [m.body for m in (await alice.chat.history(room.id)).messages] == [sent.body]
    # Logins work again too: nothing of the outage stays behind.
    async with daemon.client() as again:
        await again.auth.login("alice", PASSWORD)


@sqlite_only
async def test_a_daemon_whose_redis_is_gone_answers_503_and_recovers(
    start_daemon: DaemonFactory,
) -> None:
    await (await redis_bus()).aclose()  # skips without Redis
    async with redis_link() as link:
        daemon = await start_daemon(bus=RedisBus(link.url, dead_after_s=2.0))
        async with daemon.client() as anon:
            assert (await anon.health()).events == "redis"
            link.refusing = True
            link.cut()
            with pytest.raises(Unavailable, match="Redis"):
                await anon.health()
            link.refusing = False
            await assert_eventually(lambda: _answers(anon), what="health answers again")
