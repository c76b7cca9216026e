"""Migrations on a real database file made by the previous schema, with data in it: ids that are
never reused (0006) and names made unique (0007), nothing lost on the way."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from coope.core.errors import Conflict
from coope.daemon.storage.interface import NewPage
from coope.daemon.storage.sqlite import SqliteStorage, migration_steps
from coope.daemon.storage.sqlite.database import apply_migrations, migration_parts
from tests.daemon.old_databases import rows

BEFORE_IDS = 5  # the last version whose tables reuse ids


def _old_database(path: Path) -> None:
    """A version-5 database: three users, a token, workspaces and rooms with clashing names,
    pages with clashing sibling titles (one in the trash), messages in the full-text index."""
    conn = sqlite3.connect(path, isolation_level=None)
    assert apply_migrations(conn, upto=BEFORE_IDS) == BEFORE_IDS
    conn.execute("PRAGMA foreign_keys=ON")
    conn.executescript(
        """
        BEGIN;
        INSERT INTO users (id, username, display_name, role, created_at)
            VALUES (1, 'root', 'Root', 'admin', 1), (2, 'alice', 'Alice', 'user', 1),
                   (3, 'bob', 'Bob', 'user', 1);
        INSERT INTO api_tokens (id, user_id, name, prefix, secret_hash, created_at)
            VALUES (1, 2, 'bot', 'coope_abc', 'hash', 1);
        INSERT INTO workspaces (id, name, created_at)
            VALUES (1, 'Team', 1), (2, 'team', 1), (3, 'Team (2)', 1), (4, 'TEAM', 1),
                   (5, 'Cafe' || char(769), 1), (6, 'Caf' || char(233), 1), (7, 'Other', 1);
        INSERT INTO workspace_members (workspace_id, user_id, role, joined_at)
            VALUES (1, 2, 'owner', 1), (2, 3, 'owner', 1), (3, 2, 'owner', 1),
                   (4, 2, 'owner', 1), (5, 2, 'owner', 1), (6, 2, 'owner', 1), (7, 2, 'owner', 1);
        INSERT INTO pages (id, workspace_id, parent_id, title, position, created_by, created_at,
                           updated_at, archived_root, body_text)
            VALUES (1, 1, NULL, 'Plans', 'a', 2, 1, 1, NULL, 'roadmap for the quarter'),
                   (2, 1, NULL, 'plans', 'b', 2, 1, 1, NULL, ''),
                   (3, 1, 1, 'Q3', 'a', 2, 1, 1, NULL, ''),
                   (4, 1, 1, 'q3', 'b', 2, 1, 1, NULL, ''),
                   (5, 1, NULL, 'Plans', 'c', 2, 1, 1, 5, ''),
                   (6, 2, NULL, 'Plans', 'a', 3, 1, 1, NULL, '');
        INSERT INTO rooms (id, kind, name, dm_key, created_by, created_at, last_seq)
            VALUES (1, 'group', 'team', NULL, 2, 1, 2), (2, 'group', 'Team', NULL, 3, 1, 0),
                   (3, 'dm', '', '2:3', 2, 1, 0), (4, 'dm', '', '1:2', 1, 1, 0);
        INSERT INTO room_members (room_id, user_id, role, joined_at)
            VALUES (1, 2, 'admin', 1), (2, 3, 'admin', 1), (3, 2, 'member', 1),
                   (3, 3, 'member', 1), (4, 1, 'member', 1), (4, 2, 'member', 1);
        INSERT INTO messages (id, room_id, seq, rev, author_id, client_id, body, created_at)
            VALUES (1, 1, 1, 1, 2, 'c1', 'hello lighthouse', 1),
                   (2, 1, 2, 2, 2, 'c2', 'second', 1);
        COMMIT;
        """
    )
    # The newest workspace and page go, as a delete would: the next ones took their ids before.
    conn.execute("DELETE FROM workspace_members WHERE workspace_id = 7")
    conn.execute("DELETE FROM workspaces WHERE id = 7")
    conn.close()


@pytest.fixture
def old_db(tmp_path: Path) -> Path:
    """A version-5 database file (`_old_database`)."""
    path = tmp_path / "coope.db"
    _old_database(path)
    return path


def _open(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


async def test_an_old_database_keeps_its_data_and_gets_unique_names(tmp_path: Path) -> None:
    path = tmp_path / "coope.db"
    _old_database(path)
    storage = SqliteStorage(path)
    await storage.start()
    try:
        (version,) = rows(path, "PRAGMA user_version")[0]
        assert isinstance(version, int) and version >= 7
        # Everything is still there, under the same ids.
        assert rows(path, "SELECT id, username FROM users ORDER BY id") == [
            (1, "root"),
            (2, "alice"),
            (3, "bob"),
        ]
        token = await storage.get_token_by_hash("hash")
        assert token is not None and (token.id, token.user_id, token.name) == (1, 2, "bot")
        # Duplicates renamed, the oldest keeping the name; an existing "Team (2)" keeps its own.
        workspaces = {w.id: w.name for w in await storage.all_workspaces()}
        assert workspaces == {
            1: "Team",
            2: "team (3)",
            3: "Team (2)",
            4: "TEAM (4)",
            5: "Cafe\u0301",
            6: "Caf\u00e9 (2)",  # the same name once normalised (NFC)
        }
        titles = {p.id: (p.parent_id, p.title) for p in await storage.pages_of(1)}
        assert titles == {
            1: (None, "Plans"),
            2: (None, "plans (2)"),
            3: (1, "Q3"),
            4: (1, "q3 (2)"),
        }
        trashed = await storage.get_page(5)
        assert trashed is not None and trashed.title == "Plans", "the trash is nobody's sibling"
        assert [p.title for p in await storage.pages_of(2)] == ["Plans"], "other workspace"
        assert (await storage.get_room(1), await storage.get_room(2)) != (None, None)
        room_names = rows(path, "SELECT id, kind, name FROM rooms ORDER BY id")
        assert room_names == [
            (1, "group", "team"),
            (2, "group", "Team (2)"),
            (3, "dm", ""),
            (4, "dm", ""),
        ]
        # The full-text indexes still point at the right rows.
        hits = await storage.search_messages(2, ["lighthouse"], None, 10)
        assert [(m.id, m.body) for m in hits] == [(1, "hello lighthouse")]
        found = await storage.search_pages([1], ["roadmap"], 10)
        assert [p.id for p, _ in found] == [1]
        # The rule now holds for new writes...
        with pytest.raises(Conflict):
            await storage.create_workspace("TEAM (2)", 2, 2.0)
        with pytest.raises(Conflict):
            await storage.create_group(3, "TEAM", [], 2.0)
        with pytest.raises(Conflict):
            await storage.create_page(NewPage(1, 1, "Q3", "", "c", 2, 2.0), None)
        # ...and ids are never reused from here on.
        ws = await storage.create_workspace("New", 2, 2.0)
        assert ws.id == 7, "the highest id in the table, plus one"
        await storage.delete_workspace(ws.id)
        assert (await storage.create_workspace("Newer", 2, 2.0)).id == 8
    finally:
        await storage.aclose()


def test_a_migration_that_fails_changes_nothing(
    old_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    def leaves_a_token_dangling(conn: sqlite3.Connection) -> None:
        migration_steps.unique_names(conn)
        conn.execute("DELETE FROM users WHERE id = 2")  # alice, whose token stays

    monkeypatch.setitem(migration_steps.STEPS, "unique_names", leaves_a_token_dangling)
    conn = _open(old_db)
    with pytest.raises(sqlite3.IntegrityError, match="dangling"):
        apply_migrations(conn)
    # 0006 went through; 0007, which made the dangling row, left nothing behind.
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 6
    assert conn.execute("SELECT COUNT(*) FROM users WHERE id = 2").fetchone()[0] == 1
    columns = [r[1] for r in conn.execute("PRAGMA table_info(workspaces)")]
    assert "name_key" not in columns
    assert not conn.in_transaction
    conn.close()


def test_rows_dangling_before_do_not_stop_the_upgrade(old_db: Path) -> None:
    conn = _open(old_db)
    # A page whose parent is missing, made when foreign keys were not enforced: the migrations
    # do not make it worse, so they must not leave the daemon unable to start.
    conn.execute(
        "INSERT INTO pages (id, workspace_id, parent_id, title, position, created_by,"
        " created_at, updated_at) VALUES (9, 1, 99, 'Orphan', 'z', 2, 1, 1)"
    )
    assert apply_migrations(conn) >= 8
    assert conn.execute("SELECT parent_id FROM pages WHERE id = 9").fetchone() == (99,)
    conn.close()


def test_a_copy_is_kept_before_tables_are_rebuilt(old_db: Path, tmp_path: Path) -> None:
    conn = _open(old_db)
    apply_migrations(conn)
    conn.close()
    copy = old_db.with_name("coope.db.before-0006_ids_never_reused")
    assert rows(copy, "PRAGMA user_version") == [(BEFORE_IDS,)]
    assert rows(copy, "SELECT name FROM workspaces WHERE id = 2") == [("team",)]
    kept = sorted(p.name for p in old_db.parent.glob("*.before-*"))
    assert kept == [copy.name, "coope.db.before-0010_workspace_admins"], "0006 and 0010 rebuild"
    # A new database has nothing to keep.
    fresh = tmp_path / "fresh" / "coope.db"
    fresh.parent.mkdir()
    conn = _open(fresh)
    apply_migrations(conn)
    conn.close()
    assert list(fresh.parent.glob("*.before-*")) == []


def test_a_migration_another_process_applied_meanwhile_is_skipped(old_db: Path) -> None:
    first, second = (_open(old_db) for _ in range(2))
    raced: list[int] = []
    ran: list[str] = []

    def the_other_daemon_goes_first(sql: str) -> None:
        ran.append(sql)
        # `first` has decided what to apply and is about to take the write lock.
        if sql == "BEGIN IMMEDIATE" and not raced:
            raced.append(apply_migrations(second))

    first.set_trace_callback(the_other_daemon_goes_first)
    assert apply_migrations(first) == raced[0] >= 8
    # Run twice, 0006 would rebuild the tables again, dropping what later migrations added.
    assert [sql for sql in ran if "users_new" in sql] == []
    first.close()
    second.close()


def test_accounts_disabled_before_lose_their_credentials(old_db: Path) -> None:
    conn = _open(old_db)
    conn.executescript(
        """
        INSERT INTO users (id, username, display_name, role, disabled, created_at)
            VALUES (4, 'dave', 'Dave', 'user', 1, 1);
        INSERT INTO sessions (id, user_id, created_at, expires_at)
            VALUES ('s-dave', 4, 1, 9e9), ('s-alice', 2, 1, 9e9);
        INSERT INTO api_tokens (id, user_id, name, prefix, secret_hash, created_at)
            VALUES (2, 4, 'bot', 'coope_def', 'dave-hash', 1);
        """
    )
    apply_migrations(conn)
    rows = conn.execute(
        "SELECT u.username, u.credentials_ended_at IS NOT NULL, s.revoked FROM users u"
        " JOIN sessions s ON s.user_id = u.id ORDER BY u.id"
    ).fetchall()
    assert rows == [("alice", 0, 0), ("dave", 1, 1)]
    tokens = conn.execute("SELECT user_id, revoked FROM api_tokens ORDER BY id").fetchall()
    assert tokens == [(2, 0), (4, 1)]
    conn.close()


async def test_names_that_read_as_ids_or_look_alike_are_renamed(old_db: Path) -> None:
    conn = _open(old_db)
    conn.executescript(
        """
        INSERT INTO workspaces (id, name, created_at)
            VALUES (8, '3', 1), (9, '#3', 1), (10, 'Workspace 3', 1),
                   (11, 'Other' || char(8203), 1), (12, 'OTHER', 1);
        INSERT INTO rooms (id, kind, name, created_by, created_at)
            VALUES (5, 'group', '12', 2, 1), (6, 'group', '#12', 2, 1);
        """
    )
    conn.close()
    storage = SqliteStorage(old_db)
    await storage.start()
    try:
        names = {w.id: w.name for w in await storage.all_workspaces() if w.id >= 8}
        assert names == {
            8: "Workspace 3 (2)",  # "Workspace 3" stays the name of the one called so
            9: "Workspace #3",
            10: "Workspace 3",
            11: "Other\u200b",
            12: "OTHER (2)",  # the same name but for a zero-width space
        }
        rooms = rows(old_db, "SELECT id, name FROM rooms WHERE id >= 5 ORDER BY id")
        assert rooms == [(5, "room 12"), (6, "room #12")]
    finally:
        await storage.aclose()


def test_migration_scripts_split_into_whole_statements() -> None:
    parts = migration_parts(
        "-- a comment; with a semicolon\n"
        "CREATE TABLE t (x TEXT);\n"
        "-- python: step\n"
        "CREATE TRIGGER g AFTER INSERT ON t BEGIN\n"
        "    INSERT INTO t VALUES ('a;b');\n"
        "    INSERT INTO t VALUES ('c');\n"
        "END;\n"
        "-- the end\n"
    )
    assert [kind for kind, _ in parts] == ["sql", "python", "sql"]
    assert parts[1] == ("python", "step")
    assert parts[2][1].startswith("CREATE TRIGGER") and parts[2][1].endswith("END;")
    with pytest.raises(ValueError, match="incomplete"):
        migration_parts("CREATE TABLE t (x TEXT)\n")
