"""More people for the daemon's tests: bob, carol and dave, each signed up after the last (and
all after `alice`), none a friend of anyone yet."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from coope.client import CoopeClient
from tests.helpers import RunningDaemon


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
