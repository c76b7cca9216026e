"""Workspaces: members with roles, ownership transfer, invite links.

Who may do what is decided here and only here:

    action                                   viewer  editor  owner  (daemon admin = owner)
    see the workspace, its members, pages      x       x       x
    change pages and their content                     x       x
    rename, delete, manage members, invites                    x

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
from coope.core.errors import Forbidden, InvalidInput, NotFound
from coope.core.events import WorkspaceAccess, WorkspaceAccessData
from coope.core.models import Invite, Principal, Workspace, WorkspaceMember, WorkspaceRole
from coope.core.names import NAME_MAX, refuse_id_like
from coope.daemon.bus import EventBus, user_topic
from coope.daemon.clock import Clock
from coope.daemon.services.get_or_create import create_or_existing
from coope.daemon.services.users import find_user
from coope.daemon.storage import Storage

_DAY = 24 * 3600


@dataclass(frozen=True)
class Access:
    """A principal's standing in one workspace."""

    workspace: Workspace
    role: WorkspaceRole  # an admin who is no member acts as owner

    def require_edit(self) -> None:
        if not self.role.can_edit:
            raise Forbidden("viewers can read this workspace but not change it")

    def require_owner(self) -> None:
        if self.role is not WorkspaceRole.OWNER:
            raise Forbidden("only the workspace's owner can do that")


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
        await self._bus.publish(user_topic(user_id), event)

    async def access(self, principal: Principal, workspace_id: int) -> Access:
        workspace = await self._storage.get_workspace(workspace_id)
        role = (
            await self._storage.member_role(workspace_id, principal.user.id) if workspace else None
        )
        if workspace is None or (role is None and not principal.is_admin):
            raise NotFound(f"no workspace {workspace_id}")
        return Access(workspace, role or WorkspaceRole.OWNER)

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
        mine = await self._storage.workspaces_of(principal.user.id)
        if not everything:
            return mine
        if not principal.is_admin:
            raise Forbidden("listing every workspace needs the admin role")
        roles = {w.id: r for w, r in mine}
        return [
            (w, roles.get(w.id, WorkspaceRole.OWNER)) for w in await self._storage.all_workspaces()
        ]

    async def rename(self, principal: Principal, workspace_id: int, name: str) -> Workspace:
        (await self.access(principal, workspace_id)).require_owner()
        return await self._storage.rename_workspace(workspace_id, workspace_name(name))

    async def delete(self, principal: Principal, workspace_id: int) -> list[str]:
        """Delete the workspace; returns the cover files that the caller should remove."""
        (await self.access(principal, workspace_id)).require_owner()
        members = await self._storage.workspace_members(workspace_id)
        unused = await self._storage.delete_workspace(workspace_id)
        for member in members:
            await self._announce(workspace_id, member.user_id, None)
        return unused

    async def members(self, principal: Principal, workspace_id: int) -> list[WorkspaceMember]:
        await self.access(principal, workspace_id)
        return await self._storage.workspace_members(workspace_id)

    async def set_role(
        self, principal: Principal, workspace_id: int, username: str, role: WorkspaceRole
    ) -> list[WorkspaceMember]:
        """Add someone directly or change a member's role (editor or viewer)."""
        (await self.access(principal, workspace_id)).require_owner()
        user = await find_user(self._storage, username)
        await self._storage.set_workspace_member(workspace_id, user.id, role, self._clock.now())
        await self._announce(workspace_id, user.id, role)
        return await self._storage.workspace_members(workspace_id)

    async def remove(self, principal: Principal, workspace_id: int, username: str) -> None:
        access = await self.access(principal, workspace_id)
        user = await find_user(self._storage, username)
        if user.id != principal.user.id:
            access.require_owner()
        if not await self._storage.remove_workspace_member(workspace_id, user.id):
            raise NotFound(f"{user.username} is not a member")
        await self._announce(workspace_id, user.id, None)

    async def leave(self, principal: Principal, workspace_id: int) -> None:
        await self.access(principal, workspace_id)
        if not await self._storage.remove_workspace_member(workspace_id, principal.user.id):
            raise InvalidInput("you are not a member of this workspace")
        await self._announce(workspace_id, principal.user.id, None)

    async def transfer(self, principal: Principal, workspace_id: int, username: str) -> None:
        (await self.access(principal, workspace_id)).require_owner()
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
        (await self.access(principal, workspace_id)).require_owner()
        if role is WorkspaceRole.OWNER:
            raise InvalidInput("an invite makes editors or viewers; ownership is transferred")
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
        (await self.access(principal, workspace_id)).require_owner()
        return await self._storage.invites(workspace_id)

    async def revoke_invite(self, principal: Principal, workspace_id: int, code: str) -> None:
        (await self.access(principal, workspace_id)).require_owner()
        invite = await self._storage.get_invite(code)
        if invite is None or invite.workspace_id != workspace_id:
            raise NotFound("no such invite")
        await self._storage.revoke_invite(code)

    async def join(self, principal: Principal, code: str) -> tuple[Workspace, WorkspaceRole, bool]:
        joined = await self._storage.redeem_invite(
            code.strip(), principal.user.id, self._clock.now()
        )
        workspace, role, _ = joined
        await self._announce(workspace.id, principal.user.id, role)
        return joined
