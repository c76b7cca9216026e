"""Workspaces: members with roles, ownership transfer, invite links.

Who may do what is `coope.core.rules.WORKSPACE_PERMISSIONS` (viewer < editor < admin < owner),
enforced here and only here. A service admin (the daemon-wide `admin` role) acts as an owner of
every workspace, by id or by name alike, and is shown as its owner. Nobody changes or removes an
owner: ownership changes hands only by a transfer, after which the old owner stays as an admin.

To anyone else a workspace does not exist: every call answers `NotFound`, exactly as for an id
that was never used.

Whenever someone's standing changes (a role set, removed, left, ownership handed over, joined,
the workspace deleted) they get a `workspace.access` event `{workspace_id, role}` (role null:
no longer a member) on their topic, once the change is stored: their open page sockets decide
again what they may do.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass

from coope.core import rules
from coope.core.errors import Forbidden, Gone, InvalidInput, NotFound
from coope.core.events import WorkspaceAccess, WorkspaceAccessData
from coope.core.models import Invite, Principal, Workspace, WorkspaceMember, WorkspaceRole
from coope.core.names import NAME_MAX, refuse_id_like
from coope.core.rules import WorkspaceAction
from coope.core.workspace_schemas import invite_refusal
from coope.daemon.bus import EventBus, user_topic
from coope.daemon.clock import Clock
from coope.daemon.services.get_or_create import create_or_existing
from coope.daemon.services.users import find_user
from coope.daemon.storage import Storage
from coope.daemon.storage.interface import MemberEntry

_DAY = 24 * 3600


@dataclass(frozen=True)
class Access:
    """A principal's standing in one workspace."""

    workspace: Workspace
    role: WorkspaceRole  # a service admin's is owner, member or not

    def require(self, action: WorkspaceAction) -> None:
        if not rules.workspace_allows(self.role, action):
            raise Forbidden(rules.workspace_refusal(action))

    def require_edit(self) -> None:
        if not rules.workspace_allows(self.role, WorkspaceAction.EDIT):
            raise Forbidden("viewers can read this workspace but not change it")


@dataclass(frozen=True)
class ListedWorkspace:
    """A workspace as a list shows it: with the caller's role, its owners and its size."""

    workspace: Workspace
    role: WorkspaceRole
    owners: list[str]
    member_count: int


@dataclass(frozen=True)
class WantedRole:
    """One entry of a bulk change: a person and the role to give them. With `keep_existing`
    the role is only a default: someone already a member keeps theirs."""

    username: str
    role: WorkspaceRole
    keep_existing: bool = False


@dataclass(frozen=True)
class MemberChange:
    """A member whose role a bulk change set: `previous` None means newly added."""

    username: str
    role: WorkspaceRole
    previous: WorkspaceRole | None


@dataclass(frozen=True)
class MemberChanges:
    """What a bulk change did: the roles it set, and the members it left with their own
    (`keep_existing` entries whose role differed: `MemberChange.role` is the one they keep)."""

    changed: list[MemberChange]
    kept: list[MemberChange]


@dataclass(frozen=True)
class InvitePreview:
    """A working invite and its workspace, as its link shows them."""

    invite: Invite
    workspace: Workspace


def _seen_role(principal: Principal, role: WorkspaceRole) -> WorkspaceRole:
    return WorkspaceRole.OWNER if principal.is_admin else role


def _may_list_everything(principal: Principal, everything: bool) -> None:
    if everything and not principal.is_admin:
        raise Forbidden("listing every workspace needs the admin role")


_CODE_ALPHABET = string.ascii_letters + string.digits


def _invite_code() -> str:
    """16 letters and digits (~95 bits). No '-' or '_': a code starting with '-' would be read
    as an option by a command line."""
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(16))


def clean_name(name: str, what: str = "name") -> str:
    name = " ".join(name.split())
    if not name:
        raise InvalidInput(f"the {what} cannot be empty", details={"field": what})
    if len(name) > NAME_MAX:
        raise InvalidInput(
            f"the {what} can be at most {NAME_MAX} characters", details={"field": what}
        )
    if (bad := rules.control_character(name, single_line=True)) is not None:
        raise InvalidInput(
            f"the {what} cannot hold control characters (found {bad})", details={"field": what}
        )
    return name


