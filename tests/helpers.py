"""Shared test helpers: a daemon in-process, a daemon as a subprocess, polling instead of sleeps."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest
from aiohttp import web

from coope.client import CoopeClient, EventStream
from coope.core.events import Event
from coope.daemon.clock import ManualClock
from coope.daemon.config import DaemonConfig
from coope.daemon.http.keys import STORAGE

PASSWORD = "correct horse battery"

# A daemon test that reads the SQLite file itself: it runs on that backend alone.
sqlite_only = pytest.mark.parametrize("storage_backend", ["sqlite"])


@dataclass
class RunningDaemon:
    url: str
    app: web.Application
    config: DaemonConfig
    clock: ManualClock | None

    def client(self, token: str | None = None) -> CoopeClient:
        return CoopeClient(self.url, token)

    async def sql(self, query: str, *params: object) -> list[tuple[Any, ...]]:
        """Run one statement on the daemon's own database, whichever the engine (`?` for each
        parameter), and return its rows: for tests that look behind the API's back."""

        def run(conn: Any) -> list[tuple[Any, ...]]:
            cursor = conn.execute(query, params)
            return [tuple(row) for row in cursor.fetchall()] if cursor.description else []

        rows: list[tuple[Any, ...]] = await self.app[STORAGE].db.write(run)  # type: ignore[attr-defined]
        return rows

    async def user(self, username: str, password: str = PASSWORD) -> CoopeClient:
        """A client logged in as a new account (the daemon's first account is its admin)."""
        client = self.client()
        await client.auth.signup(username, password)
        return client


# How long a wait for something that should happen soon may take before the test fails. Only a
# failing test ever waits this long, so it is sized for a shared machine several times slower
# than a quiet one, not for the time things usually take.
PATIENCE_S = 15.0


class _Deadline:
    """The one budget and failure message behind `eventually` and `assert_eventually`."""

    def __init__(self, timeout: float, what: str) -> None:
        self.timeout, self.what = timeout, what
        self.end = time.monotonic() + timeout

    def check(self) -> None:
        if time.monotonic() > self.end:
            raise AssertionError(f"not within {self.timeout} s: {self.what or 'the condition'}")


def eventually(condition: Callable[[], bool], timeout: float = PATIENCE_S, what: str = "") -> None:
    """Poll `condition` until it holds; fail after `timeout` seconds, saying `what`.

    For tests that run no event loop (subprocesses, files); async tests use `assert_eventually`.
    """
    deadline = _Deadline(timeout, what)
    while not condition():
        deadline.check()
        time.sleep(0.05)


async def assert_eventually(
    condition: Callable[[], bool | Awaitable[bool]],
    timeout: float = PATIENCE_S,
    what: str = "",
    interval: float = 0.02,
) -> None:
    """Poll `condition` (a function or a coroutine function) until it holds, letting the event
    loop run in between; fail after `timeout` seconds, saying `what`."""
    deadline = _Deadline(timeout, what)
    while True:
        result = condition()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return
        deadline.check()
        await asyncio.sleep(interval)


# How a shell without job control (a script) starts `cmd &`: with SIGINT ignored, which exec
# keeps. A command prefix, for tests of what a process started that way does with Ctrl-C.
AS_BACKGROUND_JOB = ("sh", "-c", 'trap "" INT; exec "$@"', "sh")


class DaemonProcess:
    """`coope daemon` as a real subprocess on a free loopback port."""

    def __init__(
        self,
        data_dir: Path,
        *args: str,
        env: dict[str, str] | None = None,
        launcher: Sequence[str] = (),
    ) -> None:
        self.data_dir = data_dir
        self.args = args
        self.launcher = tuple(launcher)
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        # The log goes to a file: a pipe nobody reads would stall a busy daemon once it filled.
        self.log_path = data_dir.parent / f"{data_dir.name}.log"
        self._log: IO[str] | None = None

    def start(self, timeout: float = 20.0) -> DaemonProcess:
        cmd = [
            *self.launcher,
            sys.executable,
            "-m",
            "coope",
            "daemon",
            "--port",
            "0",
            "--data-dir",
            str(self.data_dir),
            "--json",
            *self.args,
        ]
        self._log = open(self.log_path, "a")  # closed in _reap
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=self._log, text=True, env=self.env
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        line = ""
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if "listening on" in line or not line:
                break
        if "listening on " not in line:
            self.kill()
            raise AssertionError(f"daemon did not start: {self.stderr_text()}")
        self.url = line.split("listening on ", 1)[1].split()[0]
        return self

    @contextmanager
    def running(self) -> Iterator[DaemonProcess]:
        """Started for the block, and stopped by its process id after it, whatever happens."""
        self.start()
        try:
            yield self
        finally:
            try:
                self.terminate()
            finally:
                self.kill()

    def stderr_text(self) -> str:
        """Everything the daemon logged so far (JSON lines)."""
        return self.log_path.read_text() if self.log_path.exists() else ""

    def terminate(self, timeout: float = 20.0) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self._reap(timeout)

    def kill(self) -> None:
        """SIGKILL if still running; always reap the process and close its files."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
        self._reap(10)

    def _reap(self, timeout: float) -> int:
        assert self.proc is not None
        code = self.proc.wait(timeout)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        if self._log is not None and not self._log.closed:
            self._log.close()
        return code


async def next_event(events: EventStream, *types: str, timeout: float = PATIENCE_S) -> Event:
    """The next event of one of `types`, skipping others (presence, typing...) on the way."""

    async def find() -> Event:
        async for event in events:
            if event.type in types:
                return event
        raise AssertionError(f"the event stream ended before a {types} event")

    return await asyncio.wait_for(find(), timeout)
