"""Pages: the tree of a workspace, covers, trash, search, and content through the document hub.

Permissions come from `WorkspaceService.access`: viewers read, editors change, and a page of a
workspace someone is not in does not exist for them (`NotFound`). Ids given in a body (a parent,
a sibling) get one answer whether they are missing or belong to another workspace, so that no
answer tells which ids exist elsewhere.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from typing import Any

from pycrdt import Doc

from coope.core.blocks import (
    BlockView,
    add_block,
    check_block_type,
    import_markdown,
    plain_text,
    position_between,
    read_blocks,
    to_markdown,
)
from coope.core.errors import InvalidInput, NotFound, PayloadTooLarge
from coope.core.events import PagesArchived, PagesData, PagesRestored
from coope.core.models import Page, Principal
from coope.core.rules import COVER_MAX_BYTES, COVER_MAX_MB
from coope.daemon.bus import EventBus, user_topics
from coope.daemon.clock import Clock
from coope.daemon.services.cover_images import COVER_TYPES, reencode_cover
from coope.daemon.services.get_or_create import create_or_existing
from coope.daemon.services.livedocs import DocumentHub
from coope.daemon.services.workspaces import Access, WorkspaceService, clean_name
from coope.daemon.storage import NewPage, Storage

ICON_MAX = 16
# One answer for every parent that will not do, whatever the reason (no such page, another
# workspace's page, a page in the trash): which ids exist elsewhere is nobody's business here.
NOT_A_PARENT = "the parent must be a live page of the same workspace"


@dataclass(frozen=True)
class PageView:
    page: Page
    access: Access


class PageService:
    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        workspaces: WorkspaceService,
        hub: DocumentHub,
        bus: EventBus,
    ) -> None:
        self._bus = bus
        self._storage = storage
        self._clock = clock
        self._workspaces = workspaces
        self._hub = hub

    async def view(self, principal: Principal, page_id: int) -> PageView:
        page = await self._storage.get_page(page_id)
        if page is None:
            raise NotFound(f"no page {page_id}")
        try:
            access = await self._workspaces.access(principal, page.workspace_id)
        except NotFound:
            raise NotFound(f"no page {page_id}") from None
        return PageView(page, access)

    async def _editable(self, principal: Principal, page_id: int) -> Page:
        view = await self.view(principal, page_id)
        view.access.require_edit()
        return view.page

    async def _live(self, principal: Principal, page_id: int) -> Page:
        page = await self._editable(principal, page_id)
        if page.archived:
            raise InvalidInput("this page is in the trash: restore it first")
        return page

    # --- the tree --------------------------------------------------------------------------

    async def create(
        self,
        principal: Principal,
        workspace_id: int,
        title: str,
        *,
        parent_id: int | None = None,
        icon: str = "",
        markdown: str | None = None,
        exist_ok: bool = False,
        number_if_taken: bool = False,
    ) -> tuple[Page, bool]:
        """Create a page; (it, True). Titles are unique among siblings (`coope.core.names`): a
        taken title is a `Conflict`, unless `exist_ok`: then (the sibling that has it, False),
        unchanged (`icon` and `markdown` are not applied to it); or unless `number_if_taken`:
        then the new page is "Title (2)" (the first free number)."""
        if exist_ok and number_if_taken:
            raise InvalidInput("exist_ok and number_if_taken do not go together: choose one")
        (await self._workspaces.access(principal, workspace_id)).require_edit()
        if parent_id is not None:
            await self._require_parent(workspace_id, parent_id)
        last = await self._storage.last_child_position(workspace_id, parent_id)
        content, text = None, ""
        if markdown:
            doc: Doc[Any] = Doc()
            with doc.transaction():
                import_markdown(doc, markdown)
            content, text = doc.get_update(), plain_text(doc)
        new = NewPage(
            workspace_id=workspace_id,
            parent_id=parent_id,
            title=clean_name(title, "title"),
            icon=_icon(icon),
            position=position_between(last, None),
            created_by=principal.user.id,
            created_at=self._clock.now(),
            number_if_taken=number_if_taken,
        )

        async def create() -> Page:
            page = await self._storage.create_page(new, content)
            if text:
                await self._storage.set_body_text(page.id, text)
            return page

        async def as_it_is(sibling: Page) -> Page:
            return sibling

        return await create_or_existing(
            create,
            lambda: self._storage.find_sibling(workspace_id, parent_id, new.title),
            as_it_is,
            exist_ok=exist_ok,
            named=f"a page called {new.title!r} there",
        )

    async def tree(self, principal: Principal, workspace_id: int) -> list[Page]:
        await self._workspaces.access(principal, workspace_id)
        return await self._storage.pages_of(workspace_id)

    async def trash(self, principal: Principal, workspace_id: int) -> list[Page]:
        await self._workspaces.access(principal, workspace_id)
        return await self._storage.pages_of(workspace_id, archived=True)

    async def rename(self, principal: Principal, page_id: int, title: str) -> Page:
        await self._editable(principal, page_id)
        return await self._storage.update_page(
            page_id, self._clock.now(), title=clean_name(title, "title")
        )

    async def set_icon(self, principal: Principal, page_id: int, icon: str) -> Page:
        await self._editable(principal, page_id)
        return await self._storage.update_page(page_id, self._clock.now(), icon=_icon(icon))

    async def move(
        self,
        principal: Principal,
        page_id: int,
        parent_id: int | None,
        after: int | None = None,
    ) -> Page:
        page = await self._live(principal, page_id)
        if parent_id is not None:
            await self._require_parent(page.workspace_id, parent_id)
        siblings = [
            p
            for p in await self._storage.pages_of(page.workspace_id)
            if p.parent_id == parent_id and p.id != page_id
        ]
        if after is None:
            position = position_between(siblings[-1].position if siblings else None, None)
        else:
            index = next((i for i, p in enumerate(siblings) if p.id == after), None)
            if index is None:
                raise InvalidInput(f"page {after} is not among the new siblings")
            following = siblings[index + 1].position if index + 1 < len(siblings) else None
            position = position_between(siblings[index].position, following)
        return await self._storage.move_page(page_id, parent_id, position, self._clock.now())

    async def _require_parent(self, workspace_id: int, parent_id: int) -> None:
        # The caller may edit `workspace_id`, so a page of it needs no access check of its own;
        # the storage checks again in the transaction that moves.
        parent = await self._storage.get_page(parent_id)
        if parent is None or parent.workspace_id != workspace_id or parent.archived:
            raise InvalidInput(NOT_A_PARENT, details={"field": "parent_id"})

    async def archive(self, principal: Principal, page_id: int) -> list[int]:
        page = await self._editable(principal, page_id)
        ids = await self._storage.archive_subtree(page_id, self._clock.now())
        await self._announce(PagesArchived, page.workspace_id, page_id)
        return ids

    async def restore(self, principal: Principal, page_id: int) -> Page:
        page = await self._editable(principal, page_id)
        restored = await self._storage.restore_subtree(page_id, self._clock.now())
        await self._announce(PagesRestored, page.workspace_id, page_id)
        return restored

    async def _announce(
        self, kind: type[PagesArchived | PagesRestored], workspace_id: int, root_id: int
    ) -> None:
        """Tell every member's connections that a subtree moved to or from the trash (what their
        open sync sockets may do there changes: a page in the trash is read-only)."""
        event = kind(data=PagesData(workspace_id=workspace_id, page_id=root_id))
        members = await self._storage.workspace_members(workspace_id)
        await self._bus.publish(user_topics(m.user_id for m in members), event)

    async def delete(self, principal: Principal, page_id: int) -> list[int]:
        await self._editable(principal, page_id)
        ids = await self._storage.delete_subtree(page_id)
        for deleted in ids:
            await self._hub.forget(deleted)
        return ids

    async def delete_workspace(self, principal: Principal, workspace_id: int) -> None:
        await self._workspaces.delete(principal, workspace_id)
        for page_id in self._hub.loaded_pages():
            if await self._storage.get_page(page_id) is None:
                await self._hub.forget(page_id)

    async def search(
        self, principal: Principal, query: str, workspace_id: int | None, limit: int
    ) -> list[tuple[Page, str]]:
        if workspace_id is not None:
            await self._workspaces.access(principal, workspace_id)
            scope = [workspace_id]
        else:
            scope = [w.id for w, _ in await self._workspaces.list_workspaces(principal)]
        terms = query.split()
        if not terms:
            raise InvalidInput("search for at least one word")
        return await self._storage.search_pages(scope, terms, limit)

    # --- covers ----------------------------------------------------------------------------

    async def set_cover(self, principal: Principal, page_id: int, data: bytes) -> Page:
        """Store an uploaded image as the page's cover, decoded and re-encoded (see
        `cover_images`): what is served later is only ever pixels this daemon wrote."""
        page = await self._editable(principal, page_id)
        if len(data) > COVER_MAX_BYTES:
            raise PayloadTooLarge(f"a cover can be at most {COVER_MAX_MB} MB")
        cover = await asyncio.to_thread(reencode_cover, data)  # CPU work, off the event loop
        name = f"{hashlib.sha256(cover.data).hexdigest()}.{cover.ext}"
        return await self._storage.update_page(page.id, self._clock.now(), cover=(name, cover.data))

    async def clear_cover(self, principal: Principal, page_id: int) -> Page:
        await self._editable(principal, page_id)
        return await self._storage.update_page(page_id, self._clock.now(), clear_cover=True)

    async def cover(self, principal: Principal, page_id: int) -> tuple[bytes, str]:
        """The cover image and its content type."""
        page = (await self.view(principal, page_id)).page
        image = await self._storage.cover_image(page.cover) if page.cover else None
        if page.cover is None or image is None:
            raise NotFound("this page has no cover")
        return image, COVER_TYPES[page.cover.rsplit(".", 1)[1]]

    # --- content ---------------------------------------------------------------------------

    async def blocks(self, principal: Principal, page_id: int) -> list[BlockView]:
        await self.view(principal, page_id)
        blocks: list[BlockView] = await self._hub.read(page_id, read_blocks)
        return blocks

    async def content(
        self, principal: Principal, page_id: int
    ) -> tuple[Page, list[BlockView], str]:
        page = (await self.view(principal, page_id)).page
        blocks: list[BlockView] = await self._hub.read(page_id, read_blocks)
        return page, blocks, to_markdown(blocks)

    async def state(self, principal: Principal, page_id: int) -> bytes:
        await self.view(principal, page_id)
        return await self._hub.state(page_id)

    async def apply_update(self, principal: Principal, page_id: int, update: bytes) -> int:
        await self._live(principal, page_id)
        return await self._hub.apply_update(page_id, update)

    async def append(
        self, principal: Principal, page_id: int, kind: str, text: str, checked: bool
    ) -> str:
        await self._live(principal, page_id)
        kind = check_block_type(kind)
        added: list[str] = []
        await self._hub.edit(
            page_id, lambda doc: added.append(add_block(doc, kind, text, checked=checked))
        )
        return added[0]

    async def import_markdown(self, principal: Principal, page_id: int, markdown: str) -> None:
        await self._live(principal, page_id)
        await self._hub.edit(page_id, lambda doc: import_markdown(doc, markdown))

    async def sync_access(self, principal: Principal, page_id: int) -> bool:
        """May this principal open the page's sync socket, and may they write through it?"""
        view = await self.view(principal, page_id)
        return view.access.role.can_edit and not view.page.archived


def _icon(icon: str) -> str:
    icon = icon.strip()
    if len(icon) > ICON_MAX or any(c.isspace() for c in icon):
        raise InvalidInput(f"an icon is an emoji or a short code of at most {ICON_MAX} characters")
    return icon
