"""Database files of an older schema, for the tests of the migrations that upgrade them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from coope.daemon.storage.sqlite.database import apply_migrations


def database_at(path: Path, version: int, rows_sql: str) -> sqlite3.Connection:
    """A database file migrated up to `version` only, holding the rows `rows_sql` inserts (in
    one transaction, foreign keys on); the connection is left open for more."""
    conn = sqlite3.connect(path, isolation_level=None)
    assert apply_migrations(conn, upto=version) == version
    conn.execute("PRAGMA foreign_keys=ON")
    conn.executescript(f"BEGIN;\n{rows_sql}\nCOMMIT;")
    return conn


def rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return [tuple(r) for r in conn.execute(sql)]
    finally:
        conn.close()
