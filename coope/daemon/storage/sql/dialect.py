"""The few places where SQLite and PostgreSQL differ, for queries written once for both.

A transaction learns its engine from its connection: SQLite's own `sqlite3.Connection`, or the
PostgreSQL one (`storage/postgres/database.py`). SQLite has one writer at a time, so the locks
here are no-ops on it; on PostgreSQL, where writers are concurrent, they make a transaction that
reads and then writes see what it is about to change as it stays until it commits.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol, cast

from coope.daemon.storage.sql.connection import Conn


class _GuardsUnique(Protocol):
    def unique_or(self, conflict: Callable[[], Exception]) -> AbstractContextManager[None]: ...

    def lock(self, key: str) -> None: ...


def is_sqlite(conn: Conn) -> bool:
    return isinstance(conn, sqlite3.Connection)


def greatest(conn: Conn) -> str:
    """The name of the function that gives the larger of its arguments."""
    return "MAX" if is_sqlite(conn) else "GREATEST"


def least(conn: Conn) -> str:
    """The name of the function that gives the smaller of its arguments."""
    return "MIN" if is_sqlite(conn) else "LEAST"


def for_share(conn: Conn) -> str:
    """A SELECT's suffix that keeps the rows it reads from changing until the transaction ends
    (and waits for a change under way), for a write that is right only while they hold."""
    return "" if is_sqlite(conn) else " FOR SHARE"


def lock_row(conn: Conn, table: str, key: object, *, column: str = "id") -> None:
    """Lock one row of `table` (where `column` is `key`) against other writers until the
    transaction ends, before the reads that the transaction's writes depend on. Rows that
    reference it may still be added meanwhile (NO KEY: a message inserted into a locked room
    waits for nothing)."""
    if not is_sqlite(conn):
        conn.execute(f"SELECT 1 FROM {table} WHERE {column} = ? FOR NO KEY UPDATE", (key,))


def lock(conn: Conn, key: str) -> None:
    """Hold a lock named `key` until the transaction ends: for a rule that spans rows no one
    row lock covers (the first account, the last admin, a pair of users)."""
    if not is_sqlite(conn):
        cast(_GuardsUnique, conn).lock(key)


@contextmanager
def unique_or(conn: Conn, conflict: Callable[[], Exception]) -> Iterator[None]:
    """Raise `conflict()` instead of the error of a write inside that broke a unique constraint
    (the one a caller wraps: each use wraps statements with one unique constraint in play). The
    transaction goes on afterwards, so `conflict` may still read."""
    if not is_sqlite(conn):
        with cast(_GuardsUnique, conn).unique_or(conflict):
            yield
        return
    try:
        yield
    except sqlite3.IntegrityError as exc:
        if is_unique_violation(exc):
            raise conflict() from exc
        raise


def is_unique_violation(exc: sqlite3.IntegrityError) -> bool:
    """Whether a write broke a unique constraint (rather than, say, a foreign key)."""
    return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_CONSTRAINT_UNIQUE


def same_as(column: str, value: object) -> tuple[str, tuple[object, ...]]:
    """SQLite's `column IS ?` (true when both are NULL) in SQL that PostgreSQL accepts too, as a
    condition and its parameters. Spelled per case rather than as one condition with `? IS NULL`
    in it: PostgreSQL cannot tell the type of a NULL parameter that is only tested for NULL, and
    an index on the column serves either case."""
    if value is None:
        return f"{column} IS NULL", ()
    return f"{column} = ?", (value,)


def fts_match(terms: list[str], *, prefix: bool = False) -> str:
    """An FTS5 query for rows holding every one of `terms`, each quoted so that FTS5 operators
    in what a person typed are searched for, not obeyed; with `prefix`, each term may start a
    longer word."""
    star = "*" if prefix else ""
    return " ".join('"' + term.replace('"', '""') + '"' + star for term in terms)
