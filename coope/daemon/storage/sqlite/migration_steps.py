"""The parts of migrations that SQL cannot do, named in a migration by a `-- python: NAME` line
and run inside its transaction (see `database.apply_migrations`)."""

from __future__ import annotations

import logging
import sqlite3
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from coope.core.names import NAME_MAX, first_free, name_key, reads_as_id

log = logging.getLogger(__name__)


def unique_names(conn: sqlite3.Connection) -> None:
    """Fill the name keys (`coope.core.names.name_key`, the function new writes use), renaming
    duplicates in each scope (the oldest keeps its name) and workspaces and group rooms whose
    name reads as an id ("12" becomes "Workspace 12" or "room 12")."""
    _dedupe(
        conn, "workspaces", "name", "name_key", "SELECT id, name, 0, 'Workspace' FROM workspaces"
    )
    _dedupe(
        conn,
        "rooms",
        "name",
        "name_key",
        # Direct rooms have no name of their own: each is its own scope, and no id-like name.
        "SELECT id, name, CASE kind WHEN 'group' THEN 0 ELSE -id END,"
        " CASE kind WHEN 'group' THEN 'room' END FROM rooms",
    )
    _dedupe(
        conn,
        "pages",
        "title",
        "title_key",
        # The roots of what is in the trash are out of their siblings' way: each its own scope.
        # Titles may read as ids: a page is also named by its path (`Team/2024`).
        "SELECT id, title, CASE WHEN archived_root = id THEN 'trash:' || id"
        " ELSE workspace_id || ':' || IFNULL(parent_id, 0) END, NULL FROM pages",
    )


def _dedupe(conn: sqlite3.Connection, table: str, column: str, key_column: str, rows: str) -> None:
    """`rows` selects (id, name, scope, the word an id-like name is prefixed with or NULL)."""
    found = conn.execute(f"{rows} ORDER BY id").fetchall()
    # Every name that is already fine stays as it is, so a duplicate renamed "Team (2)" never
    # takes the name of an existing "Team (2)": the keepers' keys are taken before any renaming.
    taken: dict[object, set[str]] = defaultdict(set)
    renamed = []
    for row_id, name, scope, prefix in found:
        key = name_key(name)
        if prefix is not None and reads_as_id(name):
            renamed.append((row_id, f"{prefix} {name}"[:NAME_MAX], scope))
        elif key in taken[scope]:
            renamed.append((row_id, name, scope))
        else:
            taken[scope].add(key)
            conn.execute(f"UPDATE {table} SET {key_column} = ? WHERE id = ?", (key, row_id))
    for row_id, name, scope in renamed:
        free = first_free(name, taken[scope].__contains__)
        taken[scope].add(name_key(free))
        log.warning("renamed a name", extra={"table": table, "id": row_id, "renamed": free})
        conn.execute(
            f"UPDATE {table} SET {column} = ?, {key_column} = ? WHERE id = ?",
            (free, name_key(free), row_id),
        )


# --- reactions as emoji (0012) ---


def reactions_as_emoji(conn: sqlite3.Connection) -> None:
    """Each stored reaction in its form now (`coope.core.emoji.stored_form`): the row in that
    form is added (unless it is there already) and the old one removed."""
    from coope.core.emoji import stored_form

    kinds = [row[0] for row in conn.execute("SELECT DISTINCT emoji FROM reactions")]
    for old, new in ((k, stored_form(k)) for k in kinds):
        if new == old:
            continue
        conn.execute(
            # The WHERE also keeps SQLite from reading ON CONFLICT as a join's ON.
            "INSERT INTO reactions (message_id, user_id, emoji, created_at)"
            " SELECT message_id, user_id, ?, created_at FROM reactions WHERE emoji = ?"
            " ON CONFLICT DO NOTHING",
            (new, old),
        )
        conn.execute("DELETE FROM reactions WHERE emoji = ?", (old,))


# --- covers in the database (0014) ---


def cover_files_into_database(conn: sqlite3.Connection) -> None:
    """Read the cover files that pages use from the `covers` folder beside the database file.
    A page whose file is missing loses its cover rather than keep a name that serves nothing."""
    path = conn.execute("PRAGMA database_list").fetchone()[2]
    folder = Path(path).parent / "covers" if path else None
    names = [
        row[0] for row in conn.execute("SELECT DISTINCT cover FROM pages WHERE cover IS NOT NULL")
    ]
    for name in names:
        file = folder / name if folder is not None else None
        if file is not None and file.name == name and file.is_file():
            conn.execute(
                "INSERT INTO cover_images (name, data) VALUES (?, ?)", (name, file.read_bytes())
            )
        else:
            log.warning("a page's cover file is missing: cover removed", extra={"cover": name})
            conn.execute("UPDATE pages SET cover = NULL WHERE cover = ?", (name,))


STEPS: dict[str, Callable[[sqlite3.Connection], None]] = {
    "unique_names": unique_names,
    "reactions_as_emoji": reactions_as_emoji,
    "cover_files_into_database": cover_files_into_database,
}
