"""PostgreSQL engine: the query layer's transactions on pools of threads, one connection each.

The transactions in `storage/sql/` are plain synchronous functions of a connection, written with
SQLite's `?` placeholders. Here each runs on a thread of its own pool (writes and reads apart, so
a burst of reads never starves writes), on that thread's psycopg connection wrapped as `PgConn`,
which speaks `?` and gives rows read by position or by name. The event loop never waits on the
server.

Writes run at READ COMMITTED, each in its own transaction committed before the caller is
answered (PostgreSQL's commit is durable), and are tried again, from the start, when the server
gives up on one for a conflict with another writer: a serialization failure, a deadlock, or a
unique violation the transaction did not turn into an answer itself (two nodes inserting the
same row at once; the next try finds it). Reads run at REPEATABLE READ, READ ONLY: one snapshot
per read, however many statements it takes.

A server that cannot be reached gives `Unavailable` (503). A connection found broken is dropped;
the next transaction on that thread connects again, so the daemon recovers by itself.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from importlib import resources
from typing import Any, TypeVar

import psycopg
from psycopg import errors as pg_errors
from psycopg import pq
from psycopg.adapt import Dumper

from coope.core.errors import Unavailable

log = logging.getLogger(__name__)

T = TypeVar("T")

WRITE_TRIES = 5
# Every schema change runs under this lock, so nodes starting together apply each one once.
_MIGRATION_LOCK = 0x636F6F7065  # "coope"
_CONFLICTS = (pg_errors.SerializationFailure, pg_errors.DeadlockDetected, pg_errors.UniqueViolation)


class PgRow:
    """A result row: `row[0]` or `row["column"]`, like `sqlite3.Row`."""

    __slots__ = ("_names", "_values")

    def __init__(self, values: Sequence[Any], names: dict[str, int]) -> None:
        self._values = values
        self._names = names

    def __getitem__(self, key: int | str) -> Any:
        return self._values[self._names[key] if isinstance(key, str) else key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


def _row_factory(cursor: Any) -> Callable[[Sequence[Any]], PgRow]:
    names = {column.name: i for i, column in enumerate(cursor.description or ())}
    return lambda values: PgRow(values, names)


class _FlagDumper(Dumper):
    """True and False as 1 and 0: flags are whole numbers, as in SQLite."""

    oid = psycopg.adapters.types["int8"].oid

    def dump(self, obj: Any) -> bytes:
        return b"1" if obj else b"0"


@functools.lru_cache(maxsize=2048)
def pg_sql(sql: str) -> str:
    """The query with psycopg's placeholders: `?` outside quotes becomes `%s`, and a literal `%`
    is doubled."""
    out: list[str] = []
    quote: str | None = None
    for char in sql:
        if quote is not None:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "?":
            out.append("%s")
            continue
        out.append("%%" if char == "%" else char)
    return "".join(out)


class PgConn:
    """A psycopg connection with the query layer's `?` placeholders, for the length of one
    transaction."""

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.raw = raw

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> psycopg.Cursor[Any]:
        return self.raw.execute(pg_sql(sql), parameters)

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> psycopg.Cursor[Any]:
        cursor = self.raw.cursor()
        cursor.executemany(pg_sql(sql), parameters)
        return cursor

    @contextmanager
    def unique_or(self, conflict: Callable[[], Exception]) -> Iterator[None]:
        # A savepoint: an error aborts the whole transaction otherwise, and the caller may
        # still read after the conflict.
        self.raw.execute("SAVEPOINT unique_or")
        try:
            yield
        except pg_errors.UniqueViolation as exc:
            self.raw.execute("ROLLBACK TO SAVEPOINT unique_or")
            raise conflict() from exc
        self.raw.execute("RELEASE SAVEPOINT unique_or")

    def lock(self, key: str) -> None:
        self.raw.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (key,))


def _answer(conn: PgConn) -> None:
    conn.execute("SELECT 1").fetchone()


def _connect(url: str) -> psycopg.Connection[Any]:
    try:
        raw: psycopg.Connection[Any] = psycopg.connect(
            url,
            autocommit=True,
            row_factory=_row_factory,
            connect_timeout=10,
            # A server gone without closing the connection (a host off the network) is noticed
            # within about 20 s, instead of the system's 15 minutes.
            keepalives=1,
            keepalives_idle=10,
            keepalives_interval=5,
            keepalives_count=2,
            tcp_user_timeout=20_000,
        )
    except psycopg.OperationalError as exc:
        raise Unavailable(f"the database cannot be reached: {_reason(exc)}") from exc
    raw.adapters.register_dumper(bool, _FlagDumper)
    return raw


def _reason(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _migrations() -> list[tuple[int, str]]:
    folder = resources.files("coope.daemon.storage.postgres.migrations")
    return sorted(
        (int(f.name.split("_", 1)[0]), f.name) for f in folder.iterdir() if f.name.endswith(".sql")
    )


def apply_migrations(raw: psycopg.Connection[Any]) -> int:
    """Apply the numbered `migrations/NNNN_name.sql` files the database has not seen yet, each
    in one transaction under a lock shared by every node; return the version it is at."""
    version = 0
    folder = resources.files("coope.daemon.storage.postgres.migrations")
    for number, name in _migrations():
        with raw.transaction():
            raw.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            raw.execute("CREATE TABLE IF NOT EXISTS coope_schema (version bigint NOT NULL)")
            row = raw.execute("SELECT version FROM coope_schema").fetchone()
            version = int(row[0]) if row else 0
            if version >= number:
                continue
            log.info("applying migration", extra={"migration": name})
            raw.execute(folder.joinpath(name).read_text())  # no parameters: a whole script
            if row is None:
                raw.execute("INSERT INTO coope_schema (version) VALUES (%s)", (number,))
            else:
                raw.execute("UPDATE coope_schema SET version = %s", (number,))
            version = number
    return version


class PostgresDatabase:
    """A PostgreSQL database behind the daemon. `start()` migrates it, `aclose()` closes every
    connection once the transactions under way are done."""

    def __init__(self, url: str, *, writers: int = 16, readers: int = 8) -> None:
        self.url = url
        self._writers = writers
        self._readers = readers
        self._write_pool: ThreadPoolExecutor | None = None
        self._read_pool: ThreadPoolExecutor | None = None
        # Health checks on a thread (hence a connection) of their own: a busy read pool is not
        # a database gone.
        self._check_pool: ThreadPoolExecutor | None = None
        self._local = threading.local()
        self._conns: set[psycopg.Connection[Any]] = set()
        self._conns_lock = threading.Lock()
        self._closed = False

    async def start(self) -> None:
        def migrate() -> None:
            raw = _connect(self.url)
            try:
                apply_migrations(raw)
            finally:
                raw.close()

        await asyncio.to_thread(migrate)
        self._write_pool = ThreadPoolExecutor(self._writers, thread_name_prefix="coope-pg-write")
        self._read_pool = ThreadPoolExecutor(self._readers, thread_name_prefix="coope-pg-read")
        self._check_pool = ThreadPoolExecutor(1, thread_name_prefix="coope-pg-check")

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(conn, *args)` in a transaction; return once it is committed."""
        return await self._run(self._write_pool, self._run_write, fn, args)

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(conn, *args)` in a read-only snapshot."""
        return await self._run(self._read_pool, self._run_read, fn, args)

    async def check(self) -> None:
        await self._run(self._check_pool, self._run_read, _answer, ())

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        for pool in (self._write_pool, self._read_pool, self._check_pool):
            if pool is not None:
                await asyncio.to_thread(pool.shutdown, wait=True)
        with self._conns_lock:
            for raw in self._conns:
                raw.close()
            self._conns.clear()

    async def _run(
        self,
        pool: ThreadPoolExecutor | None,
        runner: Callable[[Callable[..., T], tuple[Any, ...]], T],
        fn: Callable[..., T],
        args: tuple[Any, ...],
    ) -> T:
        if self._closed:
            raise RuntimeError("database is closed")
        if pool is None:
            raise RuntimeError("database is not started")
        return await asyncio.get_running_loop().run_in_executor(pool, runner, fn, args)

    # --- threads ---------------------------------------------------------------------------

    def _conn(self) -> psycopg.Connection[Any]:
        raw: psycopg.Connection[Any] | None = getattr(self._local, "conn", None)
        if raw is None or raw.closed:
            raw = _connect(self.url)
            self._local.conn = raw
            with self._conns_lock:
                self._conns.add(raw)
        return raw

    def _drop(self, raw: psycopg.Connection[Any]) -> None:
        self._local.conn = None
        with self._conns_lock:
            self._conns.discard(raw)
        raw.close()

    @staticmethod
    def _rollback(raw: psycopg.Connection[Any]) -> None:
        if not raw.broken and raw.info.transaction_status != pq.TransactionStatus.IDLE:
            raw.execute("ROLLBACK")

    def _run_write(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        for attempt in range(1, WRITE_TRIES + 1):
            raw = self._conn()
            committing = False
            try:
                raw.execute("BEGIN")
                result = fn(PgConn(raw), *args)
                committing = True
                raw.execute("COMMIT")
                return result
            except _CONFLICTS as exc:
                raw.execute("ROLLBACK")
                if attempt == WRITE_TRIES:
                    raise
                log.debug("write conflict, trying again", extra={"reason": _reason(exc)})
            except psycopg.OperationalError as exc:
                if not raw.broken:
                    self._rollback(raw)
                    raise
                self._drop(raw)
                # Lost before the COMMIT went out (most often a connection that broke while it
                # sat idle: a server restart), nothing was written and a new connection may try
                # again. Lost during the COMMIT, whether it took effect cannot be known, so the
                # write is not tried again: the caller hears that the service is down.
                if committing or attempt == WRITE_TRIES:
                    raise Unavailable(f"the database cannot be reached: {_reason(exc)}") from exc
            except BaseException:
                self._rollback(raw)
                raise
        raise AssertionError("unreachable")

    def _run_read(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        for attempt in (1, 2):
            raw = self._conn()
            try:
                raw.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                try:
                    return fn(PgConn(raw), *args)
                finally:
                    self._rollback(raw)  # nothing to keep: it only read
            except psycopg.OperationalError as exc:
                if not raw.broken:
                    raise
                # A connection that broke while idle (a server restart) is met on first use:
                # a read may safely be tried once more on a new one.
                self._drop(raw)
                if attempt == 2:
                    raise Unavailable(f"the database cannot be reached: {_reason(exc)}") from exc
        raise AssertionError("unreachable")
