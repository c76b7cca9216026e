"""External tools and servers some tests need (Node.js, Chromium, espeak-ng, Redis...): skip
without them, or fail.

A developer without a tool gets a skip with the reason; CI sets `COOPE_REQUIRE_ALL=1`, where a
missing tool is a failure, so that a broken setup cannot pass as a green run full of skips.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import psycopg
import pytest
import redis.asyncio as redis
from redis.exceptions import RedisError

from coope.daemon.bus_redis import RedisBus


def require_tool(name: str, path: str | Path | None = None, *, hint: str = "") -> Path:
    """The tool's path; skips the calling test if it is missing (fails under COOPE_REQUIRE_ALL=1).

    Args:
        name: An executable looked up on PATH, or what `path` is, for the message.
        path: A file or directory that must exist instead of a PATH lookup (installed packages,
            a browser in a known place...).
        hint: How to get the tool, appended to the message.
    """
    found = shutil.which(name) if path is None else (str(path) if Path(path).exists() else None)
    if found is not None:
        return Path(found)
    where = "on PATH" if path is None else f"at {path}"
    missing(f"{name} not found {where}" + (f"; {hint}" if hint else ""))


def missing(message: str) -> NoReturn:
    """Skip the calling test for want of a tool or a server (fail under COOPE_REQUIRE_ALL=1)."""
    if os.environ.get("COOPE_REQUIRE_ALL") == "1":
        pytest.fail(f"{message} (COOPE_REQUIRE_ALL=1: every tool is required)", pytrace=False)
    pytest.skip(message)


REDIS_URL = os.environ.get("COOPE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


async def redis_bus(*, prefix: str | None = None, max_pending: int = 1000) -> RedisBus:
    """A Redis event bus on the test Redis server (COOPE_TEST_REDIS_URL), with a prefix of its
    own unless given one; skips without Redis (fails under COOPE_REQUIRE_ALL=1)."""
    client = redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        missing(f"no Redis server at {REDIS_URL} ({exc}); set COOPE_TEST_REDIS_URL")
    finally:
        await client.aclose()
    prefix = prefix or f"coope-test-{uuid.uuid4().hex}:"
    return RedisBus(REDIS_URL, prefix=prefix, max_pending=max_pending)


class TcpLink:
    """A TCP proxy between a daemon and a server it uses (`url`, the server's own URL with the
    proxy's port): it can hold back what the daemon sends (a slow network), freeze both ways (a
    server that stopped answering) or refuse and cut every connection (a server that is gone)."""

    def __init__(self, server_url: str, default_port: int) -> None:
        self._server = urlsplit(server_url)
        self._target = (self._server.hostname or "127.0.0.1", self._server.port or default_port)
        self.delay_s = 0.0
        self.refusing = False
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._writers: list[asyncio.StreamWriter] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.url = ""

    async def __aenter__(self) -> TcpLink:
        self._listener = await asyncio.start_server(self._link, "127.0.0.1", 0)
        port = self._listener.sockets[0].getsockname()[1]
        userinfo, _, _ = self._server.netloc.rpartition("@")
        address = f"127.0.0.1:{port}"
        self.url = self._server._replace(
            netloc=f"{userinfo}@{address}" if userinfo else address
        ).geturl()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._listener.close()
        self.cut()
        self.thaw()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._listener.wait_closed()

    def freeze(self) -> None:
        self._flowing.clear()

    def thaw(self) -> None:
        self._flowing.set()

    def cut(self) -> None:
        for writer in self._writers:
            writer.close()
        self._writers.clear()

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refusing:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.close()
            return
        self._writers += [writer, up_writer]
        for task in (
            asyncio.create_task(self._pump(reader, up_writer, upward=True)),
            asyncio.create_task(self._pump(up_reader, writer, upward=False)),
        ):
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, upward: bool
    ) -> None:
        try:
            while data := await reader.read(65536):
                await self._flowing.wait()
                if upward and self.delay_s:
                    # The fault this proxy is for: the daemon's commands reach the server late.
                    await asyncio.sleep(self.delay_s)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()


async def forget_redis_prefix(prefix: str) -> None:
    """Delete what a test's daemons kept in the test Redis under `prefix` (failed logins, who
    is online), which would otherwise only expire in its own time."""
    client = redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


def redis_link() -> TcpLink:
    """A link to the test Redis (`TcpLink`)."""
    return TcpLink(REDIS_URL, 6379)


def postgres_link(url: str) -> TcpLink:
    """A link to the test PostgreSQL server for a daemon's database `url` (`TcpLink`)."""
    return TcpLink(url, 5432)


POSTGRES_URL = os.environ.get(
    "COOPE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


class PostgresServer:
    """A throwaway database on the test PostgreSQL server (COOPE_TEST_POSTGRES_URL), made for
    one test session and dropped after it; each daemon gets a schema of its own in it."""

    def __init__(self) -> None:
        self.name = f"coope_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        self._created = False

    def _admin(self) -> psycopg.Connection[Any]:
        return psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5)

    def create(self) -> None:
        try:
            with self._admin() as conn:
                conn.execute(f'CREATE DATABASE "{self.name}"')
        except psycopg.OperationalError as exc:
            missing(f"no PostgreSQL server at {POSTGRES_URL} ({exc}); set COOPE_TEST_POSTGRES_URL")
        self._created = True

    def drop(self) -> None:
        if self._created:
            with self._admin() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def url(self, schema: str) -> str:
        """The database with `schema` first on the search path (made if missing)."""
        base = urlsplit(POSTGRES_URL)._replace(path=f"/{self.name}").geturl()
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        return f"{base}?options=-csearch_path%3D{schema}%2Cpublic"
