"""SQLite engine: one writer thread with group commit, readers on their own connections.

Writes are `fn(conn, *args)` functions queued to the writer thread. The thread takes every write
waiting in the queue, runs each inside its own SAVEPOINT (so one failing write does not undo its
neighbours), commits them together with `synchronous=FULL`, and only then resolves each caller's
future. A caller is therefore acknowledged only for data that is on disk, and a burst of writers
shares one fsync instead of paying one each.

Reads run on a small thread pool, each thread holding its own read-only connection; in WAL mode
they never wait for the writer. The event loop itself never touches SQLite.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import re
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from coope.daemon.storage.sqlite import migration_steps

log = logging.getLogger(__name__)

T = TypeVar("T")
Txn = Callable[..., T]

MAX_BATCH = 512


@dataclass
class _Write:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop


def _connect(path: Path, *, readonly: bool) -> sqlite3.Connection:
    # isolation_level=None: we issue BEGIN/COMMIT ourselves so a batch is exactly one transaction.
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    if readonly:
        conn.execute("PRAGMA query_only=ON")
    else:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
    return conn


def apply_migrations(conn: sqlite3.Connection, *, upto: int | None = None) -> int:
    """Apply the numbered `migrations/NNNN_name.sql` files the database has not seen yet (up to
    `upto`, for tests that build an older schema); return the version the file is at.

    Each migration is one transaction: its statements, the Python steps it names with a
    `-- python: NAME` line (see `migration_steps`), a foreign key check and the version bump.
    Foreign keys are off meanwhile, as SQLite's way of rebuilding a table needs (a table that
    others reference is dropped and created again); the check before the commit makes sure the
    migration left nothing dangling that was not dangling before it. A failed migration leaves
    the old version and no change. Before a migration that rebuilds tables, the database file
    (unless new) is copied to `<file>.before-<migration>`, as the log says. Two daemons starting
    on one file apply each migration once: the second finds it applied once it has the lock.
    """
    scripts = sorted(
        (int(f.name.split("_", 1)[0]), f)
        for f in resources.files("coope.daemon.storage.sqlite.migrations").iterdir()
        if f.name.endswith(".sql")
    )
    current = _version(conn)
    pending = [(n, s) for n, s in scripts if n > current and (upto is None or n <= upto)]
    if not pending:
        return current
    if conn.in_transaction:
        conn.execute("COMMIT")
    foreign_keys = conn.execute("PRAGMA foreign_keys").fetchone()[0]
    conn.execute("PRAGMA foreign_keys=OFF")  # a no-op inside a transaction: set before BEGIN
    try:
        for number, script in pending:
            parts = migration_parts(script.read_text())
            # A new file (version 0 when we began) has nothing to lose: no copy.
            if current > 0 and _version(conn) < number and _rebuilds_tables(parts):
                _copy_before(conn, script.name)
            conn.execute("BEGIN IMMEDIATE")
            try:
                if _version(conn) >= number:  # another process applied it meanwhile
                    conn.execute("COMMIT")
                    continue
                log.info("applying migration", extra={"migration": script.name})
                dangling_before = _dangling(conn)
                for kind, text in parts:
                    if kind == "python":
                        migration_steps.STEPS[text](conn)
                    else:
                        conn.execute(text)
                if new := _dangling(conn) - dangling_before:
                    raise sqlite3.IntegrityError(
                        f"migration {script.name} leaves foreign keys dangling: {sorted(new)[:5]}"
                    )
                conn.execute(f"PRAGMA user_version={number}")
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
    finally:
        conn.execute(f"PRAGMA foreign_keys={int(foreign_keys)}")
    return _version(conn)


def _version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _dangling(conn: sqlite3.Connection) -> set[tuple[str, int, str]]:
    """The rows whose foreign keys point nowhere, as (table, rowid, referenced table). A rebuilt
    table keeps its rows' ids, so a row dangling before and after is the same tuple."""
    return {(r[0], r[1], r[2]) for r in conn.execute("PRAGMA foreign_key_check")}


def _rebuilds_tables(parts: list[tuple[str, str]]) -> bool:
    return any(kind == "sql" and text.upper().startswith("DROP TABLE") for kind, text in parts)


def _copy_before(conn: sqlite3.Connection, migration: str) -> None:
    """Copy the database file aside before a migration that rebuilds tables (an in-memory
    database has no file to keep a copy beside)."""
    path = conn.execute("PRAGMA database_list").fetchone()[2]
    if not path:
        return
    copy = Path(f"{path}.before-{migration.removesuffix('.sql')}")
    target = sqlite3.connect(copy)
    try:
        conn.backup(target)
    finally:
        target.close()
    log.warning(
        "copied the database before a migration that rebuilds tables",
        extra={"migration": migration, "copy": str(copy)},
    )


