"""SQLite implementation of `AccountStore`: `*_txn(conn, ...)` functions run on the DB threads."""

from __future__ import annotations

import string

from coope.core.errors import Conflict, NotFound, SignupClosed
from coope.core.models import (
    DELETED_DISPLAY_NAME,
    AccountDeleted,
    ApiToken,
    CredentialsEnded,
    Role,
    Session,
    User,
)
from coope.core.rules import USERNAME_MAX, username_from_hint
from coope.daemon.storage.interface import (
    AccountStore,
    DeliveryResult,
    ExternalProfile,
    NewUser,
    WebhookDelivery,
)
from coope.daemon.storage.sql.connection import Conn, Database, Row
from coope.daemon.storage.sql.dialect import (
    for_share,
    is_sqlite,
    lock,
    lock_row,
    same_as,
    unique_or,
)

USER_COLUMNS = (
    "id, username, display_name, role, disabled, created_at, external_id, email,"
    " credentials_ended_at, deleted_at"
)
_TOKEN_COLUMNS = "id, user_id, name, prefix, created_at, expires_at, last_used_at, revoked"
# A condition on the user `?` names: still able to sign in. Put in the statement that issues a
# credential, so that disabling or deleting the account in between leaves no live credential.

_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def _live_user(conn: Conn, also: str = "") -> str:
    """A condition: the user (a parameter) is neither disabled nor deleted (and `also` holds of
    the row), and stays so until the transaction ends: an admin changing them meanwhile waits,
    and then ends what this made; a change that came first is seen, whole."""
    return (
        "EXISTS (SELECT 1 FROM users WHERE id = ? AND disabled = 0 AND deleted_at IS NULL"
        f"{also}{for_share(conn)})"
    )


def user_from_row(row: Row) -> User:
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
        deleted_at=row["deleted_at"],
    )


def _token(row: Row) -> ApiToken:
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


def get_user_txn(conn: Conn, user_id: int) -> User | None:
    row = conn.execute(f"SELECT {USER_COLUMNS} FROM users WHERE id = ?", (user_id,)).fetchone()
    return user_from_row(row) if row else None


def _user_where_txn(conn: Conn, column: str, value: str) -> User | None:
    row = conn.execute(f"SELECT {USER_COLUMNS} FROM users WHERE {column} = ?", (value,)).fetchone()
    return user_from_row(row) if row else None


def _insert_user_txn(conn: Conn, new: NewUser, role: Role) -> User:
    # Of the unique columns only the username is in play: a new user's external id, if any,
    # was looked up in this transaction and is nobody's.
    with unique_or(conn, lambda: Conflict(f"username {new.username!r} is taken")):
        row = conn.execute(
            "INSERT INTO users (username, display_name, password_hash, role, created_at,"
            " external_id, email) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                new.username,
                new.display_name,
                new.password_hash,
                role.value,
                new.created_at,
                new.external_id,
                new.email,
            ),
        ).fetchone()
    user = get_user_txn(conn, int(row[0]))
    assert user is not None
    return user


def _first_user_txn(conn: Conn) -> bool:
    """Whether the account about to be made is the daemon's first (its admin). Of concurrent
    first signups one is: they take turns, and the others see it once it is in."""
    if conn.execute("SELECT EXISTS (SELECT 1 FROM users)").fetchone()[0]:
        return False
    if is_sqlite(conn):
        return True
    lock(conn, "first-user")
    return not conn.execute("SELECT EXISTS (SELECT 1 FROM users)").fetchone()[0]


def create_user_txn(conn: Conn, new: NewUser, only_if_first: bool) -> User:
    first = _first_user_txn(conn)
    if not first and only_if_first:
        raise SignupClosed("signup is closed on this daemon: ask an admin to create your account")
    return _insert_user_txn(conn, new, Role.ADMIN if first else new.role)


