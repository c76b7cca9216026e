"""The two engines hold one schema: every table, column (its type, whether it may be NULL, its
default) and index that SQLite's migrations make at their head, PostgreSQL's make too, and no
other, apart from what each searches with (FTS5 tables; tsvector columns and their indexes)."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import uuid
from pathlib import Path

import psycopg

from coope.daemon.storage.postgres import PostgresStorage
from coope.daemon.storage.sqlite.database import apply_migrations
from tests.tools import PostgresServer

# SQLite's declared types and the PostgreSQL types that store the same (see 0013_baseline.sql).
TYPES = {"INTEGER": "bigint", "REAL": "double precision", "TEXT": "text", "BLOB": "bytea"}
SEARCH_ONLY = {"messages.body_words", "pages.words"}  # PostgreSQL's tsvector columns
Column = tuple[str, str, str, bool, str | None]  # table, column, type, NULL allowed, default


def _default(text: str | None) -> str | None:
    """A default as written, without PostgreSQL's casts: `'available'::text` is `'available'`."""
    return None if text is None else re.sub(r"::[a-z ]+$", "", text.strip())


def _sqlite_schema(path: Path) -> tuple[set[Column], set[tuple[str, str, bool]]]:
    conn = sqlite3.connect(path)
    try:
        apply_migrations(conn)
        tables = [
            name
            for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not name.startswith(("sqlite_", "messages_fts", "pages_fts"))
        ]
        columns = {
            (table, name, TYPES[kind.upper()], not (notnull or pk), _default(default))
            for table in tables
            for _, name, kind, notnull, default, pk in conn.execute(f"PRAGMA table_info({table})")
        }
        indexes = {
            (table, name, bool(unique))
            for table in tables
            for _, name, unique, origin, _ in conn.execute(f"PRAGMA index_list({table})")
            if origin == "c"  # made by CREATE INDEX, not by a key or UNIQUE in the table
        }
    finally:
        conn.close()
    return columns, indexes


async def _postgres_schema(url: str, schema: str) -> tuple[set[Column], set[tuple[str, str, bool]]]:
    storage = PostgresStorage(url)
    await storage.start()
    await storage.aclose()
    with psycopg.connect(url) as conn:
        columns = {
            (table, name, kind, nullable == "YES", _default(default))
            for table, name, kind, nullable, default in conn.execute(
                "SELECT table_name, column_name, data_type, is_nullable, column_default"
                " FROM information_schema.columns WHERE table_schema = %s"
                " AND table_name <> 'coope_schema'",
                (schema,),
            )
            if f"{table}.{name}" not in SEARCH_ONLY
        }
        indexes = {
            (table, name, "UNIQUE INDEX" in definition)
            for table, name, definition in conn.execute(
                "SELECT i.tablename, i.indexname, i.indexdef FROM pg_indexes i"
                " WHERE i.schemaname = %s AND i.tablename <> 'coope_schema'"
                " AND NOT EXISTS (SELECT 1 FROM pg_constraint c"
                "  WHERE c.conname = i.indexname AND c.connamespace = %s::regnamespace)",
                (schema, schema),
            )
            if name not in ("messages_words", "pages_words")
        }
    return columns, indexes


async def test_sqlite_and_postgresql_migrations_make_one_schema(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    schema = f"schema_{uuid.uuid4().hex[:12]}"
    url = await asyncio.to_thread(postgres.url, schema)
    lite_columns, lite_indexes = _sqlite_schema(tmp_path / "coope.db")
    pg_columns, pg_indexes = await _postgres_schema(url, schema)
    # Identities have no default in PostgreSQL's catalog; SQLite's rowid ids have none either.
    assert sorted(lite_columns - pg_columns) == sorted(pg_columns - lite_columns) == []
    assert lite_indexes == pg_indexes
    assert len(lite_columns) > 100 and len(lite_indexes) > 10  # it read the schemas at all
