"""The SQLite engine on a real database file: migrations, group commit, isolation of failures."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from coope.core.errors import Conflict, SignupClosed
from coope.core.models import Role
from coope.daemon.storage import NewUser
from coope.daemon.storage.sqlite import SqliteStorage
from coope.daemon.storage.sqlite.database import SqliteDatabase, apply_migrations


def _new(name: str, role: Role = Role.USER) -> NewUser:
    return NewUser(username=name, display_name=name, password_hash="x", role=role, created_at=1.0)


async def test_migrations_and_pragmas(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "c.db")
    await db.start()
    try:

        def pragmas(conn: sqlite3.Connection) -> tuple[str, int, int]:
            return (
                conn.execute("PRAGMA journal_mode").fetchone()[0],
                conn.execute("PRAGMA user_version").fetchone()[0],
                conn.execute("PRAGMA foreign_keys").fetchone()[0],
            )

        mode, version, fks = await db.write(pragmas)
        assert (mode, fks) == ("wal", 1)
        assert version >= 1
        # synchronous=FULL (2) on the connection that commits acknowledged writes
        assert await db.write(lambda c: c.execute("PRAGMA synchronous").fetchone()[0]) == 2
    finally:
        await db.aclose()
    # Applying again is a no-op: the file remembers its version.
    conn = sqlite3.connect(tmp_path / "c.db")
    assert apply_migrations(conn) == version
    conn.close()


async def test_concurrent_writes_share_commits(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "c.db")
    await db.start()
    await db.write(lambda c: c.execute("CREATE TABLE t (n INTEGER)"))
    batches: list[int] = []
    original = db._commit_batch

    def counting(conn: sqlite3.Connection, batch: list) -> None:  # type: ignore[type-arg]
        batches.append(len(batch))
        original(conn, batch)

    db._commit_batch = counting  # type: ignore[method-assign]
    try:
        await asyncio.gather(
            *(
                db.write(lambda c, n=n: c.execute("INSERT INTO t VALUES (?)", (n,)))
                for n in range(500)
            )
        )
        count = await db.read(lambda c: c.execute("SELECT COUNT(*) FROM t").fetchone()[0])
    finally:
        await db.aclose()
    assert count == 500
    assert sum(batches) == 500
    assert len(batches) < 500  # writers waiting together were committed together


async def test_a_failing_write_does_not_undo_its_batch(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "c.db")
    await db.start()
    await db.write(lambda c: c.execute("CREATE TABLE t (n INTEGER UNIQUE)"))

    def insert(conn: sqlite3.Connection, n: int) -> None:
        conn.execute("INSERT INTO t VALUES (?)", (n,))
        if n == 3:
            conn.execute("INSERT INTO t VALUES (?)", (n + 100,))
            raise ValueError("boom")

    try:
        results = await asyncio.gather(
            *(db.write(insert, n) for n in range(6)), return_exceptions=True
        )
        rows = await db.read(lambda c: [r[0] for r in c.execute("SELECT n FROM t ORDER BY n")])
    finally:
        await db.aclose()
    assert [type(r) for r in results].count(ValueError) == 1
    assert rows == [0, 1, 2, 4, 5]  # write 3 vanished whole, including its first insert


async def test_reads_never_run_on_the_event_loop_thread(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "c.db")
    await db.start()
    try:
        loop_thread = threading.get_ident()
        reader = await db.read(lambda c: threading.get_ident())
        writer = await db.write(lambda c: threading.get_ident())
        assert loop_thread not in (reader, writer)
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            await db.read(lambda c: c.execute("CREATE TABLE nope (x)"))
    finally:
        await db.aclose()


async def test_queued_writes_are_committed_by_aclose(tmp_path: Path) -> None:
    store = SqliteStorage(tmp_path / "c.db")
    await store.start()
    pending = [asyncio.ensure_future(store.create_user(_new(f"user{n}"))) for n in range(50)]
    await asyncio.sleep(0)
    await store.aclose()
    await asyncio.gather(*pending)
    reopened = SqliteStorage(tmp_path / "c.db")
    await reopened.start()
    try:
        _, total = await reopened.list_users(None, 10, 0)
    finally:
        await reopened.aclose()
    assert total == 50


async def test_first_user_rules_are_atomic(tmp_path: Path) -> None:
    store = SqliteStorage(tmp_path / "c.db")
    await store.start()
    try:
        results = await asyncio.gather(
            *(store.create_user(_new(f"u{n}"), only_if_first=True) for n in range(10)),
            return_exceptions=True,
        )
        created = [r for r in results if not isinstance(r, BaseException)]
        assert len(created) == 1 and created[0].role is Role.ADMIN
        assert all(isinstance(r, SignupClosed) for r in results if r not in created)
        with pytest.raises(Conflict):
            await store.create_user(_new(created[0].username))
    finally:
        await store.aclose()


def test_store_interfaces_share_no_method_names() -> None:
    """The SQLite backend is one class made of one mixin per store: a name used by two stores
    would silently resolve to one of them."""
    from coope.daemon.storage import interface

    stores = [
        interface.AccountStore,
        interface.SocialStore,
        interface.ChatStore,
        interface.WorkspaceStore,
        interface.PageStore,
    ]
    names = [n for store in stores for n in vars(store) if not n.startswith("_")]
    assert sorted(n for n in set(names) if names.count(n) > 1) == []


async def test_the_first_daemon_to_ask_sets_a_service_secret_for_all(tmp_path: Path) -> None:
    first, second = SqliteStorage(tmp_path / "c.db"), SqliteStorage(tmp_path / "c.db")
    await first.start()
    await second.start()
    try:
        mine, theirs = b"1" * 32, b"2" * 32
        assert await first.service_secret("session", mine) == mine
        assert await second.service_secret("session", theirs) == mine
        assert await second.service_secret("other", theirs) == theirs  # one secret per name
    finally:
        await second.aclose()
        await first.aclose()
