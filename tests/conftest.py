"""Fixtures: a real daemon on an ephemeral loopback port with a temp data dir."""

from __future__ import annotations

import asyncio
import hashlib
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from coope.client import CoopeClient
from coope.daemon.app import create_app
from coope.daemon.bus import EventBus
from coope.daemon.clock import ManualClock
from coope.daemon.config import DaemonConfig
from tests.helpers import DaemonProcess, RunningDaemon, assert_eventually
from tests.tools import PostgresServer

DaemonFactory = Callable[..., Awaitable[RunningDaemon]]


def _ignore_sigint(signum: int, frame: object) -> None:
    """SIGINT, still ignored by the run itself, as a handler rather than SIG_IGN."""


def pytest_configure(config: pytest.Config) -> None:
    """Every process a test starts begins with the default SIGINT disposition.

    A script that runs the suite as `scripts/test &` (no job control) starts it with SIGINT
    ignored, and an ignored signal stays ignored across fork and exec: each daemon and `coope`
    a test interrupts would inherit that. A handler, unlike SIG_IGN, is reset to the default on
    exec, and this one keeps the run itself ignoring Ctrl-C as it was started to.
    """
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, _ignore_sigint)


@pytest.fixture(autouse=True)
async def fail_on_leaked_tasks() -> AsyncIterator[None]:
    """Every task a test starts must be finished by the time its fixtures are torn down."""
    before = asyncio.all_tasks()
    yield
    current = asyncio.current_task()

    def leaked() -> set[asyncio.Task[Any]]:
        return {t for t in asyncio.all_tasks() - before if t is not current and not t.done()}

    # Tasks cancelled during teardown get a few loop turns (more on a busy machine) to finish.
    try:
        await assert_eventually(lambda: not leaked(), timeout=5, what="no task left running")
    except AssertionError:
        pytest.fail(f"tasks leaked by the test: {leaked()}")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL database for the session (skips without a server; fails under
    COOPE_REQUIRE_ALL=1)."""
    server = PostgresServer()
    server.create()
    yield server
    server.drop()


@pytest.fixture
def storage_backend() -> str:
    """Where daemons started by `start_daemon` store: SQLite in their data dir, unless a
    package's conftest runs its tests on PostgreSQL too (`tests/daemon/conftest.py`)."""
    return "sqlite"


@pytest.fixture
async def start_daemon(
    tmp_path: Path, storage_backend: str, request: pytest.FixtureRequest
) -> AsyncIterator[DaemonFactory]:
    """Start daemons with config overrides (and, with `manual_clock=True`, a movable clock;
    with `bus=`, that event bus)."""
    runners: list[web.AppRunner] = []
    server: PostgresServer | None = (
        request.getfixturevalue("postgres") if storage_backend == "postgres" else None
    )

    async def start(
        *, manual_clock: bool = False, bus: EventBus | None = None, **overrides: Any
    ) -> RunningDaemon:
        # Daemons given one data dir share its database and signing secret, as nodes would.
        data_dir = overrides.pop("data_dir", None) or tmp_path / f"daemon{len(runners)}"
        if server is not None and "database_url" not in overrides:
            # One schema per data dir: daemons sharing a data dir share a database, as above.
            schema = "d_" + hashlib.sha1(str(data_dir).encode()).hexdigest()[:20]
            overrides["database_url"] = await asyncio.to_thread(server.url, schema)
        # Cheap password hashing unless a test asks otherwise: the suite creates many accounts,
        # and the cost setting does not change what is checked.
        overrides.setdefault("scrypt_log2_n", 10)
        config = DaemonConfig(data_dir=data_dir, host="127.0.0.1", port=0, **overrides)
        clock = ManualClock() if manual_clock else None
        app = create_app(config, bus=bus, clock=clock)
        runner = web.AppRunner(app, handle_signals=False)
        await runner.setup()
        runners.append(runner)
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        port = runner.addresses[0][1]
        return RunningDaemon(f"http://127.0.0.1:{port}", app, config, clock)

    yield start
    for runner in reversed(runners):
        await runner.cleanup()


@pytest.fixture
async def daemon(start_daemon: DaemonFactory) -> RunningDaemon:
    return await start_daemon()


@pytest.fixture
async def anon(daemon: RunningDaemon) -> AsyncIterator[CoopeClient]:
    """A client with no credentials."""
    async with daemon.client() as client:
        yield client


@pytest.fixture
async def admin(daemon: RunningDaemon) -> AsyncIterator[CoopeClient]:
    """The daemon's first account, hence its admin."""
    async with await daemon.user("root") as client:
        yield client


@pytest.fixture
async def alice(daemon: RunningDaemon, admin: CoopeClient) -> AsyncIterator[CoopeClient]:
    """An ordinary user (created after `admin`, so not an admin)."""
    async with await daemon.user("alice") as client:
        yield client


@pytest.fixture
def daemons() -> Iterator[list[DaemonProcess]]:
    """Daemon subprocesses a test starts (and kills, restarts...): whatever still runs at
    teardown is killed by its process id."""
    started: list[DaemonProcess] = []
    yield started
    for daemon in started:
        daemon.kill()


@pytest.fixture(scope="module")
def call_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A daemon subprocess offering call media on loopback, where processes can reach it."""
    daemon = DaemonProcess(tmp_path_factory.mktemp("daemon") / "data", "--ice-host", "127.0.0.1")
    with daemon.running():
        yield daemon.url
