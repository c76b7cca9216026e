"""The PostgreSQL backend, for several daemons serving as one (`coope daemon --database`)."""

from __future__ import annotations

from coope.daemon.storage.interface import Storage
from coope.daemon.storage.postgres.database import PostgresDatabase
from coope.daemon.storage.sql.accounts import SqlAccounts
from coope.daemon.storage.sql.chat import SqlChat
from coope.daemon.storage.sql.pages import SqlPages
from coope.daemon.storage.sql.social import SqlSocial
from coope.daemon.storage.sql.workspaces import SqlWorkspaces


class PostgresStorage(SqlAccounts, SqlSocial, SqlChat, SqlWorkspaces, SqlPages, Storage):
    def __init__(self, url: str, *, writers: int = 16, readers: int = 8) -> None:
        self.db = PostgresDatabase(url, writers=writers, readers=readers)

    async def start(self) -> None:
        await self.db.start()

    async def aclose(self) -> None:
        await self.db.aclose()


__all__ = ["PostgresStorage"]
