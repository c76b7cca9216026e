"""The embedded SQLite backend (one file, WAL, group commit)."""

from __future__ import annotations

from pathlib import Path

from coope.daemon.storage.interface import Storage
from coope.daemon.storage.sqlite.accounts import SqliteAccounts
from coope.daemon.storage.sqlite.chat import SqliteChat
from coope.daemon.storage.sqlite.database import SqliteDatabase
from coope.daemon.storage.sqlite.pages import SqlitePages
from coope.daemon.storage.sqlite.social import SqliteSocial
from coope.daemon.storage.sqlite.workspaces import SqliteWorkspaces


class SqliteStorage(
    SqliteAccounts, SqliteSocial, SqliteChat, SqliteWorkspaces, SqlitePages, Storage
):
    def __init__(self, path: Path) -> None:
        self.db = SqliteDatabase(path)

    async def start(self) -> None:
        await self.db.start()

    async def aclose(self) -> None:
        await self.db.aclose()


__all__ = ["SqliteStorage"]
