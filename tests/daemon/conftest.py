"""More people for the daemon's tests: bob, carol and dave, each signed up after the last (and
all after `alice`), none a friend of anyone yet."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from coope.client import CoopeClient
from tests.helpers import RunningDaemon
from tests.tools import forget_redis_prefix, redis_bus


@pytest.fixture(params=["sqlite", "postgres"])
def storage_backend(request: pytest.FixtureRequest) -> str:
    """The daemon's tests are the storage contract: each runs on both backends (a test that
    reads the SQLite file itself names `sqlite` alone, with `sqlite_only`)."""
    return str(request.param)


@pytest.fixture
async def bob(daemon: RunningDaemon, alice: CoopeClient) -> AsyncIterator[CoopeClient]:
    async with await daemon.user("bob") as client:
        yield client


@pytest.fixture
async def carol(daemon: RunningDaemon, bob: CoopeClient) -> AsyncIterator[CoopeClient]:
    async with await daemon.user("carol") as client:
        yield client


@pytest.fixture
async def dave(daemon: RunningDaemon, carol: CoopeClient) -> AsyncIterator[CoopeClient]:
    async with await daemon.user("dave") as client:
        yield client


@pytest.fixture
async def service_prefix() -> AsyncIterator[str]:
    """What one test's service keeps in Redis begins with (skips without Redis); forgotten
    after the test (asked for before `start_daemon`, so after its daemons stop)."""
    await (await redis_bus()).aclose()  # skips without Redis, fails under COOPE_REQUIRE_ALL
    prefix = f"coope-test-{uuid.uuid4().hex}:"
    yield prefix
    await forget_redis_prefix(prefix)
