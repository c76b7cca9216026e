"""What the benchmarks share: throw-away `coope daemon` subprocesses on free ports, one or
several serving as one (on a throw-away PostgreSQL database and the local Redis)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg

LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
LOCAL_REDIS = "redis://127.0.0.1:6379/0"


def start_daemon(
    data_dir: Path, env: dict[str, str] | None = None, *args: str
) -> tuple[subprocess.Popen[str], str]:
    """Start `coope daemon` on a free loopback port; return the process and its URL."""
    cmd = [
        sys.executable,
        "-m",
        "coope",
        "daemon",
        "--port",
        "0",
        "--data-dir",
        str(data_dir),
        *args,
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "listening on " not in line:
        stop_daemon(proc)
        raise SystemExit(f"the daemon did not start (first line: {line!r})")
    return proc, line.split("listening on ", 1)[1].split()[0]


def stop_daemon(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    if proc.stdout is not None:
        proc.stdout.close()


@contextlib.contextmanager
def throwaway_database() -> Iterator[str]:
    """A fresh database on the local PostgreSQL server, dropped afterwards."""
    name = f"coope_bench_{os.getpid()}"
    with psycopg.connect(LOCAL_POSTGRES, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield LOCAL_POSTGRES.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(LOCAL_POSTGRES, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


def start_nodes(
    stack: contextlib.ExitStack, tmp: Path, nodes: int, database: str | None, redis: str
) -> list[str]:
    """`nodes` daemons serving as one, stopped when `stack` closes; their URLs. One node is on
    SQLite unless given `database`; several share `database` (default: a throw-away one) and
    `redis`."""
    shared: list[str] = []
    if nodes > 1 and database is None:
        database = stack.enter_context(throwaway_database())
    if database:
        shared += ["--database", database]
    if nodes > 1:
        shared += ["--redis", redis]
    urls = []
    for node in range(nodes):
        proc, url = start_daemon(tmp / f"node{node}", None, "--log-level", "warning", *shared)
        stack.callback(stop_daemon, proc)
        urls.append(url)
    return urls
