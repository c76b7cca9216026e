"""SQLite implementation of `SocialStore`: friends, requests, blocks and presence."""

from __future__ import annotations

from coope.core.errors import Forbidden
from coope.core.models import User
from coope.daemon.storage.interface import FriendRequestOutcome, SocialStore, StoredPresence
from coope.daemon.storage.sql.accounts import USER_COLUMNS, user_from_row
from coope.daemon.storage.sql.connection import Conn, Database, Row
from coope.daemon.storage.sql.dialect import for_share, lock

_U = ", ".join(f"u.{c.strip()}" for c in USER_COLUMNS.split(","))


def _exists(conn: Conn, sql: str, *args: object) -> bool:
    return bool(conn.execute(f"SELECT EXISTS ({sql})", args).fetchone()[0])


def blocked_between_txn(conn: Conn, a: int, b: int) -> bool:
    return _exists(
        conn,
        "SELECT 1 FROM blocks WHERE (blocker_id = ? AND blocked_id = ?)"
        " OR (blocker_id = ? AND blocked_id = ?)",
        a,
        b,
        b,
        a,
    )


def are_friends_txn(conn: Conn, a: int, b: int) -> bool:
    return _exists(conn, "SELECT 1 FROM friendships WHERE user_id = ? AND friend_id = ?", a, b)


def _befriend_txn(conn: Conn, a: int, b: int, now: float) -> None:
    conn.execute(
        "DELETE FROM friend_requests"
        " WHERE (from_id = ? AND to_id = ?) OR (from_id = ? AND to_id = ?)",
        (a, b, b, a),
    )
    conn.executemany(
        "INSERT INTO friendships (user_id, friend_id, created_at) VALUES (?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        [(a, b, now), (b, a, now)],
    )


def _lock_pair(conn: Conn, a: int, b: int) -> None:
    """Requests, friendships and blocks between two people change one at a time: requests that
    cross become a friendship, and nothing slips in beside a block."""
    lock(conn, f"pair:{min(a, b)}:{max(a, b)}")


def request_friend_txn(conn: Conn, from_id: int, to_id: int, now: float) -> FriendRequestOutcome:
    _lock_pair(conn, from_id, to_id)
    if blocked_between_txn(conn, from_id, to_id):
        # The same answer whichever side blocked, so a blocked user cannot tell.
        raise Forbidden("you cannot send this user a friend request")
    if are_friends_txn(conn, from_id, to_id):
        return FriendRequestOutcome.ALREADY_FRIENDS
    if _exists(
        conn, "SELECT 1 FROM friend_requests WHERE from_id = ? AND to_id = ?", to_id, from_id
    ):
        _befriend_txn(conn, from_id, to_id, now)
        return FriendRequestOutcome.FRIENDS
    cur = conn.execute(
        "INSERT INTO friend_requests (from_id, to_id, created_at) VALUES (?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (from_id, to_id, now),
    )
    return (
        FriendRequestOutcome.REQUESTED if cur.rowcount else FriendRequestOutcome.ALREADY_REQUESTED
    )


def _users_with_time(conn: Conn, sql: str, arg: int) -> list[tuple[User, float]]:
    return [(user_from_row(r), r["created_at"]) for r in conn.execute(sql, (arg,))]


def friend_requests_txn(
    conn: Conn, user_id: int
) -> tuple[list[tuple[User, float]], list[tuple[User, float]]]:
    incoming = _users_with_time(
        conn,
        f"SELECT {_U}, r.created_at AS created_at FROM friend_requests r"
        " JOIN users u ON u.id = r.from_id WHERE r.to_id = ? ORDER BY r.created_at",
        user_id,
    )
    outgoing = _users_with_time(
        conn,
        f"SELECT {_U}, r.created_at AS created_at FROM friend_requests r"
        " JOIN users u ON u.id = r.to_id WHERE r.from_id = ? ORDER BY r.created_at",
        user_id,
    )
    return incoming, outgoing


def accept_friend_txn(conn: Conn, user_id: int, from_id: int, now: float) -> bool:
    _lock_pair(conn, user_id, from_id)
    if not _exists(
        conn, "SELECT 1 FROM friend_requests WHERE from_id = ? AND to_id = ?", from_id, user_id
    ):
        return False
    _befriend_txn(conn, user_id, from_id, now)
    return True


def block_txn(conn: Conn, blocker_id: int, blocked_id: int, now: float) -> None:
    _lock_pair(conn, blocker_id, blocked_id)
    conn.execute(
        "INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES (?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (blocker_id, blocked_id, now),
    )
    pair = (blocker_id, blocked_id, blocked_id, blocker_id)
    conn.execute(
        "DELETE FROM friendships WHERE (user_id = ? AND friend_id = ?)"
        " OR (user_id = ? AND friend_id = ?)",
        pair,
    )
    conn.execute(
        "DELETE FROM friend_requests"
        " WHERE (from_id = ? AND to_id = ?) OR (from_id = ? AND to_id = ?)",
        pair,
    )


def _presence(row: Row) -> StoredPresence:
    return StoredPresence(
        status=row["status"],
        text=row["text"],
        expires_at=row["expires_at"],
        last_active_at=row["last_active_at"],
    )


