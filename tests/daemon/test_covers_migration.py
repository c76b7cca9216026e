"""Migration 0014 on a real database file of the schema before it: the cover files of the data
dir move into the database, and a page whose file is gone loses its cover."""

from __future__ import annotations

from pathlib import Path

from coope.daemon.storage.sqlite import SqliteStorage
from tests.daemon.old_databases import database_at, rows

BEFORE_COVERS_IN_DATABASE = 13


async def test_cover_files_move_into_the_database(tmp_path: Path) -> None:
    path = tmp_path / "coope.db"
    conn = database_at(
        path,
        BEFORE_COVERS_IN_DATABASE,
        """
        INSERT INTO users (id, username, display_name, role, created_at)
            VALUES (1, 'alice', 'Alice', 'admin', 1);
        INSERT INTO workspaces (id, name, name_key, created_at) VALUES (1, 'Team', 'team', 1);
        INSERT INTO pages (id, workspace_id, title, title_key, position, cover, created_by,
                           created_at, updated_at)
            VALUES (1, 1, 'A', 'a', 'a', 'aaaa.png', 1, 1, 1),
                   (2, 1, 'B', 'b', 'b', 'aaaa.png', 1, 1, 1),
                   (3, 1, 'C', 'c', 'c', 'gone.webp', 1, 1, 1),
                   (4, 1, 'D', 'd', 'd', NULL, 1, 1, 1);
        """,
    )
    conn.close()
    covers = tmp_path / "covers"
    covers.mkdir()
    (covers / "aaaa.png").write_bytes(b"the picture")
    (covers / "unused.png").write_bytes(b"no page shows it")

    storage = SqliteStorage(path)
    await storage.start()
    try:
        assert rows(path, "SELECT name, data FROM cover_images") == [("aaaa.png", b"the picture")]
        assert rows(path, "SELECT id, cover FROM pages ORDER BY id") == [
            (1, "aaaa.png"),
            (2, "aaaa.png"),
            (3, None),  # its file was missing: no cover rather than one that serves nothing
            (4, None),
        ]
        assert await storage.cover_image("aaaa.png") == b"the picture"
    finally:
        await storage.aclose()
    assert sorted(p.name for p in covers.iterdir()) == ["aaaa.png", "unused.png"]  # left as was
