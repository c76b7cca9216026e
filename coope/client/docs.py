"""Client areas for workspaces and pages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from coope.client import names
from coope.client.names import PageEntry
from coope.client.transport import Transport
from coope.client.transport import segment as _seg
from coope.core import rules
from coope.core.names import NAME_MAX
from coope.core.schemas import UsernameIn
from coope.core.workspace_schemas import (
    BlockAddedOut,
    BlockIn,
    ContentOut,
    GivenRole,
    IconIn,
    InviteIn,
    InviteOut,
    InvitesOut,
    JoinIn,
    JoinOut,
    MarkdownIn,
    MemberChangesOut,
    MemberEntryIn,
    MemberIn,
    MemberOut,
    MembersIn,
    MembersOut,
    MoveIn,
    PageCreatedOut,
    PageHitOut,
    PageIdsOut,
    PageIn,
    PageListOut,
    PageOut,
    PageSearchOut,
    TitleIn,
    UpdateOut,
    WorkspaceCreatedOut,
    WorkspaceCreateIn,
    WorkspaceIn,
    WorkspaceListedOut,
    WorkspaceListOut,
    WorkspaceOut,
)

Role = Literal["editor", "viewer"]  # what an invite gives


class WorkspacesApi:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    async def create(self, name: str, *, exist_ok: bool = False) -> WorkspaceCreatedOut:
        """Create a workspace you own. Names are unique on the daemon (`coope.core.names`): a
        taken one raises `Conflict`, unless `exist_ok` and you can see the workspace that has it:
        then that one comes back with `created` False."""
        body = WorkspaceCreateIn.model_construct(name=name, exist_ok=exist_ok)
        out: WorkspaceCreatedOut = await self._t.call(
            "POST", "/api/v1/workspaces", WorkspaceCreatedOut, body=body
        )
        return out

    async def get(self, workspace_id: int) -> WorkspaceOut:
        out: WorkspaceOut = await self._t.call(
            "GET", f"/api/v1/workspaces/{workspace_id}", WorkspaceOut
        )
        return out

    async def rename(self, workspace_id: int, name: str) -> WorkspaceOut:
        out: WorkspaceOut = await self._t.call(
            "POST",
            f"/api/v1/workspaces/{workspace_id}/name",
            WorkspaceOut,
            body=WorkspaceIn.model_construct(name=name),
        )
        return out

    async def delete(self, workspace_id: int) -> None:
        await self._t.call("DELETE", f"/api/v1/workspaces/{workspace_id}")

    async def members(self, workspace_id: int) -> list[MemberOut]:
        out: MembersOut = await self._t.call(
            "GET", f"/api/v1/workspaces/{workspace_id}/members", MembersOut
        )
        return out.members

    async def set_member(
        self, workspace_id: int, username: str, role: GivenRole
    ) -> list[MemberOut]:
        out: MembersOut = await self._t.call(
            "PUT",
            f"/api/v1/workspaces/{workspace_id}/members",
            MembersOut,
            body=MemberIn.model_construct(username=username, role=role),
        )
        return out.members

    async def set_members(
        self,
        workspace_id: int,
        entries: Sequence[tuple[str, GivenRole] | tuple[str, GivenRole, bool]],
    ) -> MemberChangesOut:
        """Give several people their roles at once, adding those who are not members: all or
        nothing. An entry is (username, role) or (username, role, keep_existing): with
        keep_existing True the role is only a default, and someone already a member keeps
        theirs (in `kept` when it differs). Entries that cannot be applied raise one
        `InvalidInput` whose `details["problems"]` lists each (`index` into `entries`,
        `username`, `message`). Returns what changed (entries that had their role already are
        left out) and who kept their own role."""
        body = MembersIn.model_construct(entries=[_member_entry(*entry) for entry in entries])
        out: MemberChangesOut = await self._t.call(
            "POST", f"/api/v1/workspaces/{workspace_id}/members/batch", MemberChangesOut, body=body
        )
        return out

    async def remove_member(self, workspace_id: int, username: str) -> None:
        await self._t.call("DELETE", f"/api/v1/workspaces/{workspace_id}/members/{_seg(username)}")

    async def leave(self, workspace_id: int) -> None:
        await self._t.call("POST", f"/api/v1/workspaces/{workspace_id}/leave")

    async def transfer(self, workspace_id: int, username: str) -> list[MemberOut]:
        out: MembersOut = await self._t.call(
            "POST",
            f"/api/v1/workspaces/{workspace_id}/transfer",
            MembersOut,
            body=UsernameIn.model_construct(username=username),
        )
        return out.members

    async def invite(
        self,
        workspace_id: int,
        role: Role = "editor",
        *,
        expires_in_days: float | None = 7,
        max_uses: int | None = None,
    ) -> InviteOut:
        body = InviteIn.model_construct(
            role=role, expires_in_days=expires_in_days, max_uses=max_uses
        )
        out: InviteOut = await self._t.call(
            "POST", f"/api/v1/workspaces/{workspace_id}/invites", InviteOut, body=body
        )
        return out

    async def invites(self, workspace_id: int) -> list[InviteOut]:
        out: InvitesOut = await self._t.call(
            "GET", f"/api/v1/workspaces/{workspace_id}/invites", InvitesOut
        )
        return out.invites

    async def revoke_invite(self, workspace_id: int, code: str) -> None:
        await self._t.call("DELETE", f"/api/v1/workspaces/{workspace_id}/invites/{_seg(code)}")

    async def resolve(self, target: str) -> WorkspaceOut:
        """The workspace a person means: `3`, `#3`, or a name (case-insensitive).

        A name is asked of the daemon, which answers the one of that name if you may see it
        (names are unique on the daemon): one request, and a service admin names any workspace
        as well by name as by id. Raises `NotFound` when there is none you may see (the same
        whether or not one exists), `InvalidInput` when the name fits several.
        """
        name = target.strip()
        # Only a name some workspace could have is asked about; an id is fetched by its id.
        clean = rules.control_character(name, single_line=True) is None
        if clean and 0 < len(name) <= NAME_MAX and names.IdName.of(name) is None:
            found = await self.named(name)
            if found is not None:
                return found
        # By id, or not found: the lookup among yours, which says why in a person's words.
        return await names.resolve_workspace(self, target)

    async def named(self, name: str) -> WorkspaceListedOut | None:
        """The workspace called `name` (names are unique on the daemon), if you may see it."""
        out: WorkspaceListOut = await self._t.call(
            "GET", "/api/v1/workspaces", WorkspaceListOut, params={"name": name}
        )
        return out.workspaces[0] if out.workspaces else None

    def invite_link(self, code: str) -> str:
        """The link that `join` (or a browser, one day) takes for an invite code."""
        return f"{self._t.server}/invite/{_seg(code)}"

    async def join(self, code_or_url: str) -> JoinOut:
        """Join with an invite code, or a link ending in one."""
        code = code_or_url.strip().rstrip("/").rsplit("/", 1)[-1]
        out: JoinOut = await self._t.call(
            "POST", "/api/v1/invites/join", JoinOut, body=JoinIn.model_construct(code=code)
        )
        return out

    # Last in the class: the name would shadow the builtin in annotations that follow it.
    async def list(self, *, everything: bool = False) -> list[WorkspaceListedOut]:
        """Your workspaces with their owners and member counts; with `everything`, every one
        on the daemon (service admins only: `Forbidden` otherwise)."""
        out: WorkspaceListOut = await self._t.call(
            "GET", "/api/v1/workspaces", WorkspaceListOut, params={"all": everything or None}
        )
        return out.workspaces


def _member_entry(username: str, role: GivenRole, keep_existing: bool = False) -> MemberEntryIn:
    return MemberEntryIn.model_construct(username=username, role=role, keep_existing=keep_existing)


class PagesApi:
    def __init__(self, transport: Transport) -> None:
        self._t = transport
        self._workspaces = WorkspacesApi(transport)  # names are looked up among your workspaces

    async def resolve(
        self, target: str, *, within: WorkspaceOut | None = None, trash: bool = False
    ) -> PageOut:
        """The page a person means: `12`, `#12`, `WS/Parent/Child`, `Parent/Child` or `Child`
        (see `coope.client.names`).

        Args:
            target: What the person wrote.
            within: Only look among this workspace's pages.
            trash: Also look among pages in the trash (by title: the roots of what was archived).

        Raises `NotFound` when there is none, `InvalidInput` when the name fits several (the
        message lists them) or names by id a page outside `within`.
        """
        return await names.resolve_page(self, self._workspaces, target, within=within, trash=trash)

    async def entries(
        self, workspaces: Sequence[WorkspaceOut], *, trash: bool = False
    ) -> list[PageEntry]:
        """The pages of `workspaces`, each with its title path, in tree order (with `trash`, the
        roots of what is in the trash too)."""
        return await names.page_entries(self, workspaces, trash=trash)

    async def create(
        self,
        workspace_id: int,
        title: str,
        *,
        parent_id: int | None = None,
        icon: str = "",
        markdown: str | None = None,
        exist_ok: bool = False,
        number_if_taken: bool = False,
    ) -> PageCreatedOut:
        """Create a page. Titles are unique among siblings (`coope.core.names`): a taken one
        raises `Conflict`, unless `exist_ok`: then the sibling comes back as it is, with
        `created` False; or unless `number_if_taken`: then the new page is "Title (2)" (the
        first free number: see its `title`)."""
        body = PageIn.model_construct(
            title=title,
            parent_id=parent_id,
            icon=icon,
            markdown=markdown,
            exist_ok=exist_ok,
            number_if_taken=number_if_taken,
        )
        out: PageCreatedOut = await self._t.call(
            "POST", f"/api/v1/workspaces/{workspace_id}/pages", PageCreatedOut, body=body
        )
        return out

    async def tree(self, workspace_id: int) -> list[PageOut]:
        out: PageListOut = await self._t.call(
            "GET", f"/api/v1/workspaces/{workspace_id}/pages", PageListOut
        )
        return out.pages

    async def trash(self, workspace_id: int) -> list[PageOut]:
        out: PageListOut = await self._t.call(
            "GET", f"/api/v1/workspaces/{workspace_id}/trash", PageListOut
        )
        return out.pages

    async def get(self, page_id: int) -> PageOut:
        out: PageOut = await self._t.call("GET", f"/api/v1/pages/{page_id}", PageOut)
        return out

    async def rename(self, page_id: int, title: str) -> PageOut:
        out: PageOut = await self._t.call(
            "POST",
            f"/api/v1/pages/{page_id}/title",
            PageOut,
            body=TitleIn.model_construct(title=title),
        )
        return out

    async def set_icon(self, page_id: int, icon: str) -> PageOut:
        out: PageOut = await self._t.call(
            "POST",
            f"/api/v1/pages/{page_id}/icon",
            PageOut,
            body=IconIn.model_construct(icon=icon),
        )
        return out

    async def move(
        self, page_id: int, parent_id: int | None, *, after: int | None = None
    ) -> PageOut:
        """Move under `parent_id` (None: the top level), after sibling `after` or last."""
        body = MoveIn.model_construct(parent_id=parent_id, after=after)
        out: PageOut = await self._t.call(
            "POST", f"/api/v1/pages/{page_id}/move", PageOut, body=body
        )
        return out

    async def archive(self, page_id: int) -> list[int]:
        out: PageIdsOut = await self._t.call("POST", f"/api/v1/pages/{page_id}/archive", PageIdsOut)
        return out.pages

    async def restore(self, page_id: int) -> PageOut:
        out: PageOut = await self._t.call("POST", f"/api/v1/pages/{page_id}/restore", PageOut)
        return out

    async def delete(self, page_id: int) -> list[int]:
        out: PageIdsOut = await self._t.call("DELETE", f"/api/v1/pages/{page_id}", PageIdsOut)
        return out.pages

    async def set_cover(self, page_id: int, image: bytes) -> PageOut:
        out: PageOut = await self._t.call(
            "PUT", f"/api/v1/pages/{page_id}/cover", PageOut, data=image
        )
        return out

    async def cover(self, page_id: int) -> bytes:
        raw, _ = await self._t.send("GET", f"/api/v1/pages/{page_id}/cover")
        return raw

    async def clear_cover(self, page_id: int) -> PageOut:
        out: PageOut = await self._t.call("DELETE", f"/api/v1/pages/{page_id}/cover", PageOut)
        return out

    async def content(self, page_id: int) -> ContentOut:
        out: ContentOut = await self._t.call("GET", f"/api/v1/pages/{page_id}/content", ContentOut)
        return out

    async def state(self, page_id: int) -> bytes:
        """The page's content as one Yjs update, to start a replica from."""
        raw, _ = await self._t.send("GET", f"/api/v1/pages/{page_id}/state")
        return raw

    async def apply_update(self, page_id: int, update: bytes) -> int:
        """Merge a replica's Yjs update; returns once the daemon stored it durably."""
        out: UpdateOut = await self._t.call(
            "POST", f"/api/v1/pages/{page_id}/updates", UpdateOut, data=update
        )
        return out.seq

    async def append(
        self, page_id: int, text: str, *, kind: str = "paragraph", checked: bool = False
    ) -> str:
        out: BlockAddedOut = await self._t.call(
            "POST",
            f"/api/v1/pages/{page_id}/blocks",
            BlockAddedOut,
            body=BlockIn.model_construct(type=kind, text=text, checked=checked),
        )
        return out.id

    async def import_markdown(self, page_id: int, markdown: str) -> None:
        await self._t.call(
            "POST",
            f"/api/v1/pages/{page_id}/import",
            body=MarkdownIn.model_construct(markdown=markdown),
        )

    async def search(
        self, query: str, *, workspace_id: int | None = None, limit: int = 20
    ) -> list[PageHitOut]:
        out: PageSearchOut = await self._t.call(
            "GET",
            "/api/v1/search/pages",
            PageSearchOut,
            params={"q": query, "workspace": workspace_id, "limit": limit},
        )
        return out.results
