"""The embedded SQLite backend (one file, WAL, group commit)."""

from __future__ import annotations

from pathlib import Path

from coope.daemon.storage.sql.storage import SqlStorage
from coope.daemon.storage.sqlite.database import SqliteDatabase


class SqliteStorage(SqlStorage):
    engine = "sqlite"

    def __init__(self, path: Path) -> None:
        super().__init__(SqliteDatabase(path))


__all__ = ["SqliteStorage"]
