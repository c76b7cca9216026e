"""Every store on one SQL database, whichever engine runs it."""

from __future__ import annotations

from typing import ClassVar

from coope.daemon.storage.interface import Storage
from coope.daemon.storage.sql.accounts import SqlAccounts
from coope.daemon.storage.sql.chat import SqlChat
from coope.daemon.storage.sql.connection import Database
from coope.daemon.storage.sql.pages import SqlPages
from coope.daemon.storage.sql.social import SqlSocial
from coope.daemon.storage.sql.workspaces import SqlWorkspaces


class SqlStorage(SqlAccounts, SqlSocial, SqlChat, SqlWorkspaces, SqlPages, Storage):
    engine: ClassVar[str]

    def __init__(self, db: Database) -> None:
        self.db = db

    async def start(self) -> None:
        await self.db.start()

    async def check(self) -> None:
        await self.db.check()

    async def aclose(self) -> None:
        await self.db.aclose()
