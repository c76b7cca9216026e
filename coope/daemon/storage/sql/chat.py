"""SQLite implementation of `ChatStore`: rooms, members, messages, reactions, search.

Every change in a room (a message posted, edited, deleted or reacted to) takes the room's next
sequence number inside the same transaction, so the order is one and the same for every reader,
and a client that saw number N can ask for exactly what changed after it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from coope.core.errors import Conflict, InvalidInput, NotFound
from coope.core.models import Message, Room, RoomKind, RoomMember, RoomRole, RoomSummary, User
from coope.core.names import name_key
from coope.daemon.storage.interface import ChatStore, RoomInvite
from coope.daemon.storage.sql.accounts import USER_COLUMNS, user_from_row
from coope.daemon.storage.sql.connection import Conn, Database, Row
from coope.daemon.storage.sql.dialect import (
    fts_match,
    greatest,
    is_sqlite,
    least,
    lock_row,
    unique_or,
)

_MESSAGE_SELECT = (
    "SELECT m.*, u.username AS author,"
    " (SELECT r.seq FROM messages r WHERE r.id = m.reply_to) AS reply_to_seq"
    " FROM messages m JOIN users u ON u.id = m.author_id"
)


def _room(row: Row) -> Room:
    return Room(
        id=row["id"],
        kind=RoomKind(row["kind"]),
        name=row["name"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        last_seq=row["last_seq"],
    )


def _member(row: Row) -> RoomMember:
    return RoomMember(
        user_id=row["user_id"],
        username=row["username"],
        role=RoomRole(row["role"]),
        joined_at=row["joined_at"],
        last_read_seq=row["last_read_seq"],
    )


def _messages(conn: Conn, rows: list[Row]) -> list[Message]:
    reactions: dict[int, dict[str, list[str]]] = defaultdict(dict)
    if rows:
        ids = [r["id"] for r in rows]
        for r in conn.execute(
            "SELECT r.message_id, r.emoji, u.username FROM reactions r"
            f" JOIN users u ON u.id = r.user_id WHERE r.message_id IN ({','.join('?' * len(ids))})"
            " ORDER BY r.created_at, u.username",
            ids,
        ):
            reactions[r["message_id"]].setdefault(r["emoji"], []).append(r["username"])
    return [_message(r, reactions.get(r["id"], {})) for r in rows]


def _message(r: Row, reactions: dict[str, list[str]]) -> Message:
    return Message(
        id=r["id"],
        room_id=r["room_id"],
        seq=r["seq"],
        rev=r["rev"],
        author_id=r["author_id"],
        author=r["author"],
        client_id=r["client_id"],
        body=r["body"],
        reply_to=r["reply_to"],
        created_at=r["created_at"],
        edited_at=r["edited_at"],
        deleted=bool(r["deleted"]),
        reactions=reactions,
        reply_to_seq=r["reply_to_seq"],
    )


def get_room_txn(conn: Conn, room_id: int) -> Room | None:
    row = conn.execute("SELECT * FROM rooms WHERE id = ?", (room_id,)).fetchone()
    return _room(row) if row else None


def get_message_txn(conn: Conn, message_id: int) -> Message | None:
    rows = conn.execute(f"{_MESSAGE_SELECT} WHERE m.id = ?", (message_id,)).fetchall()
    found = _messages(conn, rows)
    return found[0] if found else None


def _require_message(conn: Conn, message_id: int) -> Message:
    message = get_message_txn(conn, message_id)
    if message is None:
        raise NotFound("no such message")
    return message


def _next_seq(conn: Conn, room_id: int) -> int:
    row = conn.execute(
        "UPDATE rooms SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq", (room_id,)
    ).fetchone()
    if row is None:
        raise NotFound("no such room")
    return int(row[0])


def _room_name_taken(name: str) -> Callable[[], Conflict]:
    return lambda: Conflict(
        f"there is already a room called #{name} (group room names are unique on the daemon,"
        " whatever the case)",
        details={"field": "name"},
    )


def _dm_key(a: int, b: int) -> str:
    return f"{min(a, b)}:{max(a, b)}"


def _insert_member(conn: Conn, room_id: int, user_id: int, role: RoomRole, now: float) -> bool:
    cur = conn.execute(
        "INSERT INTO room_members (room_id, user_id, role, joined_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (room_id, user_id, role.value, now),
    )
    return cur.rowcount > 0


def get_or_create_dm_txn(conn: Conn, a: int, b: int, now: float) -> tuple[Room, bool]:
    row = conn.execute("SELECT * FROM rooms WHERE dm_key = ?", (_dm_key(a, b),)).fetchone()
    if row is not None:
        return _room(row), False
    room_id = conn.execute(
        "INSERT INTO rooms (kind, name, dm_key, created_by, created_at) VALUES ('dm', '', ?, ?, ?)"
        " RETURNING id",
        (_dm_key(a, b), a, now),
    ).fetchone()[0]
    for user_id in (a, b):
        _insert_member(conn, room_id, user_id, RoomRole.MEMBER, now)
    room = get_room_txn(conn, room_id)
    assert room is not None
    return room, True


def create_group_txn(
    conn: Conn,
    creator_id: int,
    name: str,
    member_ids: list[int],
    now: float,
    invited_ids: list[int],
) -> Room:
    with unique_or(conn, _room_name_taken(name)):
        room_id = conn.execute(
            "INSERT INTO rooms (kind, name, name_key, created_by, created_at)"
            " VALUES ('group', ?, ?, ?, ?) RETURNING id",
            (name, name_key(name), creator_id, now),
        ).fetchone()[0]
    _insert_member(conn, room_id, creator_id, RoomRole.ADMIN, now)
    for user_id in member_ids:
        _insert_member(conn, room_id, user_id, RoomRole.MEMBER, now)
    for user_id in invited_ids:
        invite_member_txn(conn, room_id, user_id, creator_id, now)
    room = get_room_txn(conn, room_id)
    assert room is not None
    return room


def add_member_txn(conn: Conn, room_id: int, user_id: int, now: float) -> bool:
    conn.execute("DELETE FROM room_invites WHERE room_id = ? AND user_id = ?", (room_id, user_id))
    return _insert_member(conn, room_id, user_id, RoomRole.MEMBER, now)


def _is_member(conn: Conn, room_id: int, user_id: int) -> bool:
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM room_members WHERE room_id = ? AND user_id = ?)",
        (room_id, user_id),
    ).fetchone()
    return bool(row[0])


def invite_member_txn(conn: Conn, room_id: int, user_id: int, invited_by: int, now: float) -> bool:
    if _is_member(conn, room_id, user_id):
        return False
    cur = conn.execute(
        "INSERT INTO room_invites (room_id, user_id, invited_by, created_at)"
        " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (room_id, user_id, invited_by, now),
    )
    return cur.rowcount > 0


_NOT_BLOCKED = (
    " AND NOT EXISTS (SELECT 1 FROM blocks b"
    " WHERE (b.blocker_id = i.user_id AND b.blocked_id = i.invited_by)"
    " OR (b.blocker_id = i.invited_by AND b.blocked_id = i.user_id))"
)


def _invites(conn: Conn, where: str, args: list[object]) -> list[RoomInvite]:
    rows = conn.execute(
        "SELECT i.room_id, i.user_id, i.invited_by, i.created_at AS invited_at FROM room_invites i"
        f" WHERE {where} ORDER BY i.created_at, i.room_id, i.user_id",
        args,
    ).fetchall()
    if not rows:
        return []
    room_ids = sorted({r["room_id"] for r in rows})
    user_ids = sorted({r["user_id"] for r in rows} | {r["invited_by"] for r in rows})
    rooms = {
        r["id"]: _room(r)
        for r in conn.execute(
            f"SELECT * FROM rooms WHERE id IN ({','.join('?' * len(room_ids))})", room_ids
        )
    }
    users: dict[int, User] = {
        r["id"]: user_from_row(r)
        for r in conn.execute(
            f"SELECT {USER_COLUMNS} FROM users WHERE id IN ({','.join('?' * len(user_ids))})",
            user_ids,
        )
    }
    return [
        RoomInvite(
            room=rooms[r["room_id"]],
            user=users[r["user_id"]],
            invited_by=users[r["invited_by"]],
            created_at=r["invited_at"],
        )
        for r in rows
    ]


def room_invites_txn(conn: Conn, room_ids: list[int]) -> dict[int, list[RoomInvite]]:
    found: dict[int, list[RoomInvite]] = defaultdict(list)
    if room_ids:
        where = f"i.room_id IN ({','.join('?' * len(room_ids))})" + _NOT_BLOCKED
        for invite in _invites(conn, where, list(room_ids)):
            found[invite.room.id].append(invite)
    return found


def invites_of_txn(conn: Conn, user_id: int) -> tuple[list[RoomInvite], list[RoomInvite]]:
    incoming = _invites(conn, "i.user_id = ?" + _NOT_BLOCKED, [user_id])
    outgoing = _invites(conn, "i.invited_by = ?" + _NOT_BLOCKED, [user_id])
    return incoming, outgoing


def accept_invite_txn(conn: Conn, room_id: int, user_id: int, now: float) -> bool:
    cur = conn.execute(
        "DELETE FROM room_invites WHERE room_id = ? AND user_id = ?", (room_id, user_id)
    )
    if not cur.rowcount:
        return False
    _insert_member(conn, room_id, user_id, RoomRole.MEMBER, now)
    return True


def delete_invite_txn(conn: Conn, room_id: int, user_id: int) -> RoomInvite | None:
    found = _invites(conn, "i.room_id = ? AND i.user_id = ?", [room_id, user_id])
    if not found:
        return None
    conn.execute("DELETE FROM room_invites WHERE room_id = ? AND user_id = ?", (room_id, user_id))
    return found[0]


def room_members_txn(conn: Conn, room_ids: list[int]) -> dict[int, list[RoomMember]]:
    members: dict[int, list[RoomMember]] = defaultdict(list)
    if room_ids:
        for row in conn.execute(
            "SELECT rm.*, u.username FROM room_members rm JOIN users u ON u.id = rm.user_id"
            f" WHERE rm.room_id IN ({','.join('?' * len(room_ids))})"
            " ORDER BY rm.joined_at, u.username",
            room_ids,
        ):
            members[row["room_id"]].append(_member(row))
    return members


def rooms_of_txn(conn: Conn, user_id: int) -> list[RoomSummary]:
    rows = conn.execute(
        "SELECT r.*, m.last_read_seq AS my_read,"
        " (SELECT COUNT(*) FROM messages x WHERE x.room_id = r.id AND x.seq > m.last_read_seq"
        "  AND x.author_id != m.user_id AND x.deleted = 0) AS unread"
        " FROM room_members m JOIN rooms r ON r.id = m.room_id WHERE m.user_id = ?"
        " ORDER BY COALESCE((SELECT x.created_at FROM messages x WHERE x.room_id = r.id"
        "  ORDER BY x.seq DESC LIMIT 1), r.created_at) DESC, r.id DESC",
        (user_id,),
    ).fetchall()
    members = room_members_txn(conn, [r["id"] for r in rows])
    return [
        RoomSummary(_room(r), members[r["id"]], int(r["unread"]), int(r["my_read"])) for r in rows
    ]


def remove_member_txn(conn: Conn, room_id: int, user_id: int) -> bool:
    lock_row(conn, "rooms", room_id)  # two admins leaving at once: the second sees the first go
    cur = conn.execute(
        "DELETE FROM room_members WHERE room_id = ? AND user_id = ?", (room_id, user_id)
    )
    if not cur.rowcount:
        return False
    has_admin = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM room_members WHERE room_id = ? AND role = 'admin')",
        (room_id,),
    ).fetchone()[0]
    if not has_admin:
        # A room is never left without someone who can manage it.
        conn.execute(
            "UPDATE room_members SET role = 'admin' WHERE room_id = ? AND user_id = ("
            " SELECT user_id FROM room_members WHERE room_id = ? ORDER BY joined_at, user_id"
            " LIMIT 1)",
            (room_id, room_id),
        )
    return True


def post_message_txn(
    conn: Conn,
    room_id: int,
    author_id: int,
    client_id: str,
    body: str,
    reply_to: int | None,
    now: float,
) -> tuple[Message, bool]:
    rows = conn.execute(
        f"{_MESSAGE_SELECT} WHERE m.author_id = ? AND m.client_id = ?", (author_id, client_id)
    ).fetchall()
    if rows:
        earlier = _messages(conn, rows)[0]
        if earlier.room_id != room_id:
            raise Conflict(f"client id {client_id!r} was already used for another message")
        return earlier, False
    reply_seq = None
    if reply_to is not None:
        answered = conn.execute(
            "SELECT seq FROM messages WHERE id = ? AND room_id = ?", (reply_to, room_id)
        ).fetchone()
        if answered is None:
            raise InvalidInput(
                "reply_to: no such message in this room", details={"field": "reply_to"}
            )
        reply_seq = int(answered[0])
    seq = _next_seq(conn, room_id)
    row = conn.execute(
        "INSERT INTO messages (room_id, seq, rev, author_id, client_id, body, reply_to, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        " RETURNING *, (SELECT username FROM users WHERE id = author_id) AS author,"
        " ? AS reply_to_seq",
        (room_id, seq, seq, author_id, client_id, body, reply_to, now, reply_seq),
    ).fetchone()
    # A new message has no reactions: no need for _messages' second query on the hot path.
    return _message(row, {}), True


def _message_to_change(conn: Conn, message_id: int) -> Message:
    """The message, read once its room is locked: every change in a room takes the room's row
    for its sequence number anyway, so a delete under way is seen, not overtaken."""
    message = _require_message(conn, message_id)
    if is_sqlite(conn):
        return message
    lock_row(conn, "rooms", message.room_id)
    return _require_message(conn, message_id)


def edit_message_txn(conn: Conn, message_id: int, body: str, now: float) -> Message:
    message = _message_to_change(conn, message_id)
    if message.deleted:
        raise Conflict("this message was deleted")
    rev = _next_seq(conn, message.room_id)
    conn.execute(
        "UPDATE messages SET body = ?, edited_at = ?, rev = ? WHERE id = ?",
        (body, now, rev, message_id),
    )
    return _require_message(conn, message_id)


def delete_message_txn(conn: Conn, message_id: int, now: float) -> Message:
    message = _message_to_change(conn, message_id)
    if message.deleted:
        return message
    rev = _next_seq(conn, message.room_id)
    conn.execute("DELETE FROM reactions WHERE message_id = ?", (message_id,))
    conn.execute(
        "UPDATE messages SET body = '', deleted = 1, edited_at = ?, rev = ? WHERE id = ?",
        (now, rev, message_id),
    )
    return _require_message(conn, message_id)


def set_reaction_txn(
    conn: Conn, message_id: int, user_id: int, emoji: str, on: bool, now: float
) -> Message:
    message = _message_to_change(conn, message_id)
    if message.deleted:
        raise Conflict("this message was deleted")
    if on:
        cur = conn.execute(
            "INSERT INTO reactions (message_id, user_id, emoji, created_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (message_id, user_id, emoji, now),
        )
    else:
        cur = conn.execute(
            "DELETE FROM reactions WHERE message_id = ? AND user_id = ? AND emoji = ?",
            (message_id, user_id, emoji),
        )
        if not cur.rowcount:
            raise NotFound("no such reaction")
    if cur.rowcount:  # only a real change takes a sequence number
        conn.execute(
            "UPDATE messages SET rev = ? WHERE id = ?",
            (_next_seq(conn, message.room_id), message_id),
        )
    return _require_message(conn, message_id)


def messages_txn(
    conn: Conn, room_id: int, before: int | None, after: int | None, limit: int
) -> list[Message]:
    where, args = ["m.room_id = ?"], [room_id]
    if before is not None:
        where.append("m.seq < ?")
        args.append(before)
    if after is not None:
        where.append("m.seq > ?")
        args.append(after)
    # Without `after`, the newest page is wanted (read backwards, then put in order).
    order = "ASC" if after is not None else "DESC"
    rows = conn.execute(
        f"{_MESSAGE_SELECT} WHERE {' AND '.join(where)} ORDER BY m.seq {order} LIMIT ?",
        [*args, limit],
    ).fetchall()
    messages = _messages(conn, rows)
    return messages if after is not None else messages[::-1]


def changes_txn(conn: Conn, room_id: int, after_rev: int, limit: int) -> list[Message]:
    rows = conn.execute(
        f"{_MESSAGE_SELECT} WHERE m.room_id = ? AND m.rev > ? ORDER BY m.rev LIMIT ?",
        (room_id, after_rev, limit),
    ).fetchall()
    return _messages(conn, rows)


def mark_read_txn(conn: Conn, room_id: int, user_id: int, seq: int) -> int:
    row = conn.execute(
        f"UPDATE room_members SET last_read_seq = {greatest(conn)}(last_read_seq,"
        f" {least(conn)}(?, (SELECT last_seq FROM rooms WHERE id = ?)))"
        " WHERE room_id = ? AND user_id = ? RETURNING last_read_seq",
        (seq, room_id, room_id, user_id),
    ).fetchone()
    if row is None:
        raise NotFound("no such room")
    return int(row[0])


def search_txn(
    conn: Conn, user_id: int, terms: list[str], room_id: int | None, limit: int
) -> list[Message]:
    if is_sqlite(conn):
        match = "JOIN messages_fts f ON f.rowid = m.id WHERE messages_fts MATCH ?"
        rank = "f.rank"
        args: list[object] = [fts_match(terms)]
    else:  # `body_words`: a generated tsvector column (postgres/migrations)
        match = ", coope_tsquery(?, false) q WHERE m.body_words @@ q"
        rank = "ts_rank_cd(m.body_words, q) DESC"
        args = [terms]
    sql = (
        f"{_MESSAGE_SELECT} {match} AND m.deleted = 0"
        " AND m.room_id IN (SELECT room_id FROM room_members WHERE user_id = ?)"
    )
    args.append(user_id)
    if room_id is not None:
        sql += " AND m.room_id = ?"
        args.append(room_id)
    rows = conn.execute(f"{sql} ORDER BY {rank}, m.id DESC LIMIT ?", [*args, limit]).fetchall()
    return _messages(conn, rows)


class SqlChat(ChatStore):
    db: Database

    async def find_dm(self, a: int, b: int) -> Room | None:
        def txn(conn: Conn) -> Room | None:
            row = conn.execute("SELECT * FROM rooms WHERE dm_key = ?", (_dm_key(a, b),)).fetchone()
            return _room(row) if row else None

        return await self.db.read(txn)

    async def post_direct(
        self,
        author_id: int,
        other_id: int,
        client_id: str,
        body: str,
        reply_to: int | None,
        now: float,
    ) -> tuple[Room, bool, Message, bool]:
        def txn(conn: Conn) -> tuple[Room, bool, Message, bool]:
            room, created = get_or_create_dm_txn(conn, author_id, other_id, now)
            message, stored = post_message_txn(
                conn, room.id, author_id, client_id, body, reply_to, now
            )
            return room, created, message, stored

        return await self.db.write(txn)

    async def create_group(
        self,
        creator_id: int,
        name: str,
        member_ids: list[int],
        now: float,
        invited_ids: list[int] | None = None,
    ) -> Room:
        return await self.db.write(
            create_group_txn, creator_id, name, member_ids, now, invited_ids or []
        )

    async def get_room(self, room_id: int) -> Room | None:
        return await self.db.read(get_room_txn, room_id)

    async def find_group_room(self, name: str) -> Room | None:
        def txn(conn: Conn) -> Room | None:
            row = conn.execute(
                "SELECT * FROM rooms WHERE kind = 'group' AND name_key = ?", (name_key(name),)
            ).fetchone()
            return _room(row) if row else None

        return await self.db.read(txn)

    async def room_members(self, room_id: int) -> list[RoomMember]:
        members = await self.db.read(room_members_txn, [room_id])
        return members[room_id]

    async def rooms_of(self, user_id: int) -> list[RoomSummary]:
        return await self.db.read(rooms_of_txn, user_id)

    async def add_member(self, room_id: int, user_id: int, now: float) -> bool:
        return await self.db.write(add_member_txn, room_id, user_id, now)

    async def invite_member(self, room_id: int, user_id: int, invited_by: int, now: float) -> bool:
        return await self.db.write(invite_member_txn, room_id, user_id, invited_by, now)

    async def room_invites(self, room_ids: list[int]) -> dict[int, list[RoomInvite]]:
        return await self.db.read(room_invites_txn, room_ids)

    async def invites_of(self, user_id: int) -> tuple[list[RoomInvite], list[RoomInvite]]:
        return await self.db.read(invites_of_txn, user_id)

    async def accept_invite(self, room_id: int, user_id: int, now: float) -> bool:
        return await self.db.write(accept_invite_txn, room_id, user_id, now)

    async def delete_invite(self, room_id: int, user_id: int) -> RoomInvite | None:
        return await self.db.write(delete_invite_txn, room_id, user_id)

    async def remove_member(self, room_id: int, user_id: int) -> bool:
        return await self.db.write(remove_member_txn, room_id, user_id)

    async def rename_room(self, room_id: int, name: str) -> Room:
        def txn(conn: Conn) -> Room:
            with unique_or(conn, _room_name_taken(name)):
                conn.execute(
                    "UPDATE rooms SET name = ?, name_key = ? WHERE id = ?",
                    (name, name_key(name), room_id),
                )
            room = get_room_txn(conn, room_id)
            if room is None:
                raise NotFound("no such room")
            return room

        return await self.db.write(txn)

    async def post_message(
        self,
        room_id: int,
        author_id: int,
        client_id: str,
        body: str,
        reply_to: int | None,
        now: float,
    ) -> tuple[Message, bool]:
        return await self.db.write(
            post_message_txn, room_id, author_id, client_id, body, reply_to, now
        )

    async def get_message(self, message_id: int) -> Message | None:
        return await self.db.read(get_message_txn, message_id)

    async def edit_message(self, message_id: int, body: str, now: float) -> Message:
        return await self.db.write(edit_message_txn, message_id, body, now)

    async def delete_message(self, message_id: int, now: float) -> Message:
        return await self.db.write(delete_message_txn, message_id, now)

    async def set_reaction(
        self, message_id: int, user_id: int, emoji: str, on: bool, now: float
    ) -> Message:
        return await self.db.write(set_reaction_txn, message_id, user_id, emoji, on, now)

    async def messages(
        self, room_id: int, *, before: int | None, after: int | None, limit: int
    ) -> list[Message]:
        return await self.db.read(messages_txn, room_id, before, after, limit)

    async def changes(self, room_id: int, after_rev: int, limit: int) -> list[Message]:
        return await self.db.read(changes_txn, room_id, after_rev, limit)

    async def mark_read(self, room_id: int, user_id: int, seq: int) -> int:
        return await self.db.write(mark_read_txn, room_id, user_id, seq)

    async def search_messages(
        self, user_id: int, terms: list[str], room_id: int | None, limit: int
    ) -> list[Message]:
        return await self.db.read(search_txn, user_id, terms, room_id, limit)