def list_users_txn(
    conn: Conn, search: str | None, limit: int, offset: int
) -> tuple[list[User], int]:
    where, params = "", []
    if search:
        escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        # Lowered here as lower() lowers the columns in both engines: ASCII letters only.
        pattern = "%" + escaped.translate(_ASCII_LOWER) + "%"
        where = (
            "WHERE lower(username) LIKE ? ESCAPE '\\'"
            " OR lower(display_name) LIKE ? ESCAPE '\\'"
            " OR lower(email) LIKE ? ESCAPE '\\'"
        )
        params = [pattern, pattern, pattern]
    total = conn.execute(f"SELECT COUNT(*) FROM users {where}", params).fetchone()[0]
    rows = conn.execute(
        f"SELECT {USER_COLUMNS} FROM users {where} ORDER BY username LIMIT ? OFFSET ?",
        [*params, limit, offset],
    ).fetchall()
    return [user_from_row(r) for r in rows], int(total)


def _require_user_txn(conn: Conn, user_id: int) -> User:
    user = get_user_txn(conn, user_id)
    if user is None or user.deleted:
        raise NotFound("no such user")
    return user


def _check_admins_remain_txn(conn: Conn, losing: User) -> None:
    if not losing.is_admin or losing.disabled:
        return
    lock(conn, "admins")  # two admins demoting each other at once: the second one sees it
    others = conn.execute(
        "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0 AND id != ?",
        (losing.id,),
    ).fetchone()[0]
    if not others:
        raise Conflict(f"{losing.username} is the last active admin: make another admin first")


def set_role_txn(conn: Conn, user_id: int, role: Role) -> User:
    lock_row(conn, "users", user_id)
    user = _require_user_txn(conn, user_id)
    if role is not Role.ADMIN:
        _check_admins_remain_txn(conn, user)
    conn.execute("UPDATE users SET role = ? WHERE id = ?", (role.value, user_id))
    return _require_user_txn(conn, user_id)


def _end_credentials_txn(conn: Conn, user_id: int, now: float) -> None:
    """End every credential of the user, for good: enabling the account again later brings none
    of them back (sessions and API tokens are revoked; identity-provider tokens issued until
    `now` are refused)."""
    conn.execute("UPDATE sessions SET revoked = 1 WHERE user_id = ? AND revoked = 0", (user_id,))
    conn.execute("UPDATE api_tokens SET revoked = 1 WHERE user_id = ? AND revoked = 0", (user_id,))
    conn.execute("UPDATE users SET credentials_ended_at = ? WHERE id = ?", (now, user_id))


def set_disabled_txn(conn: Conn, user_id: int, disabled: bool, now: float) -> User:
    lock_row(conn, "users", user_id)
    user = _require_user_txn(conn, user_id)
    if disabled:
        _check_admins_remain_txn(conn, user)
        _end_credentials_txn(conn, user_id, now)
    conn.execute("UPDATE users SET disabled = ? WHERE id = ?", (int(disabled), user_id))
    return _require_user_txn(conn, user_id)


def _record_delivery_txn(conn: Conn, delivery: WebhookDelivery) -> bool:
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


def _free_username_txn(conn: Conn, hint: str, own_id: int | None = None) -> str:
    """`hint` made into a username nobody else holds, with a numeric suffix if need be."""
    stem = username_from_hint(hint)
    candidate, n = stem, 1
    while (holder := _user_where_txn(conn, "username", candidate)) and holder.id != own_id:
        n += 1
        suffix = f"-{n}"
        candidate = stem[: USERNAME_MAX - len(suffix)] + suffix
    return candidate


def _delivered_about_txn(
    conn: Conn, delivery: WebhookDelivery, external_id: str
) -> tuple[bool, User | None]:
    """Record the delivery and find the person it is about: (False, None) if it came before
    (nothing to do), else (True, their account if they have one)."""
    if not _record_delivery_txn(conn, delivery):
        return False, None
    # Deliveries about one person reaching two daemons at once: the second finds the first's.
    lock(conn, f"external:{external_id}")
    return True, _user_where_txn(conn, "external_id", external_id)


