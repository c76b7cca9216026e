"""SQLite implementation of `AccountStore`: `*_txn(conn, ...)` functions run on the DB threads."""

from __future__ import annotations

import sqlite3

from coope.core.errors import Conflict, NotFound, SignupClosed
from coope.core.models import ApiToken, Role, Session, User
from coope.core.rules import USERNAME_MAX, username_from_hint
from coope.daemon.storage.interface import (
    AccountStore,
    DeliveryResult,
    ExternalProfile,
    NewUser,
    WebhookDelivery,
)
from coope.daemon.storage.sqlite.database import SqliteDatabase

USER_COLUMNS = (
    "id, username, display_name, role, disabled, created_at, external_id, email,"
    " credentials_ended_at"
)
_TOKEN_COLUMNS = "id, user_id, name, prefix, created_at, expires_at, last_used_at, revoked"


def user_from_row(row: sqlite3.Row) -> User:
    return User(
        id=row["id"],
        username=row["username"],
        display_name=row["display_name"],
        role=Role(row["role"]),
        disabled=bool(row["disabled"]),
        created_at=row["created_at"],
        external_id=row["external_id"],
        email=row["email"],
        credentials_ended_at=row["credentials_ended_at"],
    )


def _token(row: sqlite3.Row) -> ApiToken:
    return ApiToken(
        id=row["id"],
        user_id=row["user_id"],
        name=row["name"],
        prefix=row["prefix"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        last_used_at=row["last_used_at"],
        revoked=bool(row["revoked"]),
    )


def get_user_txn(conn: sqlite3.Connection, user_id: int) -> User | None:
    row = conn.execute(f"SELECT {USER_COLUMNS} FROM users WHERE id = ?", (user_id,)).fetchone()
    return user_from_row(row) if row else None


def _user_where_txn(conn: sqlite3.Connection, column: str, value: str) -> User | None:
    row = conn.execute(f"SELECT {USER_COLUMNS} FROM users WHERE {column} = ?", (value,)).fetchone()
    return user_from_row(row) if row else None


def _insert_user_txn(conn: sqlite3.Connection, new: NewUser, role: Role) -> User:
    try:
        cur = conn.execute(
            "INSERT INTO users (username, display_name, password_hash, role, created_at,"
            " external_id, email) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                new.username,
                new.display_name,
                new.password_hash,
                role.value,
                new.created_at,
                new.external_id,
                new.email,
            ),
        )
    except sqlite3.IntegrityError as exc:
        raise Conflict(f"username {new.username!r} is taken") from exc
    user = get_user_txn(conn, int(cur.lastrowid or 0))
    assert user is not None
    return user


def create_user_txn(conn: sqlite3.Connection, new: NewUser, only_if_first: bool) -> User:
    has_users = conn.execute("SELECT EXISTS (SELECT 1 FROM users)").fetchone()[0]
    if has_users and only_if_first:
        raise SignupClosed("signup is closed on this daemon: ask an admin to create your account")
    return _insert_user_txn(conn, new, new.role if has_users else Role.ADMIN)


def list_users_txn(
    conn: sqlite3.Connection, search: str | None, limit: int, offset: int
) -> tuple[list[User], int]:
    where, params = "", []
    if search:
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where = (
            "WHERE username LIKE ? ESCAPE '\\' OR display_name LIKE ? ESCAPE '\\'"
            " OR email LIKE ? ESCAPE '\\'"
        )
        params = [pattern, pattern, pattern]
    total = conn.execute(f"SELECT COUNT(*) FROM users {where}", params).fetchone()[0]
    rows = conn.execute(
        f"SELECT {USER_COLUMNS} FROM users {where} ORDER BY username LIMIT ? OFFSET ?",
        [*params, limit, offset],
    ).fetchall()
    return [user_from_row(r) for r in rows], int(total)


def _require_user_txn(conn: sqlite3.Connection, user_id: int) -> User:
    user = get_user_txn(conn, user_id)
    if user is None:
        raise NotFound("no such user")
    return user


def _check_admins_remain_txn(conn: sqlite3.Connection, losing: User) -> None:
    if not losing.is_admin or losing.disabled:
        return
    others = conn.execute(
        "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0 AND id != ?",
        (losing.id,),
    ).fetchone()[0]
    if not others:
        raise Conflict(f"{losing.username} is the last active admin: make another admin first")


def set_role_txn(conn: sqlite3.Connection, user_id: int, role: Role) -> User:
    user = _require_user_txn(conn, user_id)
    if role is not Role.ADMIN:
        _check_admins_remain_txn(conn, user)
    conn.execute("UPDATE users SET role = ? WHERE id = ?", (role.value, user_id))
    return _require_user_txn(conn, user_id)


