"""The PostgreSQL backend, for several daemons serving as one (`coope daemon --database`)."""

from __future__ import annotations

from coope.daemon.storage.postgres.database import PostgresDatabase
from coope.daemon.storage.sql.storage import SqlStorage


class PostgresStorage(SqlStorage):
    engine = "postgresql"

    def __init__(self, url: str, *, writers: int = 16, readers: int = 8) -> None:
        super().__init__(PostgresDatabase(url, writers=writers, readers=readers))


__all__ = ["PostgresStorage"]
