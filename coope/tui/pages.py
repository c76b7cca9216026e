"""`Pages`: the pages side of the TUI: the open page's live replica, and the page actions.

Opening a page (`open`, a worker of the "page" group: opening another one cancels it) keeps a
`PageReplica` of it until then: others' edits come in as they are made and are drawn at once,
and the person's edits (the page view's messages, handled by the app with the methods here)
go into the replica's document, which sends them as they happen. When the connection drops,
edits go on in the document and are merged both ways when it is back.

Page actions (new, rename, move, archive, restore, delete for good), the search and the trash
ask the daemon through the client and refresh the sidebar's tree; `pages.archived` and
`pages.restored` events (anyone's), and a change of role, refresh it too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from typing import Any

from pycrdt import Doc, Map, Text
from textual.app import SuspendNotSupported
from textual.screen import Screen

from coope.client import ConnectionState, CoopeClient
from coope.client.editor import EditorFailed, edited
from coope.client.feeds import Handle
from coope.core.blocks import (
    Splice,
    add_block,
    apply_markdown,
    blocks_of,
    delete_block,
    move_block,
    read_blocks,
    splice_text,
    to_markdown,
    update_block,
)
from coope.core.errors import CoopeError, DaemonUnreachable, Forbidden, InvalidInput, NotFound
from coope.core.events import PagesArchived, PagesRestored, WorkspaceAccess
from coope.core.rules import visible
from coope.core.workspace_schemas import PageOut, WorkspaceOut
from coope.tui.dialogs import ConfirmScreen
from coope.tui.page_actions import PageAction
from coope.tui.page_dialogs import Choice, SearchScreen, TextPrompt, TrashScreen
from coope.tui.page_text import applied, rebase
from coope.tui.page_view import OPENING, PageView
from coope.tui.session import Session
from coope.tui.sidebar import Sidebar
from coope.tui.work import Spawn

RETRY_S = (0.5, 1.0, 2.0, 5.0)  # waits before reconnecting a page, then the last one again
CLOSED = {
    4401: "Your login no longer works: the page is read-only until you sign in again.",
    4403: "You can no longer read this page.",
    4404: "This page was deleted.",
}


class Pages:
    """The open page and the page actions, for one session.

    Args:
        session: The session (its client, and the main screen whose page view and sidebar
            show what happens here).
        spawn: Runs a coroutine as a worker of the app.
        say: Tells the person something (plain words, never markup).
        ask: Shows a modal screen and waits for its result (`App.push_screen_wait`; only from a
            worker).
        suspend: Hands the terminal over (`App.suspend`), for the person's editor.
    """

    def __init__(
        self,
        session: Session,
        spawn: Spawn,
        say: Callable[[str], None],
        ask: Callable[[Screen[Any]], Awaitable[Any]],
        suspend: Callable[[], AbstractContextManager[None]],
    ) -> None:
        self.session, self.spawn, self.say, self.ask = session, spawn, say, ask
        self.suspend = suspend
        self.page: PageOut | None = None  # the open page
        self.doc: Doc[Any] | None = None  # its content, edited even while offline
        self._handles: list[Handle] = []
        self._was_connected = False
        self._opened = 0  # how many pages were opened: the last one is the open one

    @property
    def client(self) -> CoopeClient:
        return self.session.client

    def start(self) -> None:
        """Follow the events that change the tree or what may be done to the open page."""
        live = self.client.live
        self._handles = [
            live.on((PagesArchived, PagesRestored, WorkspaceAccess), self._pages_event),
            live.on_state(self._state_changed),
        ]

    def stop(self) -> None:
        for handle in self._handles:
            handle.unsubscribe()
        self._handles.clear()

    # --- the open page ----------------------------------------------------------------------

    async def open(self, page_id: int) -> None:
        """Show a page and keep it live until another is opened (the worker is cancelled)."""
        self._opened += 1
        opened = self._opened
        page = await self.client.pages.get(page_id)
        view = self.session.screen.page
        self.page, self.doc = page, None
        view.open(page, "")
        self.session.screen.show_view("page")
        view.blocks.focus()
        await self._check_access()
        doc: Doc[Any] | None = None
        attempt = 0
        # Said when the page closes other than by opening another one (which cancels this).
        closed: str | None = "This page is closed after an error: open it again to edit it."
        try:
            while True:
                replica = self.client.replica(page_id, doc)
                try:
                    async with replica:
                        attempt = 0
                        doc = self.doc = replica.doc
                        await self._check_access()
                        self.show()
                        async for _ in replica.changes():
                            self.show()
                except DaemonUnreachable:
                    pass
                except (Forbidden, NotFound) as exc:
                    closed = exc.message
                    return
                if replica.close_code in CLOSED:
                    closed = CLOSED[replica.close_code]
                    return
                kept = (
                    " (your edits are kept)" if doc is not None and view.read_only is None else ""
                )
                view.show_status(f"Offline: reconnecting…{kept}")
                await asyncio.sleep(RETRY_S[min(attempt, len(RETRY_S) - 1)])
                attempt += 1
        except asyncio.CancelledError:
            closed = None
            raise
        except CoopeError as exc:
            closed = f"This page is closed: {exc.message}"
            raise
        finally:
            if self._opened == opened:  # not replaced by another page
                self.page = self.doc = None
                if closed is not None:
                    view.set_read_only(closed)

    def show(self, *, select: str | None = None) -> None:
        if self.doc is not None:
            self.session.screen.page.show_blocks(read_blocks(self.doc), select=select)

    async def _check_access(self) -> None:
        """Whether the open page may be changed (a viewer's, or in the trash, may not)."""
        page = self.page
        if page is None:
            return
        page = await self.client.pages.get(page.id)
        workspace = await self.client.workspaces.get(page.workspace_id)
        if self.page is None or self.page.id != page.id:
            return
        self.page = page
        view = self.session.screen.page
        view.show_title(page, await self._where(page, workspace))
        if page.archived:
            view.set_read_only("In the trash, read-only: x restores it.")
        elif not workspace.role.can_edit:
            view.set_read_only(f"Read-only: you are a viewer of {visible(workspace.name)}.")
        else:
            view.set_read_only(OPENING if self.doc is None else None)

    async def _where(self, page: PageOut, workspace: WorkspaceOut) -> str:
        """`Workspace › Parent › …` above the page's blocks."""
        parts = [workspace.name]
        if page.parent_id is not None:
            by_id = {p.id: p for p in await self.client.pages.tree(page.workspace_id)}
            trail: list[str] = []
            parent = by_id.get(page.parent_id)
            while parent is not None and len(trail) < 20:
                trail.append(parent.title)
                parent = by_id.get(parent.parent_id) if parent.parent_id is not None else None
            parts.extend(reversed(trail))
        return " › ".join(parts)

    def _editable(self) -> Doc[Any] | None:
        view = self.session.screen.page
        return self.doc if view.read_only is None else None

    # --- what the person asks for ----------------------------------------------------------

    def handle(self, message: object) -> None:
        """Do what a message from the page view, the page tree, the search or the trash asks
        (the app hands them all here)."""
        view = self.session.screen.page
        try:
            match message:
                case Sidebar.PageChosen(page_id=page_id):
                    self.spawn(self.open(page_id), group="page")
                case PageView.TextEdited(block_id=block_id, before=before, change=change):
                    self.edit_text(block_id, before, change)
                case PageView.ToggleWanted(block_id=block_id):
                    self.toggle(block_id)
                case PageView.AddWanted(after=after, kind=kind):
                    new = self.add(after, kind)
                    if new is not None and kind != "divider":
                        view.edit_block(new)
                case PageView.RetypeWanted(block_id=block_id, kind=kind):
                    self.retype(block_id, kind)
                case PageView.MoveWanted(block_id=block_id, after=after):
                    self.move(block_id, after)
                case PageView.DeleteWanted(block_id=block_id):
                    self.delete(block_id)
                case PageView.EditorWanted():
                    self.spawn(self.edit_in_editor(), group="page-editor")
                case PageAction(action=action, page_id=page_id, workspace_id=workspace_id):
                    self.spawn(self.act(action, page_id, workspace_id))
                case SearchScreen.QueryChanged(screen=screen, query=query):
                    self.spawn(self.search(screen, query), group="page-search")
                case TrashScreen.Opened(screen=screen):
                    self.spawn(self.fill_trash(screen), group="page-trash")
                case TrashScreen.ActionWanted(screen=screen, action=action, page=page):
                    self.spawn(self.trash_action(screen, action, page))
        except CoopeError as exc:
            # A block someone else deleted a moment ago, ...: said, never a traceback.
            self.say(exc.message)

    # --- block edits (no waiting: the replica sends them) -------------------------------------

    def edit_text(self, block_id: str, before: str, change: Splice) -> None:
        """Make the person's `change` of a block's text (which read `before` in the box) in
        the document, moved past what others changed meanwhile, as the CRDT's own edits."""
        view = self.session.screen.page
        try:
            doc = self._editable()
            block = blocks_of(doc).get(block_id) if doc is not None else None
            if doc is None or not isinstance(block, Map):
                return  # deleted meanwhile: the view says so when it draws the page
            text = block.get("text")
            current = str(text) if isinstance(text, Text) else str(text or "")
            changes = rebase(before, change, current)
            if not isinstance(text, Text):  # an old block's plain string: made a Text
                update_block(doc, block_id, text=applied(current, changes))
                return
            with doc.transaction():
                for part in changes:
                    splice_text(text, part)
        finally:
            view.edit_applied()
        self.show()

    def toggle(self, block_id: str) -> None:
        if (doc := self._editable()) is not None:
            block = next((b for b in read_blocks(doc) if b.id == block_id), None)
            if block is not None:
                update_block(doc, block_id, checked=not block.checked)
                self.show()

    def add(self, after: str | None, kind: str) -> str | None:
        """Add a block; returns its id."""
        if (doc := self._editable()) is None:
            return None
        if after is None and read_blocks(doc):
            new = add_block(doc, kind)
            move_block(doc, new, after=None)
        else:
            new = add_block(doc, kind, after=after)
        self.show(select=new)
        return new

    def retype(self, block_id: str, kind: str) -> None:
        if (doc := self._editable()) is not None:
            update_block(doc, block_id, kind=kind)
            self.show()

    def move(self, block_id: str, after: str | None) -> None:
        if (doc := self._editable()) is not None:
            move_block(doc, block_id, after=after)
            self.show(select=block_id)

    def delete(self, block_id: str) -> None:
        if (doc := self._editable()) is not None:
            delete_block(doc, block_id)
            self.show()

    async def edit_in_editor(self) -> None:
        """The page as Markdown in $VISUAL / $EDITOR; what the person changed is merged into
        the live page (others' edits made meanwhile stay, as with `coope doc edit`)."""
        doc, page = self._editable(), self.page
        if doc is None or page is None:
            return
        base: Doc[Any] = Doc()
        base.apply_update(doc.get_update())
        before = to_markdown(read_blocks(base))
        state = base.get_state()
        try:
            with self.suspend():
                # In a thread: the loop keeps the page's connection (and its heartbeat) alive.
                after = await asyncio.to_thread(edited, page.title, page.id, before)
        except SuspendNotSupported:
            raise EditorFailed("this terminal cannot be handed over to an editor") from None
        if after == before:
            self.say("No changes.")
            return
        apply_markdown(base, after)
        if self._editable() is not doc:  # closed, trashed, or we became a viewer meanwhile
            why = self.session.screen.page.read_only or "The page was closed."
            raise InvalidInput(f"Your edits were not saved. {why}")
        doc.apply_update(base.get_update(state))
        self.show()
        self.say(f"{visible(page.title)}: your edits are merged.")

    # --- page actions ------------------------------------------------------------------------

    async def act(self, action: str, page_id: int | None, workspace_id: int) -> None:
        """Ask what is needed, then do `action` (new, rename, move, archive, restore, delete)."""
        if action == "new":
            await self._new(page_id, workspace_id)
            return
        if page_id is None:
            self.say("Pick a page first.")
            return
        page = await self.client.pages.get(page_id)
        if action == "rename":
            title = await self.ask(TextPrompt("Rename the page to", page.title))
            if title:
                await self.client.pages.rename(page_id, title)
                self.say(f"Renamed to {visible(title)}.")
        elif action == "move":
            await self._move(page)
        elif action == "archive":
            await self.client.pages.archive(page_id)
            self.say(f"{visible(page.title)} is in the trash (t shows it).")
        elif action == "restore":
            await self.client.pages.restore(page_id)
            self.say(f"{visible(page.title)} is back.")
        elif action == "delete":
            question = f"Delete {visible(page.title)} and the pages under it for good?"
            if not await self.ask(ConfirmScreen(question)):
                return
            await self.client.pages.delete(page_id)
            self.say(f"{visible(page.title)} is deleted.")
        else:
            raise InvalidInput(f"no page action {action!r}")
        await self.refresh()

    async def _new(self, parent_id: int | None, workspace_id: int) -> None:
        title = await self.ask(TextPrompt("Title of the new page"))
        if not title:
            return
        page = await self.client.pages.create(workspace_id, title, parent_id=parent_id)
        await self.session.load_pages()
        self.session.screen.sidebar.select_page(page.id)
        self.spawn(self.open(page.id), group="page")

    async def _move(self, page: PageOut) -> None:
        pages = await self.client.pages.tree(page.workspace_id)
        workspace = await self.client.workspaces.get(page.workspace_id)
        under = _subtree(pages, page.id)
        choices = [("top", f"Top level of {visible(workspace.name)}")]
        for other, depth in _in_tree_order(pages):
            if other.id not in under:
                choices.append((str(other.id), "  " * (depth + 1) + visible(other.title)))
        current = str(page.parent_id) if page.parent_id is not None else "top"
        chosen = await self.ask(Choice(f"Move {visible(page.title)} under", choices, current))
        if chosen is None or chosen == current:
            return
        await self.client.pages.move(page.id, None if chosen == "top" else int(chosen))
        self.say(f"{visible(page.title)} moved.")

    async def refresh(self) -> None:
        """The tree again, and the open page's title and access (it may have been renamed,
        moved, archived or restored, or our role changed)."""
        await self.session.load_pages()
        await self._check_access()

    async def search(self, screen: SearchScreen, query: str) -> None:
        if not query:
            screen.show_hits(query, [], {})
            return
        hits = await self.client.pages.search(query)
        names = {ws.id: ws.name for ws in await self.client.workspaces.list()}
        screen.show_hits(query, hits, names)

    async def fill_trash(self, screen: TrashScreen) -> None:
        workspaces = await self.client.workspaces.list()
        trees = [(ws, await self.client.pages.trash(ws.id)) for ws in workspaces]
        if screen.is_attached:
            screen.show(trees)

    async def trash_action(self, screen: TrashScreen, action: str, page: PageOut) -> None:
        await self.act(action, page.id, page.workspace_id)
        await self.fill_trash(screen)

    # --- live callbacks (on the connection's task: no waiting here) ---------------------------

    def _pages_event(self, event: PagesArchived | PagesRestored | WorkspaceAccess) -> None:
        self.spawn(self.refresh(), group="page-tree")

    def _state_changed(self, state: ConnectionState) -> None:
        if state == "connected":
            if self._was_connected:  # pages may have come and gone while we were away
                self.spawn(self.refresh(), group="page-tree")
            self._was_connected = True


def _in_tree_order(pages: list[PageOut]) -> list[tuple[PageOut, int]]:
    """Pages with their depth, each parent before its children, siblings by position."""
    children: dict[int | None, list[PageOut]] = {}
    for page in pages:
        children.setdefault(page.parent_id, []).append(page)
    ordered: list[tuple[PageOut, int]] = []

    def walk(parent: int | None, depth: int) -> None:
        for page in sorted(children.get(parent, []), key=lambda p: p.position):
            ordered.append((page, depth))
            walk(page.id, depth + 1)

    walk(None, 0)
    return ordered


def _subtree(pages: list[PageOut], root: int) -> set[int]:
    """`root` and every page under it (none of them can become its parent)."""
    found = {root}
    grew = True
    while grew:
        grew = False
        for page in pages:
            if page.parent_id in found and page.id not in found:
                found.add(page.id)
                grew = True
    return found
