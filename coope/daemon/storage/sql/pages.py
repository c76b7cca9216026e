"""SQLite implementation of `PageStore`: the page tree, content log and snapshots, search."""

from __future__ import annotations

from collections.abc import Callable

from coope.core.errors import Conflict, InvalidInput, NotFound
from coope.core.models import Page
from coope.core.names import first_free, name_key
from coope.daemon.storage.interface import NewPage, PageStore
from coope.daemon.storage.sql.connection import Conn, Database, Row
from coope.daemon.storage.sql.dialect import (
    fts_match,
    greatest,
    is_sqlite,
    lock,
    lock_row,
    same_as,
    unique_or,
)
from coope.daemon.storage.sql.workspaces import drop_unused_covers_txn

_PAGE_COLUMNS = (
    "id, workspace_id, parent_id, title, icon, cover, position, archived_root, created_by,"
    " created_at, updated_at"
)


def _page(row: Row) -> Page:
    return Page(
        id=row["id"],
        workspace_id=row["workspace_id"],
        parent_id=row["parent_id"],
        title=row["title"],
        icon=row["icon"],
        cover=row["cover"],
        position=row["position"],
        archived_root=row["archived_root"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def get_page_txn(conn: Conn, page_id: int) -> Page | None:
    row = conn.execute(f"SELECT {_PAGE_COLUMNS} FROM pages WHERE id = ?", (page_id,)).fetchone()
    return _page(row) if row else None


def _require_page(conn: Conn, page_id: int) -> Page:
    page = get_page_txn(conn, page_id)
    if page is None:
        raise NotFound("no such page")
    return page


# Titles are unique among the pages in this index: every page but the roots of what is in the
# trash (see migration 0007). A page leaves it by becoming such a root (`archived_root = id`).
_IN_TITLE_SCOPE = "(archived_root IS NULL OR archived_root <> id)"


def _title_taken(conn: Conn, title: str, parent_id: int | None) -> Callable[[], Conflict]:
    """The conflict for a write that gave a page a sibling's title."""

    def conflict() -> Conflict:
        parent = get_page_txn(conn, parent_id) if parent_id is not None else None
        where = f"under {parent.title!r}" if parent else "at the top of the workspace"
        return Conflict(
            f"there is already a page called {title!r} {where} (titles are unique among the"
            " pages under one parent, whatever the case)",
            details={"field": "title"},
        )

    return conflict


def _sibling_by_key_txn(
    conn: Conn, workspace_id: int, parent_id: int | None, key: str
) -> Page | None:
    under, under_params = same_as("parent_id", parent_id)
    row = conn.execute(
        f"SELECT {_PAGE_COLUMNS} FROM pages WHERE workspace_id = ? AND {under}"
        f" AND title_key = ? AND {_IN_TITLE_SCOPE}",
        (workspace_id, *under_params, key),
    ).fetchone()
    return _page(row) if row else None


def _free_title_txn(conn: Conn, workspace_id: int, parent_id: int | None, title: str) -> str:
    """`title`, or "Title (2)" (the first free number) if a page under `parent_id` has it."""
    return first_free(
        title, lambda key: _sibling_by_key_txn(conn, workspace_id, parent_id, key) is not None
    )


def find_sibling_txn(
    conn: Conn, workspace_id: int, parent_id: int | None, title: str
) -> Page | None:
    return _sibling_by_key_txn(conn, workspace_id, parent_id, name_key(title))


def _subtree_ids(conn: Conn, page_id: int) -> list[int]:
    # The CAST: psycopg sends a small int as a smallint, and PostgreSQL wants both halves of the
    # recursion to be of one type.
    rows = conn.execute(
        "WITH RECURSIVE sub(id) AS (SELECT CAST(? AS BIGINT) UNION ALL"
        " SELECT p.id FROM pages p JOIN sub ON p.parent_id = sub.id) SELECT id FROM sub",
        (page_id,),
    )
    return [r[0] for r in rows]


def _page_in_locked_tree(conn: Conn, page_id: int) -> Page:
    """The page, read once its workspace's tree is locked: moves, titles among siblings and
    the trash are rules over many rows, which concurrent writers (PostgreSQL) must take turns
    to check and change."""
    page = _require_page(conn, page_id)
    if is_sqlite(conn):
        return page
    lock_row(conn, "workspaces", page.workspace_id)
    return _require_page(conn, page_id)


def move_page_txn(
    conn: Conn, page_id: int, parent_id: int | None, position: str, now: float
) -> Page:
    page = _page_in_locked_tree(conn, page_id)
    if parent_id is not None:
        if parent_id in _subtree_ids(conn, page_id):
            raise InvalidInput("a page cannot move under itself or one of its own sub-pages")
        # One answer for a missing parent and another workspace's page: no existence oracle.
        parent = get_page_txn(conn, parent_id)
        if parent is None or parent.workspace_id != page.workspace_id or parent.archived:
            raise InvalidInput("the parent must be a live page of the same workspace")
    with unique_or(conn, _title_taken(conn, page.title, parent_id)):
        conn.execute(
            "UPDATE pages SET parent_id = ?, position = ?, updated_at = ? WHERE id = ?",
            (parent_id, position, now, page_id),
        )
    return _require_page(conn, page_id)


def _move_to_top_txn(conn: Conn, page: Page) -> None:
    """Put a page at the top of its workspace, renamed "Title (2)" if a page there has the title
    (pages in the trash are nobody's siblings and keep theirs)."""
    title = page.title
    if page.archived_root != page.id:
        title = _free_title_txn(conn, page.workspace_id, None, page.title)
    conn.execute(
        "UPDATE pages SET parent_id = NULL, title = ?, title_key = ? WHERE id = ?",
        (title, name_key(title), page.id),
    )


def restore_txn(conn: Conn, root_id: int, now: float) -> Page:
    root = _page_in_locked_tree(conn, root_id)
    if root.archived_root != root_id:
        raise InvalidInput("only the page that was archived can be restored, with its sub-pages")
    parent = get_page_txn(conn, root.parent_id) if root.parent_id is not None else None
    parent_id = root.parent_id if parent is not None and not parent.archived else None
    # Back among siblings that may have taken its title meanwhile: it comes back as "Title (2)".
    title = _free_title_txn(conn, root.workspace_id, parent_id, root.title)
    conn.execute(
        "UPDATE pages SET parent_id = ?, title = ?, title_key = ? WHERE id = ?",
        (parent_id, title, name_key(title), root_id),
    )
    conn.execute(
        "UPDATE pages SET archived_root = NULL, updated_at = ? WHERE archived_root = ?",
        (now, root_id),
    )
    return _require_page(conn, root_id)


def delete_subtree_txn(conn: Conn, root_id: int) -> list[int]:
    root = _page_in_locked_tree(conn, root_id)
    if root.archived_root != root_id:
        raise InvalidInput("archive the page first; pages are deleted for good from the trash")
    rows = conn.execute(
        "SELECT id, cover FROM pages WHERE archived_root = ? ORDER BY id", (root_id,)
    ).fetchall()
    ids = [r[0] for r in rows]
    marks = ",".join("?" * len(ids))
    # Pages archived on their own before (their own trash roots) may hang under these: they
    # stay, on top, as "Title (2)" if the top has the title. Which of them keeps a title goes
    # by this order, stated so that every database gives the one SQLite's index gave unasked.
    kept = conn.execute(
        f"SELECT id FROM pages WHERE parent_id IN ({marks}) AND id NOT IN ({marks})"
        " ORDER BY parent_id, id",
        [*ids, *ids],
    ).fetchall()
    for (page_id,) in kept:
        _move_to_top_txn(conn, _require_page(conn, page_id))
    # Children first (a page's parent must exist while the page does). On their way out they
    # leave the titles' index as trash roots: no key of theirs can meet a live page's.
    conn.execute(
        f"UPDATE pages SET parent_id = NULL, archived_root = id WHERE id IN ({marks})", ids
    )
    conn.execute(f"DELETE FROM pages WHERE id IN ({marks})", ids)
    drop_unused_covers_txn(conn, [r[1] for r in rows if r[1]])
    return ids


class SqlPages(PageStore):
    db: Database

    async def create_page(self, new: NewPage, content: bytes | None) -> Page:
        def txn(conn: Conn) -> Page:
            lock_row(conn, "workspaces", new.workspace_id)  # see _page_in_locked_tree
            title = new.title
            if new.number_if_taken:
                title = _free_title_txn(conn, new.workspace_id, new.parent_id, title)
            with unique_or(conn, _title_taken(conn, title, new.parent_id)):
                page_id = conn.execute(
                    "INSERT INTO pages (workspace_id, parent_id, title, title_key, icon, position,"
                    " created_by, created_at, updated_at, snapshot)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    (
                        new.workspace_id,
                        new.parent_id,
                        title,
                        name_key(title),
                        new.icon,
                        new.position,
                        new.created_by,
                        new.created_at,
                        new.created_at,
                        content,
                    ),
                ).fetchone()[0]
            return _require_page(conn, page_id)

        return await self.db.write(txn)

    async def get_page(self, page_id: int) -> Page | None:
        return await self.db.read(get_page_txn, page_id)

    async def find_sibling(
        self, workspace_id: int, parent_id: int | None, title: str
    ) -> Page | None:
        return await self.db.read(find_sibling_txn, workspace_id, parent_id, title)

    async def pages_of(self, workspace_id: int, *, archived: bool = False) -> list[Page]:
        def txn(conn: Conn) -> list[Page]:
            where = "archived_root = id" if archived else "archived_root IS NULL"
            rows = conn.execute(
                f"SELECT {_PAGE_COLUMNS} FROM pages WHERE workspace_id = ? AND {where}"
                " ORDER BY position, id",
                (workspace_id,),
            )
            return [_page(r) for r in rows]

        return await self.db.read(txn)

    async def last_child_position(self, workspace_id: int, parent_id: int | None) -> str | None:
        def txn(conn: Conn) -> str | None:
            under, under_params = same_as("parent_id", parent_id)
            row = conn.execute(
                f"SELECT MAX(position) FROM pages WHERE workspace_id = ? AND {under}",
                (workspace_id, *under_params),
            ).fetchone()
            return row[0] if row else None

        return await self.db.read(txn)

    async def update_page(
        self,
        page_id: int,
        now: float,
        *,
        title: str | None = None,
        icon: str | None = None,
        cover: tuple[str, bytes] | None = None,
        clear_cover: bool = False,
    ) -> Page:
        def txn(conn: Conn) -> Page:
            page = _page_in_locked_tree(conn, page_id)
            fields: dict[str, object] = {"updated_at": now}
            if title is not None:
                fields["title"] = title
                fields["title_key"] = name_key(title)
            if icon is not None:
                fields["icon"] = icon
            if cover is not None:
                name, image = cover
                # See drop_unused_covers_txn; the old one too, in name order, so that two pages
                # swapping pictures never wait on each other.
                for held in sorted({name, page.cover or name}):
                    lock(conn, f"cover:{held}")
                conn.execute(
                    "INSERT INTO cover_images (name, data) VALUES (?, ?) ON CONFLICT DO NOTHING",
                    (name, image),
                )
                fields["cover"] = name
            elif clear_cover:
                fields["cover"] = None
            sets = ", ".join(f"{k} = ?" for k in fields)
            with unique_or(conn, _title_taken(conn, title or page.title, page.parent_id)):
                conn.execute(f"UPDATE pages SET {sets} WHERE id = ?", [*fields.values(), page_id])
            if page.cover is not None and "cover" in fields:
                drop_unused_covers_txn(conn, [page.cover])
            return _require_page(conn, page_id)

        return await self.db.write(txn)

    async def move_page(
        self, page_id: int, parent_id: int | None, position: str, now: float
    ) -> Page:
        return await self.db.write(move_page_txn, page_id, parent_id, position, now)

    async def archive_subtree(self, page_id: int, now: float) -> list[int]:
        def txn(conn: Conn) -> list[int]:
            if _page_in_locked_tree(conn, page_id).archived:
                raise InvalidInput("this page is already in the trash")
            ids = [
                i
                for i in _subtree_ids(conn, page_id)
                if get_page_txn(conn, i) is not None and not _require_page(conn, i).archived
            ]
            marks = ",".join("?" * len(ids))
            conn.execute(
                f"UPDATE pages SET archived_root = ?, updated_at = ? WHERE id IN ({marks})",
                [page_id, now, *ids],
            )
            return ids

        return await self.db.write(txn)

    async def restore_subtree(self, root_id: int, now: float) -> Page:
        return await self.db.write(restore_txn, root_id, now)

    async def delete_subtree(self, root_id: int) -> list[int]:
        return await self.db.write(delete_subtree_txn, root_id)

    async def search_pages(
        self, workspace_ids: list[int], terms: list[str], limit: int
    ) -> list[tuple[Page, str]]:
        def txn(conn: Conn) -> list[tuple[Page, str]]:
            marks = ",".join("?" * len(workspace_ids))
            columns = ", ".join("p." + c.strip() for c in _PAGE_COLUMNS.split(","))
            if is_sqlite(conn):
                rows = conn.execute(
                    f"SELECT {columns}, snippet(pages_fts, -1, '[', ']', '…', 12) AS snippet"
                    " FROM pages_fts f JOIN pages p ON p.id = f.rowid"
                    f" WHERE pages_fts MATCH ? AND p.workspace_id IN ({marks})"
                    " AND p.archived_root IS NULL ORDER BY f.rank LIMIT ?",
                    [fts_match(terms, prefix=True), *workspace_ids, limit],
                )
            else:  # `words`: a generated tsvector column (postgres/migrations)
                rows = conn.execute(
                    f"SELECT {columns}, coope_snippet(p.title || ' ' || p.body_text, q) AS snippet"
                    " FROM pages p, coope_tsquery(?, true) q"
                    f" WHERE p.words @@ q AND p.workspace_id IN ({marks})"
                    " AND p.archived_root IS NULL ORDER BY ts_rank_cd(p.words, q) DESC, p.id"
                    " LIMIT ?",
                    [terms, *workspace_ids, limit],
                )
            return [(_page(r), r["snippet"]) for r in rows]

        return await self.db.read(txn) if workspace_ids else []

    async def load_content(self, page_id: int) -> tuple[bytes | None, list[bytes], int]:
        def txn(conn: Conn) -> tuple[bytes | None, list[bytes], int]:
            row = conn.execute(
                "SELECT snapshot, snapshot_seq FROM pages WHERE id = ?", (page_id,)
            ).fetchone()
            if row is None:
                raise NotFound("no such page")
            updates = conn.execute(
                "SELECT seq, data FROM page_updates WHERE page_id = ? ORDER BY seq", (page_id,)
            ).fetchall()
            last = updates[-1][0] if updates else row["snapshot_seq"]
            return row["snapshot"], [u["data"] for u in updates], int(last)

        return await self.db.read(txn)

    async def content_after(
        self, page_id: int, seq: int
    ) -> tuple[bytes | None, int, list[tuple[int, bytes]]]:
        def txn(conn: Conn) -> tuple[bytes | None, int, list[tuple[int, bytes]]]:
            row = conn.execute(
                "SELECT snapshot, snapshot_seq FROM pages WHERE id = ?", (page_id,)
            ).fetchone()
            if row is None:
                raise NotFound("no such page")
            covers = int(row["snapshot_seq"])
            snapshot = bytes(row["snapshot"]) if covers > seq and row["snapshot"] else None
            after = max(seq, covers)
            updates = conn.execute(
                "SELECT seq, data FROM page_updates WHERE page_id = ? AND seq > ? ORDER BY seq",
                (page_id, after),
            ).fetchall()
            return snapshot, after, [(int(u[0]), bytes(u[1])) for u in updates]

        return await self.db.read(txn)

    async def append_update(self, page_id: int, data: bytes, now: float) -> int:
        def txn(conn: Conn) -> int:
            # The page's row first: it stays locked to the commit, so concurrent appends
            # (other nodes) take their numbers one after the other. The number is read by a
            # statement of its own, which sees what the append before this one committed.
            cur = conn.execute("UPDATE pages SET updated_at = ? WHERE id = ?", (now, page_id))
            if not cur.rowcount:
                raise NotFound("no such page")
            row = conn.execute(
                f"SELECT {greatest(conn)}("
                "COALESCE((SELECT MAX(seq) FROM page_updates WHERE page_id = ?), 0),"
                " snapshot_seq) FROM pages WHERE id = ?",
                (page_id, page_id),
            ).fetchone()
            seq = int(row[0]) + 1
            conn.execute(
                "INSERT INTO page_updates (page_id, seq, data) VALUES (?, ?, ?)",
                (page_id, seq, data),
            )
            return seq

        return await self.db.write(txn)

    async def compact(self, page_id: int, snapshot: bytes, upto_seq: int) -> None:
        def txn(conn: Conn) -> None:
            # Never over a newer snapshot (an older compaction finishing late).
            conn.execute(
                "UPDATE pages SET snapshot = ?, snapshot_seq = ? WHERE id = ? AND snapshot_seq < ?",
                (snapshot, upto_seq, page_id, upto_seq),
            )
            conn.execute(
                "DELETE FROM page_updates WHERE page_id = ? AND seq <= ?", (page_id, upto_seq)
            )

        await self.db.write(txn)

    async def set_body_text(self, page_id: int, text: str) -> None:
        def txn(conn: Conn) -> None:
            conn.execute("UPDATE pages SET body_text = ? WHERE id = ?", (text, page_id))

        await self.db.write(txn)

    async def cover_image(self, name: str) -> bytes | None:
        def txn(conn: Conn) -> bytes | None:
            row = conn.execute("SELECT data FROM cover_images WHERE name = ?", (name,)).fetchone()
            return bytes(row[0]) if row else None

        return await self.db.read(txn)
