"""The storage alone, SQLite against PostgreSQL: transactions a second, no HTTP, no events.

    .venv/bin/python scripts/bench_storage.py [--writers 100] [--seconds 5]
                                              [--postgres postgresql://postgres@127.0.0.1/postgres]

`--writers` tasks each post messages into one of 50 rooms (`post_message`: a durable write of a
few statements) for `--seconds`, then as many read rooms (`get_room`: one statement in a read
transaction) for as long. SQLite runs on a file in a temp dir; PostgreSQL on a throw-away
database made on the server `--postgres` names and dropped after. Prints each figure and the
PostgreSQL/SQLite ratio: the cost of a shared database against the embedded one, on this
machine (where the server shares the cores with the benchmark).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import psycopg

from coope.core.models import Role
from coope.daemon.storage import NewUser, Storage
from coope.daemon.storage.postgres import PostgresStorage
from coope.daemon.storage.sqlite import SqliteStorage

ROOMS = 50


async def rate(tasks: int, seconds: float, step: Callable[[int, int], Awaitable[object]]) -> float:
    """Calls of `step(task, n)` a second, from `tasks` tasks at once for `seconds`."""
    done = 0
    stop = time.perf_counter() + seconds

    async def task(t: int) -> None:
        nonlocal done
        n = 0
        while time.perf_counter() < stop:
            await step(t, n)
            n += 1
            done += 1

    start = time.perf_counter()
    await asyncio.gather(*(task(t) for t in range(tasks)))
    return done / (time.perf_counter() - start)


async def measure(storage: Storage, args: argparse.Namespace) -> tuple[float, float]:
    await storage.start()
    try:
        users = [
            await storage.create_user(NewUser(f"user{i}", "User", "x", Role.USER, 1.0))
            for i in range(ROOMS)
        ]
        rooms = [await storage.create_group(users[i].id, f"room{i}", [], 1.0) for i in range(ROOMS)]

        async def post(t: int, n: int) -> None:
            room, author = rooms[t % ROOMS], users[t % ROOMS]
            await storage.post_message(room.id, author.id, f"{t}-{n}", "hello", None, 2.0)

        async def read(t: int, n: int) -> None:
            await storage.get_room(rooms[t % ROOMS].id)

        writes = await rate(args.writers, args.seconds, post)
        reads = await rate(args.writers, args.seconds, read)
    finally:
        await storage.aclose()
    return writes, reads


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--writers", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    name = f"coope_bench_storage_{os.getpid()}"
    with tempfile.TemporaryDirectory() as tmp:
        lite = await measure(SqliteStorage(Path(tmp) / "coope.db"), args)
    with psycopg.connect(args.postgres, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        url = args.postgres.rsplit("/", 1)[0] + f"/{name}"
        pg = await measure(PostgresStorage(url), args)
    finally:
        with psycopg.connect(args.postgres, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
    print(f"{args.writers} tasks at once, {args.seconds:g} s each")
    print(f"{'':12} {'post_message/s':>15} {'get_room/s':>12}")
    print(f"{'sqlite':12} {lite[0]:15,.0f} {lite[1]:12,.0f}")
    print(f"{'postgresql':12} {pg[0]:15,.0f} {pg[1]:12,.0f}")
    print(f"{'ratio':12} {pg[0] / lite[0]:15.2f} {pg[1] / lite[1]:12.2f}")


if __name__ == "__main__":
    asyncio.run(main())