def _end_credentials_txn(conn: sqlite3.Connection, user_id: int, now: float) -> None:
    """End every credential of the user, for good: enabling the account again later brings none
    of them back (sessions and API tokens are revoked; identity-provider tokens issued until
    `now` are refused)."""
    conn.execute("UPDATE sessions SET revoked = 1 WHERE user_id = ? AND revoked = 0", (user_id,))
    conn.execute("UPDATE api_tokens SET revoked = 1 WHERE user_id = ? AND revoked = 0", (user_id,))
    conn.execute("UPDATE users SET credentials_ended_at = ? WHERE id = ?", (now, user_id))


def set_disabled_txn(conn: sqlite3.Connection, user_id: int, disabled: bool, now: float) -> User:
    user = _require_user_txn(conn, user_id)
    if disabled:
        _check_admins_remain_txn(conn, user)
        _end_credentials_txn(conn, user_id, now)
    conn.execute("UPDATE users SET disabled = ? WHERE id = ?", (int(disabled), user_id))
    return _require_user_txn(conn, user_id)


def _record_delivery_txn(conn: sqlite3.Connection, delivery: WebhookDelivery) -> bool:
    """Record a delivery; False if this same delivery (id and body) was recorded before.

    Raises:
        Conflict: The id was recorded with a different body.
    """
    cur = conn.execute(
        "INSERT INTO webhook_deliveries (id, received_at, body_sha256) VALUES (?, ?, ?)"
        " ON CONFLICT (id) DO NOTHING",
        (delivery.id, delivery.received_at, delivery.body_sha256),
    )
    if cur.rowcount:
        return True
    seen = conn.execute(
        "SELECT body_sha256 FROM webhook_deliveries WHERE id = ?", (delivery.id,)
    ).fetchone()[0]
    # A record older than the digest column has none; svix resends the same body, so a retry
    # of such a delivery is taken as the same delivery.
    if seen is not None and seen != delivery.body_sha256:
        raise Conflict(
            f"webhook delivery {delivery.id!r} was already applied with a different body"
        )
    return False


def _free_username_txn(conn: sqlite3.Connection, hint: str, own_id: int | None = None) -> str:
    """`hint` made into a username nobody else holds, with a numeric suffix if need be."""
    stem = username_from_hint(hint)
    candidate, n = stem, 1
    while (holder := _user_where_txn(conn, "username", candidate)) and holder.id != own_id:
        n += 1
        suffix = f"-{n}"
        candidate = stem[: USERNAME_MAX - len(suffix)] + suffix
    return candidate


def upsert_external_user_txn(
    conn: sqlite3.Connection, profile: ExternalProfile, delivery: WebhookDelivery
) -> DeliveryResult:
    if not _record_delivery_txn(conn, delivery):
        return DeliveryResult(None, applied=False)
    user = _user_where_txn(conn, "external_id", profile.external_id)
    if user is None:
        new = NewUser(
            username=_free_username_txn(conn, profile.username_hint),
            display_name=profile.display_name,
            password_hash=None,
            role=Role.USER,
            created_at=delivery.received_at,
            external_id=profile.external_id,
            email=profile.email,
        )
        has_users = conn.execute("SELECT EXISTS (SELECT 1 FROM users)").fetchone()[0]
        return DeliveryResult(_insert_user_txn(conn, new, Role.USER if has_users else Role.ADMIN))
    username = _free_username_txn(conn, profile.username_hint, own_id=user.id)
    conn.execute(
        # `disabled` is left alone: neither an admin's lock-out nor a provider deletion (after which
        # svix may still deliver a late update) is undone by a profile change.
        "UPDATE users SET username = ?, display_name = ?, email = ? WHERE id = ?",
        (username, profile.display_name, profile.email, user.id),
    )
    return DeliveryResult(_require_user_txn(conn, user.id))


def disable_external_user_txn(
    conn: sqlite3.Connection, external_id: str, delivery: WebhookDelivery
) -> DeliveryResult:
    if not _record_delivery_txn(conn, delivery):
        return DeliveryResult(None, applied=False)
    user = _user_where_txn(conn, "external_id", external_id)
    if user is None:
        return DeliveryResult(None)
    conn.execute("UPDATE users SET disabled = 1 WHERE id = ?", (user.id,))
    _end_credentials_txn(conn, user.id, delivery.received_at)
    return DeliveryResult(_require_user_txn(conn, user.id))


def forget_webhook_deliveries_txn(conn: sqlite3.Connection, before: float) -> int:
    return conn.execute("DELETE FROM webhook_deliveries WHERE received_at < ?", (before,)).rowcount