def workspace_name(name: str) -> str:
    """`clean_name`, and never a name a resolver would take for an id (`3`, `#3`)."""
    name = clean_name(name)
    refuse_id_like(name, "workspace", repr(name))
    return name


class WorkspaceService:
    def __init__(self, storage: Storage, bus: EventBus, clock: Clock) -> None:
        self._storage = storage
        self._bus = bus
        self._clock = clock

    async def _announce(self, workspace_id: int, user_id: int, role: WorkspaceRole | None) -> None:
        """Tell a user's connections that their standing in a workspace changed."""
        event = WorkspaceAccess(data=WorkspaceAccessData(workspace_id=workspace_id, role=role))
        await self._bus.publish([user_topic(user_id)], event)

    async def access(self, principal: Principal, workspace_id: int) -> Access:
        workspace = await self._storage.get_workspace(workspace_id)
        role = (
            await self._storage.member_role(workspace_id, principal.user.id) if workspace else None
        )
        if workspace is None or (role is None and not principal.is_admin):
            raise NotFound(f"no workspace {workspace_id}")
        return Access(workspace, _seen_role(principal, role or WorkspaceRole.OWNER))

    async def create(
        self, principal: Principal, name: str, *, exist_ok: bool = False
    ) -> tuple[Access, bool]:
        """Create a workspace the principal owns; (its access, True).

        Names are unique on the daemon (`coope.core.names`): a taken name is a `Conflict`, unless
        `exist_ok` and the principal may see the workspace that has it: then (that one, False).
        """
        name = workspace_name(name)

        async def create() -> Access:
            made = await self._storage.create_workspace(name, principal.user.id, self._clock.now())
            return Access(made, WorkspaceRole.OWNER)

        async def seen_as(holder: Workspace) -> Access:
            return await self.access(principal, holder.id)

        return await create_or_existing(
            create,
            lambda: self._storage.find_workspace(name),
            seen_as,
            exist_ok=exist_ok,
            named=f"a workspace called {name!r}",
        )

    async def list_workspaces(
        self, principal: Principal, *, everything: bool = False
    ) -> list[tuple[Workspace, WorkspaceRole]]:
        """The principal's workspaces and their role in each; with `everything`, every one
        (service admins only)."""
        _may_list_everything(principal, everything)
        if everything:
            return [(w, WorkspaceRole.OWNER) for w in await self._storage.all_workspaces()]
        mine = await self._storage.workspaces_of(principal.user.id)
        return [(w, _seen_role(principal, r)) for w, r in mine]

    async def overview(
        self, principal: Principal, *, everything: bool = False, name: str | None = None
    ) -> list[ListedWorkspace]:
        """`list_workspaces` with each workspace's owners and member count.

        With `name`, only the workspace of that name, if the principal may see it (a member, or
        a service admin): how a name is resolved, with the same empty answer whether a
        workspace of that name exists or not."""
        if name is not None:
            _may_list_everything(principal, everything)
            return await self._named(principal, name)
        seen = await self.list_workspaces(principal, everything=everything)
        counts = await self._storage.workspace_headcounts(None if everything else principal.user.id)
        return [ListedWorkspace(w, r, *counts.get(w.id, ([], 0))) for w, r in seen]

    async def _named(self, principal: Principal, name: str) -> list[ListedWorkspace]:
        found = await self._storage.find_workspace(name)
        if found is None:
            return []
        try:
            access = await self.access(principal, found.id)
        except NotFound:
            return []
        members = await self._storage.workspace_members(found.id)
        owners = [m.username for m in members if m.role is WorkspaceRole.OWNER]
        return [ListedWorkspace(access.workspace, access.role, owners, len(members))]

    async def rename(self, principal: Principal, workspace_id: int, name: str) -> Workspace:
        (await self.access(principal, workspace_id)).require(WorkspaceAction.RENAME)
        return await self._storage.rename_workspace(workspace_id, workspace_name(name))

    async def delete(self, principal: Principal, workspace_id: int) -> None:
        """Delete the workspace, with its pages."""
        (await self.access(principal, workspace_id)).require(WorkspaceAction.DELETE)
        members = await self._storage.workspace_members(workspace_id)
        await self._storage.delete_workspace(workspace_id)
        for member in members:
            await self._announce(workspace_id, member.user_id, None)

    async def members(self, principal: Principal, workspace_id: int) -> list[WorkspaceMember]:
        await self.access(principal, workspace_id)
        return await self._storage.workspace_members(workspace_id)

    async def set_role(
        self, principal: Principal, workspace_id: int, username: str, role: WorkspaceRole
    ) -> list[WorkspaceMember]:
        """Add someone directly or change a member's role (admin, editor or viewer)."""
        (await self.access(principal, workspace_id)).require(WorkspaceAction.MANAGE_MEMBERS)
        user = await find_user(self._storage, username)
        current = await self._storage.member_role(workspace_id, user.id)
        if (why := rules.owner_change_refusal(current, role)) is not None:
            raise InvalidInput(why)
        await self._apply(workspace_id, [MemberEntry(user.id, user.username, role)])
        return await self._storage.workspace_members(workspace_id)

    async def set_roles(
        self, principal: Principal, workspace_id: int, wanted: list[WantedRole]
    ) -> MemberChanges:
        """Give several people their roles at once, adding those who are not members: every
        entry is checked first (the user exists and is listed once, no owner is changed), and
        then all are applied in one transaction, or none. Every entry that cannot be applied
        is in one `InvalidInput` (`rules.member_list_refusal`). Returns what changed, and who
        kept a role of their own (`WantedRole.keep_existing`)."""
        (await self.access(principal, workspace_id)).require(WorkspaceAction.MANAGE_MEMBERS)
        current = {m.user_id: m.role for m in await self._storage.workspace_members(workspace_id)}
        problems: list[tuple[int, str, str]] = []
        entries: list[MemberEntry] = []
        first_entry: dict[str, int] = {}
        for index, want in enumerate(wanted):
            name = want.username.strip().removeprefix("@").lower()
            if name in first_entry:
                problems.append((index, name, f"listed already (entry {first_entry[name] + 1})"))
                continue
            first_entry[name] = index
            try:
                user = await find_user(self._storage, name)
            except NotFound as missing:
                problems.append((index, name, missing.message))
                continue
            role_now = current.get(user.id)
            keeps_own = want.keep_existing and role_now is not None
            if not keeps_own and (why := rules.owner_change_refusal(role_now, want.role)):
                problems.append((index, user.username, why))
                continue
            entries.append(MemberEntry(user.id, user.username, want.role, want.keep_existing))
        if problems:
            raise rules.member_list_refusal(problems)
        before = await self._apply(workspace_id, entries)
        changed: list[MemberChange] = []
        kept: list[MemberChange] = []
        for entry, previous in zip(entries, before, strict=True):
            if entry.keep_existing and previous is not None:
                if previous is not entry.role:
                    kept.append(MemberChange(entry.username, previous, previous))
            elif previous is not entry.role:
                changed.append(MemberChange(entry.username, entry.role, previous))
        return MemberChanges(changed, kept)

    async def _apply(
        self, workspace_id: int, entries: list[MemberEntry]
    ) -> list[WorkspaceRole | None]:
        """Store the roles (one transaction, which checks again who exists and the owner rule)
        and tell each person whose standing changed. Returns the roles before."""
        before = await self._storage.set_workspace_members(workspace_id, entries, self._clock.now())
        for entry, previous in zip(entries, before, strict=True):
            keeps_own = entry.keep_existing and previous is not None
            if not keeps_own and previous is not entry.role:
                await self._announce(workspace_id, entry.user_id, entry.role)
        return before

    async def remove(self, principal: Principal, workspace_id: int, username: str) -> None:
        """Remove a member; an owner is refused (`Conflict`) by the store, which sees the
        roles as they are when the row goes."""
        access = await self.access(principal, workspace_id)
        user = await find_user(self._storage, username)
        if user.id != principal.user.id:
            access.require(WorkspaceAction.MANAGE_MEMBERS)
        if not await self._storage.remove_workspace_member(workspace_id, user.id):
            raise NotFound(f"{user.username} is not a member")
        await self._announce(workspace_id, user.id, None)

    async def leave(self, principal: Principal, workspace_id: int) -> None:
        await self.access(principal, workspace_id)
        if not await self._storage.remove_workspace_member(workspace_id, principal.user.id):
            raise InvalidInput("you are not a member of this workspace")
        await self._announce(workspace_id, principal.user.id, None)

    async def transfer(self, principal: Principal, workspace_id: int, username: str) -> None:
        (await self.access(principal, workspace_id)).require(WorkspaceAction.TRANSFER)
        user = await find_user(self._storage, username)
        owners = [
            m
            for m in await self._storage.workspace_members(workspace_id)
            if m.role is WorkspaceRole.OWNER
        ]
        current = owners[0].user_id if owners else principal.user.id
        await self._storage.transfer_ownership(workspace_id, current, user.id)
        for user_id in {current, user.id}:
            await self._announce(
                workspace_id, user_id, await self._storage.member_role(workspace_id, user_id)
            )

    # --- invites ---------------------------------------------------------------------------

    async def invite(
        self,
        principal: Principal,
        workspace_id: int,
        role: WorkspaceRole,
        expires_in_days: float | None,
        max_uses: int | None,
    ) -> Invite:
        (await self.access(principal, workspace_id)).require(WorkspaceAction.INVITE)
        if role not in (WorkspaceRole.EDITOR, WorkspaceRole.VIEWER):
            raise InvalidInput(
                "an invite makes editors or viewers: admins are given their role by an owner or"
                " admin, and ownership is transferred"
            )
        now = self._clock.now()
        invite = Invite(
            code=_invite_code(),
            workspace_id=workspace_id,
            role=role,
            created_by=principal.user.id,
            created_at=now,
            expires_at=now + expires_in_days * _DAY if expires_in_days else None,
            max_uses=max_uses,
            uses=0,
            revoked=False,
        )
        return await self._storage.create_invite(invite)

    async def invites(self, principal: Principal, workspace_id: int) -> list[Invite]:
        (await self.access(principal, workspace_id)).require(WorkspaceAction.INVITE)
        return await self._storage.invites(workspace_id)

    async def revoke_invite(self, principal: Principal, workspace_id: int, code: str) -> None:
        (await self.access(principal, workspace_id)).require(WorkspaceAction.INVITE)
        invite = await self._storage.get_invite(code)
        if invite is None or invite.workspace_id != workspace_id:
            raise NotFound("no such invite")
        await self._storage.revoke_invite(code)

    async def preview_invite(self, code: str) -> InvitePreview:
        """What an invite link leads to, for whoever holds it, without joining: the code is the
        secret (about 95 bits), so it tells the workspace's name and the role it gives, as the
        person who sent it meant. Nothing is used up by looking.

        Raises:
            NotFound: No such code (or its workspace is gone).
            Gone: Revoked, expired or used up, in the words `join` uses; nothing about the
                workspace.
        """
        invite = await self._storage.get_invite(code)
        if invite is None:
            raise NotFound("no such invite")
        if (why := invite_refusal(invite, self._clock.now())) is not None:
            raise Gone(why)
        workspace = await self._storage.get_workspace(invite.workspace_id)
        if workspace is None:
            raise NotFound("no such invite")
        return InvitePreview(invite, workspace)

    async def join(self, principal: Principal, code: str) -> tuple[Workspace, WorkspaceRole, bool]:
        joined = await self._storage.redeem_invite(
            code.strip(), principal.user.id, self._clock.now()
        )
        workspace, role, _ = joined
        await self._announce(workspace.id, principal.user.id, role)
        return joined
