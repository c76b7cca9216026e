"""The names people give workspaces and pages, resolved to the rows they mean.

A workspace is named by its id (`3`, `#3`) or by its name (among yours; names are compared as
`coope.core.names` says: without case, after Unicode normalisation, the way the daemon keeps them
unique).
A page is named by its id, or by a title path `WS/Parent/Child` in which the workspace (its name
or id) and any leading parents may be left out while that stays unambiguous: `Parent/Child`,
or a bare title. A bare number is an id first and a name second (a page may be called `2024`);
`#3` is only ever an id.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from coope.core.errors import CoopeError, InvalidInput, NotFound
from coope.core.models import RoomKind
from coope.core.names import id_digits, name_key
from coope.core.rules import INT64_MAX

if TYPE_CHECKING:
    from coope.client.docs import PagesApi, WorkspacesApi
    from coope.core.social_schemas import RoomOut
    from coope.core.workspace_schemas import PageOut, WorkspaceOut

T = TypeVar("T")

# How many candidates an "ambiguous name" error lists before it only counts the rest.
LISTED_CANDIDATES = 10


@dataclass(frozen=True)
class IdName:
    """A name as an id: `12` or `#12`."""

    digits: str
    only_id: bool  # written `#12`: never a title
    value: int | None  # None: no stored row can have it (0, or past 64 bits)

    @staticmethod
    def of(target: str) -> IdName | None:
        """`target` read as an id, or None when it is not written as one."""
        # The daemon refuses workspace and room names that read so (`coope.core.names`).
        digits = id_digits(target)
        if digits is None:
            return None
        # Length first: `int` refuses more than 4,300 digits, and 20 are already past 64 bits.
        value = int(digits) if len(digits) <= 19 else None
        valid = value is not None and 1 <= value <= INT64_MAX
        return IdName(digits, target.startswith("#"), value if valid else None)


async def _fetch(get: Callable[[int], Awaitable[T]], as_id: IdName, what: str) -> T:
    """The row `as_id` names, or the daemon's own "no such" error; an id no row can have is not
    sent (the daemon would refuse it as malformed, not say it is missing)."""
    if as_id.value is None:
        raise NotFound(f"no {what} {as_id.digits}")
    return await get(as_id.value)


@dataclass(frozen=True)
class PageEntry:
    """A page with its workspace and the titles on the way down to it."""

    page: PageOut
    workspace: WorkspaceOut
    titles: tuple[str, ...]  # from the top of the tree down to the page itself

    @property
    def path(self) -> str:
        """`WS/Parent/Child`."""
        return "/".join((self.workspace.name, *self.titles))

    def names(self) -> set[str]:
        """Every way to write this page's path: with its workspace (name or id), or without
        the workspace and any number of leading parents."""
        tail = "/".join(self.titles)
        names = {f"{self.workspace.name}/{tail}", f"{self.workspace.id}/{tail}"}
        names.update("/".join(self.titles[k:]) for k in range(len(self.titles)))
        return names


def page_paths(pages: Sequence[PageOut]) -> dict[int, tuple[str, ...]]:
    """Each page's titles from the top of the tree, following parents that are in `pages`."""
    by_id = {p.id: p for p in pages}
    paths: dict[int, tuple[str, ...]] = {}
    for page in pages:
        titles = [page.title]
        seen = {page.id}
        parent = by_id.get(page.parent_id) if page.parent_id is not None else None
        while parent is not None and parent.id not in seen:
            titles.append(parent.title)
            seen.add(parent.id)
            parent = by_id.get(parent.parent_id) if parent.parent_id is not None else None
        paths[page.id] = tuple(reversed(titles))
    return paths


async def page_entries(
    pages: PagesApi, workspaces: Sequence[WorkspaceOut], *, trash: bool = False
) -> list[PageEntry]:
    """The pages of `workspaces` with their paths, each workspace's in tree order; with `trash`,
    the roots of what is in the trash follow the live pages."""

    async def of(ws: WorkspaceOut) -> list[PageEntry]:
        found = await pages.tree(ws.id)
        if trash:
            found += await pages.trash(ws.id)
        paths = page_paths(found)
        return [PageEntry(p, ws, paths[p.id]) for p in found]

    each = await asyncio.gather(*(of(ws) for ws in workspaces))
    return [entry for entries in each for entry in entries]


async def resolve_workspace(workspaces: WorkspacesApi, target: str) -> WorkspaceOut:
    """The workspace a person means by an id or a name (case-insensitive, among theirs)."""
    target = target.strip()
    as_id = IdName.of(target)
    if as_id is not None:
        try:
            return await _fetch(workspaces.get, as_id, "workspace")
        except NotFound:
            if as_id.only_id:
                raise
    wanted = name_key(target)
    matches = [w for w in await workspaces.list() if name_key(w.name) == wanted]
    if not matches:
        if as_id is not None:
            raise NotFound(f"no workspace {target}")
        raise NotFound(f"you are in no workspace called {target!r}")
    if len(matches) > 1:
        ids = ", ".join(str(w.id) for w in matches)
        raise InvalidInput(f"{target!r} could be workspaces {ids}: use the id")
    return matches[0]


async def resolve_page(
    pages: PagesApi,
    workspaces: WorkspacesApi,
    target: str,
    *,
    within: WorkspaceOut | None = None,
    trash: bool = False,
) -> PageOut:
    """The page a person means by an id or a title path (see the module's docstring).

    `within` limits the search to one workspace's pages; `trash` adds the pages in the trash
    (by title: the roots of what was archived). Several matches that differ only in case are
    settled by the one written exactly so; otherwise the error lists them.
    """
    target = target.strip()
    by_id: CoopeError | None = None  # why the target is not a page id, if it could be one
    as_id = IdName.of(target)
    if as_id is not None:
        try:
            page = await _fetch(pages.get, as_id, "page")
        except NotFound as exc:
            if as_id.only_id:
                raise
            by_id = exc
        else:
            if within is None or page.workspace_id == within.id:
                return page
            elsewhere = InvalidInput(f"page {page.id} is not in workspace {within.name}")
            if as_id.only_id:
                raise elsewhere
            by_id = elsewhere  # a title made of digits in `within` still comes first
    wanted = target.strip("/")
    among = [within] if within is not None else await workspaces.list()
    entries = await page_entries(pages, among, trash=trash)
    folded = name_key(wanted)
    matches = [e for e in entries if folded in {name_key(n) for n in e.names()}]
    if len(matches) > 1:
        exact = [e for e in matches if wanted in e.names()]
        matches = exact if len(exact) == 1 else matches
    if not matches:
        if by_id is not None:
            raise by_id
        where = f" in {within.name}" if within is not None else ""
        raise NotFound(f"no page called {target!r}{where}")
    if len(matches) > 1:
        listed = ", ".join(f"{e.page.id} ({e.path})" for e in matches[:LISTED_CANDIDATES])
        rest = len(matches) - LISTED_CANDIDATES
        more = f" and {rest} more" if rest > 0 else ""
        raise InvalidInput(f"{target!r} could be pages {listed}{more}: use the id or a path")
    return matches[0].page


def room_label(room: RoomOut) -> str:
    """How people name the room: `@alice` for a direct room, `#team` for a group room."""
    return f"@{room.name}" if room.kind is RoomKind.DM else f"#{room.name}"
