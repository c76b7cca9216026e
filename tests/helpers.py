"""Shared test helpers: a daemon in-process, a daemon as a subprocess, polling instead of sleeps."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from aiohttp import web

from coope.client import CoopeClient, EventStream
from coope.core.schemas import Event
from coope.daemon.clock import ManualClock
from coope.daemon.config import DaemonConfig

PASSWORD = "correct horse battery"


@dataclass
class RunningDaemon:
    url: str
    app: web.Application
    config: DaemonConfig
    clock: ManualClock | None

    def client(self, token: str | None = None) -> CoopeClient:
        return CoopeClient(self.url, token)

    async def user(self, username: str, password: str = PASSWORD) -> CoopeClient:
        """A client logged in as a new account (the daemon's first account is its admin)."""
        client = self.client()
        await client.auth.signup(username, password)
        return client


async def assert_eventually(
    condition: Callable[[], bool | Awaitable[bool]], timeout: float = 5.0, interval: float = 0.02
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)


class DaemonProcess:
    """`coope daemon` as a real subprocess on a free loopback port."""

    def __init__(self, data_dir: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.args = args
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        # The log goes to a file: a pipe nobody reads would stall a busy daemon once it filled.
        self.log_path = data_dir.parent / f"{data_dir.name}.log"
        self._log: IO[str] | None = None

    def start(self, timeout: float = 20.0) -> DaemonProcess:
        cmd = [
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


async def next_event(events: EventStream, *types: str, timeout: float = 5.0) -> Event:
    """The next event of one of `types`, skipping others (presence, typing...) on the way."""

    async def find() -> Event:
        async for event in events:
            if event.type in types:
                return event
        raise AssertionError(f"the event stream ended before a {types} event")

    return await asyncio.wait_for(find(), timeout)