def _session(row: sqlite3.Row) -> Session:
    return Session(
        id=row["id"],
        user_id=row["user_id"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        revoked=bool(row["revoked"]),
    )


class SqliteAccounts(AccountStore):
    db: SqliteDatabase

    async def create_user(self, new: NewUser, *, only_if_first: bool = False) -> User:
        return await self.db.write(create_user_txn, new, only_if_first)

    async def get_user(self, user_id: int) -> User | None:
        return await self.db.read(get_user_txn, user_id)

    async def get_user_by_name(self, username: str) -> User | None:
        return await self.db.read(_user_where_txn, "username", username)

    async def get_user_by_external_id(self, external_id: str) -> User | None:
        return await self.db.read(_user_where_txn, "external_id", external_id)

    async def get_password_hash(self, user_id: int) -> str | None:
        def txn(conn: sqlite3.Connection) -> str | None:
            row = conn.execute(
                "SELECT password_hash FROM users WHERE id = ?", (user_id,)
            ).fetchone()
            return row[0] if row else None

        return await self.db.read(txn)

    async def list_users(
        self, search: str | None, limit: int, offset: int
    ) -> tuple[list[User], int]:
        return await self.db.read(list_users_txn, search, limit, offset)

    async def set_role(self, user_id: int, role: Role) -> User:
        return await self.db.write(set_role_txn, user_id, role)

    async def set_disabled(self, user_id: int, disabled: bool, now: float) -> User:
        return await self.db.write(set_disabled_txn, user_id, disabled, now)

    async def upsert_external_user(
        self, profile: ExternalProfile, *, delivery: WebhookDelivery
    ) -> DeliveryResult:
        return await self.db.write(upsert_external_user_txn, profile, delivery)

    async def disable_external_user(
        self, external_id: str, *, delivery: WebhookDelivery
    ) -> DeliveryResult:
        return await self.db.write(disable_external_user_txn, external_id, delivery)

    async def forget_webhook_deliveries(self, *, before: float) -> int:
        return await self.db.write(forget_webhook_deliveries_txn, before)

    async def create_session(self, session: Session) -> None:
        def txn(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO sessions (id, user_id, created_at, expires_at, revoked)"
                " VALUES (?, ?, ?, ?, ?)",
                (
                    session.id,
                    session.user_id,
                    session.created_at,
                    session.expires_at,
                    int(session.revoked),
                ),
            )

        await self.db.write(txn)

    async def get_session(self, session_id: str) -> Session | None:
        def txn(conn: sqlite3.Connection) -> Session | None:
            row = conn.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
            return _session(row) if row else None

        return await self.db.read(txn)

    async def revoke_session(self, session_id: str) -> None:
        def txn(conn: sqlite3.Connection) -> None:
            conn.execute("UPDATE sessions SET revoked = 1 WHERE id = ?", (session_id,))

        await self.db.write(txn)

    async def create_token(
        self,
        user_id: int,
        name: str,
        prefix: str,
        secret_hash: str,
        created_at: float,
        expires_at: float | None,
    ) -> ApiToken:
        def txn(conn: sqlite3.Connection) -> ApiToken:
            cur = conn.execute(
                "INSERT INTO api_tokens (user_id, name, prefix, secret_hash, created_at,"
                " expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                (user_id, name, prefix, secret_hash, created_at, expires_at),
            )
            row = conn.execute(
                f"SELECT {_TOKEN_COLUMNS} FROM api_tokens WHERE id = ?", (cur.lastrowid,)
            ).fetchone()
            return _token(row)

        return await self.db.write(txn)

    async def get_token_by_hash(self, secret_hash: str) -> ApiToken | None:
        def txn(conn: sqlite3.Connection) -> ApiToken | None:
            row = conn.execute(
                f"SELECT {_TOKEN_COLUMNS} FROM api_tokens WHERE secret_hash = ?", (secret_hash,)
            ).fetchone()
            return _token(row) if row else None

        return await self.db.read(txn)

    async def list_tokens(self, user_id: int) -> list[ApiToken]:
        def txn(conn: sqlite3.Connection) -> list[ApiToken]:
            rows = conn.execute(
                f"SELECT {_TOKEN_COLUMNS} FROM api_tokens WHERE user_id = ? AND revoked = 0"
                " ORDER BY id",
                (user_id,),
            ).fetchall()
            return [_token(r) for r in rows]

        return await self.db.read(txn)

    async def revoke_token(self, user_id: int, token_id: int) -> bool:
        def txn(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "UPDATE api_tokens SET revoked = 1 WHERE id = ? AND user_id = ? AND revoked = 0",
                (token_id, user_id),
            )
            return cur.rowcount > 0

        return await self.db.write(txn)

    async def touch_token(self, token_id: int, used_at: float) -> None:
        def txn(conn: sqlite3.Connection) -> None:
            conn.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", (used_at, token_id))

        await self.db.write(txn)
