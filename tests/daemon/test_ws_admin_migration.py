"""Migration 0010 on a real database file of the schema before it: the workspace admin role is
stored, every member keeps their role, and the role column still refuses what is no role."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from coope.core.models import WorkspaceRole
from coope.daemon.storage.interface import MemberEntry
from coope.daemon.storage.sqlite import SqliteStorage
from coope.daemon.storage.sqlite.database import apply_migrations
from tests.daemon.old_databases import database_at, rows

BEFORE_ADMINS = 9


@pytest.fixture
def old_db(tmp_path: Path) -> Path:
    path = tmp_path / "coope.db"
    conn = database_at(
        path,
        BEFORE_ADMINS,
        """
        INSERT INTO users (id, username, display_name, role, created_at)
            VALUES (1, 'root', 'Root', 'admin', 1), (2, 'alice', 'Alice', 'user', 1),
                   (3, 'bob', 'Bob', 'user', 1), (4, 'carol', 'Carol', 'user', 1);
        INSERT INTO workspaces (id, name, name_key, created_at) VALUES (1, 'Team', 'team', 1);
        INSERT INTO workspace_members (workspace_id, user_id, role, joined_at)
            VALUES (1, 2, 'owner', 10), (1, 3, 'editor', 11), (1, 4, 'viewer', 12);
        """,
    )
    with pytest.raises(sqlite3.IntegrityError):  # the old schema has no admins
        conn.execute("UPDATE workspace_members SET role = 'admin' WHERE user_id = 3")
    conn.close()
    return path


async def test_members_keep_their_roles_and_admins_can_be_stored(old_db: Path) -> None:
    storage = SqliteStorage(old_db)
    await storage.start()
    try:
        members = await storage.workspace_members(1)
        assert [(m.username, m.role, m.joined_at) for m in members] == [
            ("alice", WorkspaceRole.OWNER, 10),
            ("bob", WorkspaceRole.EDITOR, 11),
            ("carol", WorkspaceRole.VIEWER, 12),
        ]
        await storage.set_workspace_members(1, [MemberEntry(3, "bob", WorkspaceRole.ADMIN)], 20)
        assert await storage.member_role(1, 3) is WorkspaceRole.ADMIN
        assert await storage.workspace_headcounts(None) == {1: (["alice"], 3)}
    finally:
        await storage.aclose()
    version = rows(old_db, "PRAGMA user_version")[0][0]
    assert isinstance(version, int) and version >= 10
    # The index the member lists of a user go through was made again.
    indexes = rows(old_db, "SELECT name FROM sqlite_master WHERE tbl_name = 'workspace_members'")
    assert ("workspace_members_user",) in indexes
    conn = sqlite3.connect(old_db)
    try:
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute("UPDATE workspace_members SET role = 'boss' WHERE user_id = 4")
    finally:
        conn.close()


def test_a_copy_is_kept_before_the_table_is_rebuilt(old_db: Path) -> None:
    conn = sqlite3.connect(old_db, isolation_level=None)
    apply_migrations(conn)
    conn.close()
    copy = old_db.with_name("coope.db.before-0010_workspace_admins")
    assert rows(copy, "PRAGMA user_version") == [(BEFORE_ADMINS,)]
    assert rows(copy, "SELECT role FROM workspace_members ORDER BY user_id") == [
        ("owner",),
        ("editor",),
        ("viewer",),
    ]
