"""SQLite implementation of `WorkspaceStore`: workspaces, members, invites."""

from __future__ import annotations

from collections.abc import Callable

from coope.core import rules
from coope.core.errors import Conflict, Gone, InvalidInput, NotFound
from coope.core.models import Invite, Workspace, WorkspaceMember, WorkspaceRole
from coope.core.names import name_key
from coope.core.workspace_schemas import invite_refusal
from coope.daemon.storage.interface import MemberEntry, WorkspaceStore
from coope.daemon.storage.sql.connection import Conn, Database, Row
from coope.daemon.storage.sql.dialect import for_share, lock, lock_row, unique_or

# Member lists show the owner first, then admins, editors and viewers.
_MOST_TRUSTED_FIRST = (
    "CASE m.role "
    + " ".join(f"WHEN '{r.value}' THEN {i}" for i, r in enumerate(reversed(rules.WORKSPACE_ROLES)))
    + " END"
)


def _workspace(row: Row) -> Workspace:
    return Workspace(id=row["id"], name=row["name"], created_at=row["created_at"])


def _invite(row: Row) -> Invite:
    return Invite(
        code=row["code"],
        workspace_id=row["workspace_id"],
        role=WorkspaceRole(row["role"]),
        created_by=row["created_by"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        max_uses=row["max_uses"],
        uses=row["uses"],
        revoked=bool(row["revoked"]),
    )


def get_workspace_txn(conn: Conn, workspace_id: int) -> Workspace | None:
    row = conn.execute("SELECT * FROM workspaces WHERE id = ?", (workspace_id,)).fetchone()
    return _workspace(row) if row else None


def _name_taken(name: str) -> Callable[[], Conflict]:
    return lambda: Conflict(
        f"there is already a workspace called {name!r} (workspace names are unique on the"
        " daemon, whatever the case)",
        details={"field": "name"},
    )


def _require_workspace(conn: Conn, workspace_id: int) -> Workspace:
    workspace = get_workspace_txn(conn, workspace_id)
    if workspace is None:
        raise NotFound("no such workspace")
    return workspace


def member_role_txn(conn: Conn, workspace_id: int, user_id: int) -> WorkspaceRole | None:
    row = conn.execute(
        "SELECT role FROM workspace_members WHERE workspace_id = ? AND user_id = ?",
        (workspace_id, user_id),
    ).fetchone()
    return WorkspaceRole(row[0]) if row else None


def drop_unused_covers_txn(conn: Conn, candidates: list[str]) -> None:
    """Delete those of these cover images that no page shows any more (pages that show the same
    picture share one). Each is locked first, as a page taking it up does: the check and the
    delete cannot straddle a page setting it."""
    for name in sorted(set(candidates)):
        lock(conn, f"cover:{name}")
        conn.execute(
            "DELETE FROM cover_images WHERE name = ?"
            " AND NOT EXISTS (SELECT 1 FROM pages WHERE cover = ?)",
            (name, name),
        )


def set_members_txn(
    conn: Conn, workspace_id: int, entries: list[MemberEntry], now: float
) -> list[WorkspaceRole | None]:
    """Give each entry's user its role, adding those who are not members; all or nothing.

    Who exists and the owner rule are checked here, against the rows this transaction sees,
    so that no account disabled or deleted and no transfer slips between a check and the
    write. Returns the roles before.
    """
    lock_row(conn, "workspaces", workspace_id)  # membership changes take turns per workspace
    _require_workspace(conn, workspace_id)
    before = [member_role_txn(conn, workspace_id, e.user_id) for e in entries]
    problems: list[tuple[int, str, str]] = []
    for index, (entry, current) in enumerate(zip(entries, before, strict=True)):
        if not _active_user_txn(conn, entry.user_id):
            problems.append((index, entry.username, f"no user named {entry.username!r}"))
        elif entry.keep_existing and current is not None:
            continue
        elif (why := rules.owner_change_refusal(current, entry.role)) is not None:
            problems.append((index, entry.username, why))
    if problems:
        raise rules.member_list_refusal(problems)
    conn.executemany(
        "INSERT INTO workspace_members (workspace_id, user_id, role, joined_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (workspace_id, user_id) DO UPDATE SET role = excluded.role",
        [
            (workspace_id, e.user_id, e.role.value, now)
            for e, current in zip(entries, before, strict=True)
            if not (e.keep_existing and current is not None)
        ],
    )
    return before


def _active_user_txn(conn: Conn, user_id: int) -> bool:
    """The account exists and may be given a role: not disabled, not deleted (0009)."""
    row = conn.execute(
        "SELECT 1 FROM users WHERE id = ? AND disabled = 0 AND deleted_at IS NULL"
        + for_share(conn),
        (user_id,),
    ).fetchone()
    return row is not None


def redeem_invite_txn(
    conn: Conn, code: str, user_id: int, now: float
) -> tuple[Workspace, WorkspaceRole, bool]:
    lock_row(conn, "invites", code, column="code")  # its uses are counted one at a time
    row = conn.execute("SELECT * FROM invites WHERE code = ?", (code,)).fetchone()
    if row is None:
        raise NotFound("no such invite")
    invite = _invite(row)
    workspace = _require_workspace(conn, invite.workspace_id)
    current = member_role_txn(conn, invite.workspace_id, user_id)
    if current is not None:  # a member uses no invite, so its state matters not
        return workspace, current, False
    if (why := invite_refusal(invite, now)) is not None:
        raise Gone(why)
    conn.execute("UPDATE invites SET uses = uses + 1 WHERE code = ?", (code,))
    conn.execute(
        "INSERT INTO workspace_members (workspace_id, user_id, role, joined_at)"
        " VALUES (?, ?, ?, ?)",
        (invite.workspace_id, user_id, invite.role.value, now),
    )
    return workspace, invite.role, True


def transfer_txn(conn: Conn, workspace_id: int, from_id: int, to_id: int) -> None:
    lock_row(conn, "workspaces", workspace_id)
    if member_role_txn(conn, workspace_id, from_id) is not WorkspaceRole.OWNER:
        raise Conflict("only the current owner can hand the workspace over")
    # The new owner's account held as it is (an admin deleting it meanwhile waits, and then
    # finds them an owner): a workspace is never left with none.
    if member_role_txn(conn, workspace_id, to_id) is None or not _active_user_txn(conn, to_id):
        raise InvalidInput("the new owner must be a member of the workspace first")
    conn.execute(
        "UPDATE workspace_members SET role = 'admin' WHERE workspace_id = ? AND user_id = ?",
        (workspace_id, from_id),
    )
    conn.execute(
        "UPDATE workspace_members SET role = 'owner' WHERE workspace_id = ? AND user_id = ?",
        (workspace_id, to_id),
    )


class SqlWorkspaces(WorkspaceStore):
    db: Database

    async def create_workspace(self, name: str, owner_id: int, now: float) -> Workspace:
        def txn(conn: Conn) -> Workspace:
            with unique_or(conn, _name_taken(name)):
                workspace_id = conn.execute(
                    "INSERT INTO workspaces (name, name_key, created_at) VALUES (?, ?, ?)"
                    " RETURNING id",
                    (name, name_key(name), now),
                ).fetchone()[0]
            conn.execute(
                "INSERT INTO workspace_members (workspace_id, user_id, role, joined_at)"
                " VALUES (?, ?, 'owner', ?)",
                (workspace_id, owner_id, now),
            )
            return _require_workspace(conn, workspace_id)

        return await self.db.write(txn)

    async def get_workspace(self, workspace_id: int) -> Workspace | None:
        return await self.db.read(get_workspace_txn, workspace_id)

    async def find_workspace(self, name: str) -> Workspace | None:
        def txn(conn: Conn) -> Workspace | None:
            row = conn.execute(
                "SELECT * FROM workspaces WHERE name_key = ?", (name_key(name),)
            ).fetchone()
            return _workspace(row) if row else None

        return await self.db.read(txn)

    async def workspaces_of(self, user_id: int) -> list[tuple[Workspace, WorkspaceRole]]:
        def txn(conn: Conn) -> list[tuple[Workspace, WorkspaceRole]]:
            rows = conn.execute(
                "SELECT w.*, m.role FROM workspace_members m"
                " JOIN workspaces w ON w.id = m.workspace_id WHERE m.user_id = ?"
                " ORDER BY lower(w.name), w.id",  # as in all_workspaces
                (user_id,),
            )
            return [(_workspace(r), WorkspaceRole(r["role"])) for r in rows]

        return await self.db.read(txn)

    async def all_workspaces(self) -> list[Workspace]:
        def txn(conn: Conn) -> list[Workspace]:
            # Not COLLATE NOCASE (SQLite only): SQLite's lower() folds ASCII letters only, as
            # NOCASE does, so the order is the same.
            rows = conn.execute("SELECT * FROM workspaces ORDER BY lower(name), id")
            return [_workspace(r) for r in rows]

        return await self.db.read(txn)

    async def rename_workspace(self, workspace_id: int, name: str) -> Workspace:
        def txn(conn: Conn) -> Workspace:
            with unique_or(conn, _name_taken(name)):
                conn.execute(
                    "UPDATE workspaces SET name = ?, name_key = ? WHERE id = ?",
                    (name, name_key(name), workspace_id),
                )
            return _require_workspace(conn, workspace_id)

        return await self.db.write(txn)

    async def delete_workspace(self, workspace_id: int) -> None:
        def txn(conn: Conn) -> None:
            lock_row(conn, "workspaces", workspace_id)  # its pages' covers stay as read here
            covers = [
                r[0]
                for r in conn.execute(
                    "SELECT cover FROM pages WHERE workspace_id = ? AND cover IS NOT NULL",
                    (workspace_id,),
                )
            ]
            # Children first: a page's parent must exist while the page does. On their way out
            # they leave the sibling titles' index as trash roots (see migration 0007), which
            # would otherwise see every page of the workspace at its top at once.
            conn.execute(
                "UPDATE pages SET parent_id = NULL, archived_root = id WHERE workspace_id = ?",
                (workspace_id,),
            )
            conn.execute("DELETE FROM workspaces WHERE id = ?", (workspace_id,))
            drop_unused_covers_txn(conn, covers)

        await self.db.write(txn)

    async def workspace_members(self, workspace_id: int) -> list[WorkspaceMember]:
        def txn(conn: Conn) -> list[WorkspaceMember]:
            rows = conn.execute(
                "SELECT m.*, u.username FROM workspace_members m JOIN users u ON u.id = m.user_id"
                " WHERE m.workspace_id = ?"
                f" ORDER BY {_MOST_TRUSTED_FIRST}, u.username",
                (workspace_id,),
            )
            return [
                WorkspaceMember(
                    r["user_id"], r["username"], WorkspaceRole(r["role"]), r["joined_at"]
                )
                for r in rows
            ]

        return await self.db.read(txn)

    async def member_role(self, workspace_id: int, user_id: int) -> WorkspaceRole | None:
        return await self.db.read(member_role_txn, workspace_id, user_id)

    # --- workspace admin ---

    async def set_workspace_members(
        self, workspace_id: int, entries: list[MemberEntry], now: float
    ) -> list[WorkspaceRole | None]:
        return await self.db.write(set_members_txn, workspace_id, entries, now)

    async def workspace_headcounts(self, member_id: int | None) -> dict[int, tuple[list[str], int]]:
        def txn(conn: Conn) -> dict[int, tuple[list[str], int]]:
            among = (
                ""
                if member_id is None
                else " AND m.workspace_id IN"
                " (SELECT workspace_id FROM workspace_members WHERE user_id = ?)"
            )
            params = () if member_id is None else (member_id,)
            counts = conn.execute(
                f"SELECT m.workspace_id, COUNT(*) FROM workspace_members m WHERE TRUE{among}"
                " GROUP BY m.workspace_id",
                params,
            )
            found: dict[int, tuple[list[str], int]] = {ws: ([], n) for ws, n in counts}
            owners = conn.execute(
                "SELECT m.workspace_id, u.username FROM workspace_members m"
                f" JOIN users u ON u.id = m.user_id WHERE m.role = 'owner'{among}"
                " ORDER BY u.username",
                params,
            )
            for ws, username in owners:
                found[ws][0].append(username)
            return found

        return await self.db.read(txn)

    async def remove_workspace_member(self, workspace_id: int, user_id: int) -> bool:
        def txn(conn: Conn) -> bool:
            lock_row(conn, "workspaces", workspace_id)
            if member_role_txn(conn, workspace_id, user_id) is WorkspaceRole.OWNER:
                raise Conflict(
                    "an owner neither leaves nor is removed: transfer the workspace first"
                )
            cur = conn.execute(
                "DELETE FROM workspace_members WHERE workspace_id = ? AND user_id = ?",
                (workspace_id, user_id),
            )
            return cur.rowcount > 0

        return await self.db.write(txn)

    async def transfer_ownership(self, workspace_id: int, from_id: int, to_id: int) -> None:
        await self.db.write(transfer_txn, workspace_id, from_id, to_id)

    async def create_invite(self, invite: Invite) -> Invite:
        def txn(conn: Conn) -> Invite:
            conn.execute(
                "INSERT INTO invites (code, workspace_id, role, created_by, created_at,"
                " expires_at, max_uses) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    invite.code,
                    invite.workspace_id,
                    invite.role.value,
                    invite.created_by,
                    invite.created_at,
                    invite.expires_at,
                    invite.max_uses,
                ),
            )
            return invite

        return await self.db.write(txn)

    async def invites(self, workspace_id: int) -> list[Invite]:
        def txn(conn: Conn) -> list[Invite]:
            rows = conn.execute(
                "SELECT * FROM invites WHERE workspace_id = ? ORDER BY created_at",
                (workspace_id,),
            )
            return [_invite(r) for r in rows]

        return await self.db.read(txn)

    async def get_invite(self, code: str) -> Invite | None:
        def txn(conn: Conn) -> Invite | None:
            row = conn.execute("SELECT * FROM invites WHERE code = ?", (code,)).fetchone()
            return _invite(row) if row else None

        return await self.db.read(txn)

    async def revoke_invite(self, code: str) -> bool:
        def txn(conn: Conn) -> bool:
            cur = conn.execute(
                "UPDATE invites SET revoked = 1 WHERE code = ? AND revoked = 0", (code,)
            )
            return cur.rowcount > 0

        return await self.db.write(txn)

    async def redeem_invite(
        self, code: str, user_id: int, now: float
    ) -> tuple[Workspace, WorkspaceRole, bool]:
        return await self.db.write(redeem_invite_txn, code, user_id, now)
