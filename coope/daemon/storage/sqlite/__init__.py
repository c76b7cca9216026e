"""The embedded SQLite backend (one file, WAL, group commit)."""

from __future__ import annotations

from pathlib import Path

from coope.daemon.storage.interface import Storage
from coope.daemon.storage.sql.accounts import SqlAccounts
from coope.daemon.storage.sql.chat import SqlChat
from coope.daemon.storage.sql.pages import SqlPages
from coope.daemon.storage.sql.social import SqlSocial
from coope.daemon.storage.sql.workspaces import SqlWorkspaces
from coope.daemon.storage.sqlite.database import SqliteDatabase


class SqliteStorage(SqlAccounts, SqlSocial, SqlChat, SqlWorkspaces, SqlPages, Storage):
    def __init__(self, path: Path) -> None:
        self.db = SqliteDatabase(path)

    async def start(self) -> None:
        await self.db.start()

    async def aclose(self) -> None:
        await self.db.aclose()


__all__ = ["SqliteStorage"]
