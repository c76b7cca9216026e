"""Migration 0012 on a real database file of the schema before it: reactions older clients
stored as short codes (and the heart typed bare) become the emoji they are now stored as."""

from __future__ import annotations

from pathlib import Path

import pytest

from coope.daemon.storage.sqlite import SqliteStorage
from tests.daemon.old_databases import database_at, rows

BEFORE_EMOJI = 11


@pytest.fixture
def old_db(tmp_path: Path) -> Path:
    """Version 11: bob's and carol's reactions as clients then stored them."""
    path = tmp_path / "coope.db"
    conn = database_at(
        path,
        BEFORE_EMOJI,
        """
        INSERT INTO users (id, username, display_name, role, created_at)
            VALUES (1, 'alice', 'Alice', 'admin', 1), (2, 'bob', 'Bob', 'user', 1),
                   (3, 'carol', 'Carol', 'user', 1);
        INSERT INTO rooms (id, kind, name, name_key, dm_key, created_by, created_at, last_seq)
            VALUES (1, 'group', 'team', 'team', NULL, 1, 1, 2);
        INSERT INTO room_members (room_id, user_id, role, joined_at)
            VALUES (1, 1, 'admin', 1), (1, 2, 'member', 1), (1, 3, 'member', 1);
        INSERT INTO messages (id, room_id, seq, rev, author_id, client_id, body, created_at)
            VALUES (1, 1, 1, 1, 1, 'c1', 'lunch?', 1), (2, 1, 2, 2, 1, 'c2', 'now?', 1);
        INSERT INTO reactions (message_id, user_id, emoji, created_at)
            VALUES (1, 2, ':thumbsup:', 5), (1, 3, ':ThumbsUp:', 6), (1, 3, '👍', 7),
                   (1, 2, ':tada:', 8), (1, 2, ':partyparrot:', 9), (1, 3, 'lol', 10),
                   (2, 2, char(10084), 11), (2, 3, ':heart:', 12), (2, 2, '🎉', 13);
        """,
    )
    conn.close()
    return path


async def test_short_codes_and_the_bare_heart_become_emoji_once_each(old_db: Path) -> None:
    storage = SqliteStorage(old_db)
    await storage.start()
    try:
        (version,) = rows(old_db, "PRAGMA user_version")[0]
        assert isinstance(version, int) and version >= 12
        assert rows(
            old_db,
            "SELECT message_id, user_id, emoji, created_at FROM reactions"
            " ORDER BY message_id, user_id, created_at",
        ) == [
            (1, 2, "👍", 5),
            (1, 2, "🎉", 8),
            (1, 2, ":partyparrot:", 9),  # unknown: as it was, still taken back as typed
            (1, 3, "👍", 7),  # carol's 👍 once, though stored both ways
            (1, 3, "lol", 10),
            (2, 2, "\u2764\ufe0f", 11),
            (2, 2, "🎉", 13),
            (2, 3, "\u2764\ufe0f", 12),
        ]
        messages = await storage.messages(1, before=None, after=None, limit=10)
        assert [m.reactions for m in messages] == [
            {"👍": ["bob", "carol"], "🎉": ["bob"], ":partyparrot:": ["bob"], "lol": ["carol"]},
            {"\u2764\ufe0f": ["bob", "carol"], "🎉": ["bob"]},
        ]
    finally:
        await storage.aclose()