_PYTHON_STEP = re.compile(r"^--\s*python:\s*(\w+)\s*$")


def migration_parts(script: str) -> list[tuple[str, str]]:
    """A migration's SQL statements (`("sql", statement)`) and Python steps
    (`("python", name)`), in order. Statements are split where SQLite says one is complete, so
    a trigger's body stays whole."""
    parts: list[tuple[str, str]] = []
    pending: list[str] = []
    for line in script.splitlines(keepends=True):
        step = _PYTHON_STEP.match(line.strip())
        if step is not None:
            parts.append(("python", step.group(1)))
            continue
        pending.append(line)
        statement = "".join(pending)
        if sqlite3.complete_statement(statement):
            parts.append(("sql", statement.strip()))
            pending = []
    rest = "".join(pending)
    if any(line.strip() and not line.strip().startswith("--") for line in rest.splitlines()):
        raise ValueError(f"a migration ends with an incomplete statement: {rest.strip()[:80]!r}")
    return parts


class SqliteDatabase:
    """The SQLite file behind the daemon. `start()` before use, `aclose()` to drain and close."""

    def __init__(self, path: Path, *, readers: int = 4) -> None:
        self.path = path
        self._readers = readers
        self._queue: queue.SimpleQueue[_Write | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._read_pool: ThreadPoolExecutor | None = None
        self._local = threading.local()
        self._read_conns: list[sqlite3.Connection] = []
        self._read_conns_lock = threading.Lock()
        self._closed = False

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        loop = asyncio.get_running_loop()
        self._writer = threading.Thread(
            target=self._write_loop, args=(loop, started), name="coope-sqlite-writer", daemon=True
        )
        self._writer.start()
        await started
        self._read_pool = ThreadPoolExecutor(self._readers, thread_name_prefix="coope-sqlite-read")

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(conn, *args)` in the next group commit; return once it is durable."""
        if self._closed:
            raise RuntimeError("database is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Write(fn, args, future, loop))
        return await future

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(conn, *args)` on a reader thread's own connection."""
        if self._read_pool is None:
            raise RuntimeError("database is not started")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._read_pool, self._run_read, fn, args)

    async def check(self) -> None:
        """A file answers as long as it can be read (reads never wait on the writer)."""
        await self.read(_answer)

    async def aclose(self) -> None:
        """Commit everything already queued, then close every connection."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        if self._writer is not None:
            await asyncio.to_thread(self._writer.join)
        if self._read_pool is not None:
            self._read_pool.shutdown(wait=True)
        with self._read_conns_lock:
            for conn in self._read_conns:
                conn.close()
            self._read_conns.clear()

    # --- threads ---------------------------------------------------------------------------

    def _run_read(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = _connect(self.path, readonly=True)
            self._local.conn = conn
            with self._read_conns_lock:
                self._read_conns.append(conn)
        conn.execute("BEGIN")
        try:
            return fn(conn, *args)
        finally:
            conn.execute("COMMIT")

    def _write_loop(self, loop: asyncio.AbstractEventLoop, started: asyncio.Future[None]) -> None:
        try:
            conn = _connect(self.path, readonly=False)
            apply_migrations(conn)
        except Exception as exc:
            loop.call_soon_threadsafe(_settle, started, None, exc)
            return
        loop.call_soon_threadsafe(_settle, started, None, None)
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    break
                batch = [first]
                stop = False
                while len(batch) < MAX_BATCH:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:
                        stop = True
                        break
                    batch.append(item)
                self._commit_batch(conn, batch)
                if stop:
                    break
        finally:
            conn.close()

    @staticmethod
    def _commit_batch(conn: sqlite3.Connection, batch: list[_Write]) -> None:
        outcomes: list[tuple[_Write, Any, BaseException | None]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for write in batch:
                conn.execute("SAVEPOINT write")
                try:
                    result = write.fn(conn, *write.args)
                except Exception as exc:
                    conn.execute("ROLLBACK TO write")
                    conn.execute("RELEASE write")
                    outcomes.append((write, None, exc))
                else:
                    conn.execute("RELEASE write")
                    outcomes.append((write, result, None))
            conn.execute("COMMIT")
        except Exception as exc:
            log.exception("group commit failed")
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            outcomes = [(write, None, exc) for write in batch]
        for write, result, error in outcomes:
            write.loop.call_soon_threadsafe(_settle, write.future, result, error)


def _answer(conn: sqlite3.Connection) -> None:
    conn.execute("SELECT 1").fetchone()


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # the caller was cancelled; the write itself still happened (or not)
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