def upsert_external_user_txn(
    conn: Conn, profile: ExternalProfile, delivery: WebhookDelivery
) -> DeliveryResult:
    new_delivery, user = _delivered_about_txn(conn, delivery, profile.external_id)
    if not new_delivery:
        return DeliveryResult(None, applied=False)
    if user is not None and user.deleted:
        # An admin deleted it; the provider's later news of the person brings nothing back.
        return DeliveryResult(None)
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
        role = Role.ADMIN if _first_user_txn(conn) else Role.USER
        return DeliveryResult(_insert_user_txn(conn, new, role))
    username = _free_username_txn(conn, profile.username_hint, own_id=user.id)
    conn.execute(
        # `disabled` is left alone: neither an admin's lock-out nor a provider deletion (after which
        # svix may still deliver a late update) is undone by a profile change.
        "UPDATE users SET username = ?, display_name = ?, email = ? WHERE id = ?",
        (username, profile.display_name, profile.email, user.id),
    )
    return DeliveryResult(_require_user_txn(conn, user.id))


def disable_external_user_txn(
    conn: Conn, external_id: str, delivery: WebhookDelivery
) -> DeliveryResult:
    new_delivery, user = _delivered_about_txn(conn, delivery, external_id)
    if not new_delivery:
        return DeliveryResult(None, applied=False)
    if user is None or user.deleted:
        return DeliveryResult(None)
    conn.execute("UPDATE users SET disabled = 1 WHERE id = ?", (user.id,))
    _end_credentials_txn(conn, user.id, delivery.received_at)
    return DeliveryResult(_require_user_txn(conn, user.id))


def forget_webhook_deliveries_txn(conn: Conn, before: float) -> int:
    return conn.execute("DELETE FROM webhook_deliveries WHERE received_at < ?", (before,)).rowcount