class SqlSocial(SocialStore):
    db: Database

    async def request_friend(self, from_id: int, to_id: int, now: float) -> FriendRequestOutcome:
        return await self.db.write(request_friend_txn, from_id, to_id, now)

    async def friend_requests(
        self, user_id: int
    ) -> tuple[list[tuple[User, float]], list[tuple[User, float]]]:
        return await self.db.read(friend_requests_txn, user_id)

    async def accept_friend(self, user_id: int, from_id: int, now: float) -> bool:
        return await self.db.write(accept_friend_txn, user_id, from_id, now)

    async def delete_friend_request(self, from_id: int, to_id: int) -> bool:
        def txn(conn: Conn) -> bool:
            cur = conn.execute(
                "DELETE FROM friend_requests WHERE from_id = ? AND to_id = ?", (from_id, to_id)
            )
            return cur.rowcount > 0

        return await self.db.write(txn)

    async def remove_friend(self, user_id: int, friend_id: int) -> bool:
        def txn(conn: Conn) -> bool:
            cur = conn.execute(
                "DELETE FROM friendships WHERE (user_id = ? AND friend_id = ?)"
                " OR (user_id = ? AND friend_id = ?)",
                (user_id, friend_id, friend_id, user_id),
            )
            return cur.rowcount > 0

        return await self.db.write(txn)

    async def friends(self, user_id: int) -> list[User]:
        def txn(conn: Conn) -> list[User]:
            rows = conn.execute(
                f"SELECT {_U} FROM friendships f JOIN users u ON u.id = f.friend_id"
                " WHERE f.user_id = ? ORDER BY u.username",
                (user_id,),
            )
            return [user_from_row(r) for r in rows]

        return await self.db.read(txn)

    async def friend_ids(self, user_id: int) -> list[int]:
        def txn(conn: Conn) -> list[int]:
            rows = conn.execute("SELECT friend_id FROM friendships WHERE user_id = ?", (user_id,))
            return [r[0] for r in rows]

        return await self.db.read(txn)

    async def are_friends(self, a: int, b: int) -> bool:
        return await self.db.read(are_friends_txn, a, b)

    async def block(self, blocker_id: int, blocked_id: int, now: float) -> None:
        await self.db.write(block_txn, blocker_id, blocked_id, now)

    async def unblock(self, blocker_id: int, blocked_id: int) -> bool:
        def txn(conn: Conn) -> bool:
            cur = conn.execute(
                "DELETE FROM blocks WHERE blocker_id = ? AND blocked_id = ?",
                (blocker_id, blocked_id),
            )
            return cur.rowcount > 0

        return await self.db.write(txn)

    async def blocked_users(self, blocker_id: int) -> list[User]:
        def txn(conn: Conn) -> list[User]:
            rows = conn.execute(
                f"SELECT {_U} FROM blocks b JOIN users u ON u.id = b.blocked_id"
                " WHERE b.blocker_id = ? ORDER BY u.username",
                (blocker_id,),
            )
            return [user_from_row(r) for r in rows]

        return await self.db.read(txn)

    async def is_blocked_between(self, a: int, b: int) -> bool:
        return await self.db.read(blocked_between_txn, a, b)

    # --- presence --------------------------------------------------------------------------

    async def presences(self, user_ids: list[int]) -> dict[int, StoredPresence]:
        def txn(conn: Conn) -> dict[int, StoredPresence]:
            marks = ",".join("?" * len(user_ids))
            rows = conn.execute(
                f"SELECT * FROM user_status WHERE user_id IN ({marks})", user_ids
            ).fetchall()
            found = {r["user_id"]: _presence(r) for r in rows}
            return {uid: found.get(uid, StoredPresence()) for uid in user_ids}

        return await self.db.read(txn) if user_ids else {}

    async def set_chosen_status(
        self, user_id: int, status: str, text: str, expires_at: float | None
    ) -> None:
        def txn(conn: Conn) -> None:
            conn.execute(
                "INSERT INTO user_status (user_id, status, text, expires_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (user_id) DO UPDATE SET status = excluded.status,"
                " text = excluded.text, expires_at = excluded.expires_at",
                (user_id, status, text, expires_at),
            )

        await self.db.write(txn)

    async def set_last_active(self, user_id: int, when: float) -> None:
        def txn(conn: Conn) -> None:
            conn.execute(
                # A deleted account's last request (its own deletion) or its sockets closing
                # after it leave no row behind.
                "INSERT INTO user_status (user_id, last_active_at)"
                " SELECT ?, ? WHERE EXISTS"
                f" (SELECT 1 FROM users WHERE id = ? AND deleted_at IS NULL{for_share(conn)})"
                # Qualified: for PostgreSQL a bare last_active_at could be excluded's too.
                " ON CONFLICT (user_id) DO UPDATE SET last_active_at = excluded.last_active_at"
                " WHERE user_status.last_active_at IS NULL"
                " OR user_status.last_active_at < excluded.last_active_at",
                (user_id, when, user_id),
            )

        await self.db.write(txn)

    async def status_ends(self, after: float) -> list[tuple[int, float]]:
        def txn(conn: Conn) -> list[tuple[int, float]]:
            rows = conn.execute(
                "SELECT user_id, expires_at FROM user_status WHERE expires_at > ?", (after,)
            )
            return [(r[0], r[1]) for r in rows]

        return await self.db.read(txn)