def _session(row: Row) -> Session:
    return Session(
        id=row["id"],
        user_id=row["user_id"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        revoked=bool(row["revoked"]),
    )


# --- account admin ---------------------------------------------------------------------------


def _end_sessions_txn(conn: Conn, user_id: int, keep_session: str | None = None) -> list[str]:
    # Not `id IS NOT ?` (SQLite only); a session's id is never NULL.
    kept, kept_params = ("", ()) if keep_session is None else (" AND id <> ?", (keep_session,))
    ended = [
        row[0]
        for row in conn.execute(
            f"UPDATE sessions SET revoked = 1 WHERE user_id = ? AND revoked = 0{kept} RETURNING id",
            (user_id, *kept_params),
        )
    ]
    return sorted(ended)


def _revoke_tokens_txn(conn: Conn, user_id: int) -> list[int]:
    rows = conn.execute(
        "UPDATE api_tokens SET revoked = 1 WHERE user_id = ? AND revoked = 0 RETURNING id",
        (user_id,),
    )
    return sorted(row[0] for row in rows)


def set_password_txn(
    conn: Conn,
    user_id: int,
    password_hash: str,
    keep_session: str | None,
    revoke_tokens: bool,
) -> CredentialsEnded:
    lock_row(conn, "users", user_id)
    _require_user_txn(conn, user_id)
    conn.execute("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id))
    return CredentialsEnded(
        _end_sessions_txn(conn, user_id, keep_session),
        _revoke_tokens_txn(conn, user_id) if revoke_tokens else [],
    )


def set_display_name_txn(conn: Conn, user_id: int, display_name: str) -> User:
    _require_user_txn(conn, user_id)
    conn.execute("UPDATE users SET display_name = ? WHERE id = ?", (display_name, user_id))
    return _require_user_txn(conn, user_id)


def _check_no_sole_ownership_txn(conn: Conn, user: User) -> None:
    """Refuse to delete the only owner of a workspace: its pages would have nobody to manage
    them. The admin hands each over (or deletes it) first."""
    owned = conn.execute(
        "SELECT w.id, w.name FROM workspace_members m JOIN workspaces w ON w.id = m.workspace_id"
        " WHERE m.user_id = ? AND m.role = 'owner' AND NOT EXISTS ("
        "  SELECT 1 FROM workspace_members o WHERE o.workspace_id = m.workspace_id"
        "  AND o.role = 'owner' AND o.user_id != m.user_id)"
        " ORDER BY w.id",
        (user.id,),
    ).fetchall()
    if owned:
        names = ", ".join(f"{row['name']} (id {row['id']})" for row in owned)
        raise Conflict(
            f"{user.username} is the only owner of {names}: transfer or delete"
            f" {'it' if len(owned) == 1 else 'them'} first",
            details={"workspaces": [{"id": row["id"], "name": row["name"]} for row in owned]},
        )


def _leave_everything_txn(conn: Conn, user_id: int) -> tuple[list[int], list[int]]:
    """Take the user out of every workspace and group room: (workspace ids, room ids). Direct
    conversations keep both people, so the other one's history keeps its other party."""
    # Imported here: the chat store imports this module for its user columns.
    from coope.daemon.storage.sql.chat import remove_member_txn

    workspace_ids = [
        row[0]
        for row in conn.execute(
            "DELETE FROM workspace_members WHERE user_id = ? RETURNING workspace_id", (user_id,)
        )
    ]
    room_ids = [
        row[0]
        for row in conn.execute(
            "SELECT m.room_id FROM room_members m JOIN rooms r ON r.id = m.room_id"
            " WHERE m.user_id = ? AND r.kind = 'group' ORDER BY m.room_id",
            (user_id,),
        ).fetchall()
    ]
    for room_id in room_ids:
        remove_member_txn(conn, room_id, user_id)  # hands the room to someone if need be
    conn.execute("DELETE FROM room_invites WHERE user_id = ? OR invited_by = ?", (user_id, user_id))
    # Workspace invitations they made stop working: they speak for the workspace no longer.
    conn.execute("UPDATE invites SET revoked = 1 WHERE created_by = ? AND revoked = 0", (user_id,))
    return sorted(workspace_ids), room_ids


def _drop_social_txn(conn: Conn, user_id: int) -> list[int]:
    """End friendships, requests, blocks and the status; return the former friends' ids."""
    friend_ids = [
        row[0]
        for row in conn.execute(
            "DELETE FROM friendships WHERE user_id = ? RETURNING friend_id", (user_id,)
        )
    ]
    conn.execute("DELETE FROM friendships WHERE friend_id = ?", (user_id,))
    conn.execute("DELETE FROM friend_requests WHERE from_id = ? OR to_id = ?", (user_id, user_id))
    conn.execute("DELETE FROM blocks WHERE blocker_id = ? OR blocked_id = ?", (user_id, user_id))
    conn.execute("DELETE FROM user_status WHERE user_id = ?", (user_id,))
    return sorted(friend_ids)


def delete_user_txn(conn: Conn, user_id: int, now: float) -> AccountDeleted:
    lock_row(conn, "users", user_id)
    former = _require_user_txn(conn, user_id)
    _check_admins_remain_txn(conn, former)
    _check_no_sole_ownership_txn(conn, former)
    ended = CredentialsEnded(_end_sessions_txn(conn, user_id), _revoke_tokens_txn(conn, user_id))
    workspace_ids, room_ids = _leave_everything_txn(conn, user_id)
    friend_ids = _drop_social_txn(conn, user_id)
    # `external_id` stays: with it gone, the provider's next update of that person would make
    # a new live account; kept, it finds the tombstone and changes nothing.
    conn.execute(
        "UPDATE users SET username = ?, display_name = ?, password_hash = NULL, role = 'user',"
        " disabled = 1, email = NULL, credentials_ended_at = ?, deleted_at = ? WHERE id = ?",
        (f"deleted:{user_id}", DELETED_DISPLAY_NAME, now, now, user_id),
    )
    tombstone = get_user_txn(conn, user_id)
    assert tombstone is not None
    return AccountDeleted(tombstone, former, ended, workspace_ids, room_ids, friend_ids)


class SqlAccounts(AccountStore):
    db: Database

    async def create_user(self, new: NewUser, *, only_if_first: bool = False) -> User:
        return await self.db.write(create_user_txn, new, only_if_first)

    async def get_user(self, user_id: int) -> User | None:
        return await self.db.read(get_user_txn, user_id)

    async def get_user_by_name(self, username: str) -> User | None:
        return await self.db.read(_user_where_txn, "username", username)

    async def get_user_by_external_id(self, external_id: str) -> User | None:
        return await self.db.read(_user_where_txn, "external_id", external_id)

    async def get_password_hash(self, user_id: int) -> str | None:
        def txn(conn: Conn) -> str | None:
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

    async def service_secret(self, name: str, candidate: bytes) -> bytes:
        def txn(conn: Conn) -> bytes:
            conn.execute(
                "INSERT INTO service_secrets (name, value) VALUES (?, ?)"
                " ON CONFLICT (name) DO NOTHING",
                (name, candidate),
            )
            row = conn.execute("SELECT value FROM service_secrets WHERE name = ?", (name,))
            value: bytes = row.fetchone()[0]
            return value

        return await self.db.write(txn)

    async def create_session_if_current(self, session: Session, password_hash: str | None) -> bool:
        def txn(conn: Conn) -> bool:
            current, current_params = same_as("password_hash", password_hash)
            cur = conn.execute(
                "INSERT INTO sessions (id, user_id, created_at, expires_at, revoked)"
                # The password in the locked row's condition: a reset committed while this
                # waited is seen (a check outside it would read the hash from before).
                f" SELECT ?, ?, ?, ?, ? WHERE {_live_user(conn, f' AND {current}')}",
                (
                    session.id,
                    session.user_id,
                    session.created_at,
                    session.expires_at,
                    int(session.revoked),
                    session.user_id,
                    *current_params,
                ),
            )
            return cur.rowcount == 1

        return await self.db.write(txn)

    async def get_session(self, session_id: str) -> Session | None:
        def txn(conn: Conn) -> Session | None:
            row = conn.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
            return _session(row) if row else None

        return await self.db.read(txn)

    async def revoke_session(self, session_id: str) -> None:
        def txn(conn: Conn) -> None:
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
        def txn(conn: Conn) -> ApiToken:
            inserted = conn.execute(
                "INSERT INTO api_tokens (user_id, name, prefix, secret_hash, created_at,"
                f" expires_at) SELECT ?, ?, ?, ?, ?, ? WHERE {_live_user(conn)} RETURNING id",
                (user_id, name, prefix, secret_hash, created_at, expires_at, user_id),
            ).fetchone()
            if inserted is None:
                user = _require_user_txn(conn, user_id)  # NotFound when it is deleted
                raise Conflict(
                    f"{user.username} is disabled: a token of theirs would not work"
                    " (enable it first)"
                )
            row = conn.execute(
                f"SELECT {_TOKEN_COLUMNS} FROM api_tokens WHERE id = ?", (inserted[0],)
            ).fetchone()
            return _token(row)

        return await self.db.write(txn)

    async def get_token_by_hash(self, secret_hash: str) -> ApiToken | None:
        def txn(conn: Conn) -> ApiToken | None:
            row = conn.execute(
                f"SELECT {_TOKEN_COLUMNS} FROM api_tokens WHERE secret_hash = ?", (secret_hash,)
            ).fetchone()
            return _token(row) if row else None

        return await self.db.read(txn)

    async def list_tokens(self, user_id: int) -> list[ApiToken]:
        def txn(conn: Conn) -> list[ApiToken]:
            rows = conn.execute(
                f"SELECT {_TOKEN_COLUMNS} FROM api_tokens WHERE user_id = ? AND revoked = 0"
                " ORDER BY id",
                (user_id,),
            ).fetchall()
            return [_token(r) for r in rows]

        return await self.db.read(txn)

    async def revoke_token(self, user_id: int, token_id: int) -> bool:
        def txn(conn: Conn) -> bool:
            cur = conn.execute(
                "UPDATE api_tokens SET revoked = 1 WHERE id = ? AND user_id = ? AND revoked = 0",
                (token_id, user_id),
            )
            return cur.rowcount > 0

        return await self.db.write(txn)

    async def touch_token(self, token_id: int, used_at: float) -> None:
        def txn(conn: Conn) -> None:
            conn.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", (used_at, token_id))

        await self.db.write(txn)

    async def set_password(
        self,
        user_id: int,
        password_hash: str,
        *,
        keep_session: str | None = None,
        revoke_tokens: bool = False,
    ) -> CredentialsEnded:
        return await self.db.write(
            set_password_txn, user_id, password_hash, keep_session, revoke_tokens
        )

    async def set_display_name(self, user_id: int, display_name: str) -> User:
        return await self.db.write(set_display_name_txn, user_id, display_name)

    async def delete_user(self, user_id: int, now: float) -> AccountDeleted:
        return await self.db.write(delete_user_txn, user_id, now)
