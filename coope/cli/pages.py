"""Naming and showing pages: title paths like `WS/Parent/Child`, and rendering with Rich."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from coope.cli import output
from coope.core.errors import CoopeError, InvalidInput, NotFound

if TYPE_CHECKING:
    from coope.client import CoopeClient
    from coope.core.blocks import BlockView
    from coope.core.workspace_schemas import BlockOut, PageOut, WorkspaceOut

PageArg = Annotated[
    str, typer.Argument(metavar="PAGE", help="A page id, or a title path like WS/Parent/Child.")
]

DEFAULT_ICON = "📄"
BLOCK_TYPES_HELP = (
    "paragraph, heading1, heading2, heading3, todo, bullet, numbered, quote, code or divider."
)


class EditorFailed(CoopeError):
    """The editor could not start or did not exit cleanly: nothing is sent."""

    code = "editor_failed"
    status = 0


# --- naming pages ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PageEntry:
    page: PageOut
    workspace: WorkspaceOut
    titles: tuple[str, ...]  # from the top of the tree down to the page itself

    @property
    def path(self) -> str:
        return "/".join((self.workspace.name, *self.titles))

    def names(self) -> set[str]:
        """Every way to write this page's path: with its workspace (name or id), or without
        the workspace and any number of leading parents."""
        tail = "/".join(self.titles)
        names = {f"{self.workspace.name}/{tail}", f"{self.workspace.id}/{tail}"}
        names.update("/".join(self.titles[k:]) for k in range(len(self.titles)))
        return names


def page_paths(pages: list[PageOut]) -> dict[int, tuple[str, ...]]:
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
    client: CoopeClient, workspaces: list[WorkspaceOut], trash: bool
) -> list[PageEntry]:
    import asyncio

    async def of(ws: WorkspaceOut) -> list[PageEntry]:
        pages = await client.pages.tree(ws.id)
        if trash:
            pages += await client.pages.trash(ws.id)
        paths = page_paths(pages)
        return [PageEntry(p, ws, paths[p.id]) for p in pages]

    found = await asyncio.gather(*(of(ws) for ws in workspaces))
    return [entry for entries in found for entry in entries]


async def resolve_page(
    client: CoopeClient,
    target: str,
    *,
    within: WorkspaceOut | None = None,
    trash: bool = False,
) -> PageOut:
    """The page a person means by an id or a title path.

    Args:
        client: An open client.
        target: `12`, `#12`, `WS/Parent/Child`, `Parent/Child` or `Child`.
        within: Only look among this workspace's pages.
        trash: Also look among pages in the trash (by title: the roots of what was archived).
    """
    target = target.strip()
    by_id: NotFound | None = None
    if target.lstrip("#").isdigit():
        try:
            page = await client.pages.get(int(target.lstrip("#")))
        except NotFound as exc:
            if target.startswith("#"):
                raise
            by_id = exc
        else:
            if within is not None and page.workspace_id != within.id:
                raise InvalidInput(f"page {page.id} is not in workspace {within.name}")
            return page
    wanted = target.strip("/")
    workspaces = [within] if within is not None else await client.workspaces.list()
    entries = await page_entries(client, workspaces, trash)
    folded = wanted.casefold()
    matches = [e for e in entries if folded in {n.casefold() for n in e.names()}]
    if len(matches) > 1:
        exact = [e for e in matches if wanted in e.names()]
        matches = exact if len(exact) == 1 else matches
    if not matches:
        if by_id is not None:
            raise by_id
        where = f" in {within.name}" if within is not None else ""
        raise NotFound(f"no page called {target!r}{where}")
    if len(matches) > 1:
        listed = ", ".join(f"{e.page.id} ({e.path})" for e in matches[:10])
        more = f" and {len(matches) - 10} more" if len(matches) > 10 else ""
        raise InvalidInput(f"{target!r} could be pages {listed}{more}: use the id or a path")
    return matches[0].page


# --- showing pages ---------------------------------------------------------------------------


def page_title(page: PageOut) -> str:
    return f"{page.icon or DEFAULT_ICON} {page.title}"


def block_views(blocks: list[BlockOut]) -> list[BlockView]:
    from coope.core.blocks import BlockView

    return [BlockView(b.id, b.type, b.text, b.checked, "", b.lang) for b in blocks]


def render_page(page: PageOut, blocks: list[BlockView]) -> Any:
    """A Rich renderable: the icon and title, then the content as Markdown (todos as boxes)."""
    from rich.console import Group
    from rich.markdown import Markdown
    from rich.rule import Rule
    from rich.text import Text

    from coope.core.blocks import to_markdown

    head = Text(output.visible(page_title(page)), style="bold")
    if page.archived:
        head.append("  (in the trash)", style="dim")
    parts: list[Any] = [head, Rule(style="dim")]
    run: list[BlockView] = []

    def flush() -> None:
        if run:
            parts.append(Markdown(output.visible(to_markdown(run))))
            run.clear()

    for view in blocks:
        if view.type == "todo":
            flush()
            box = Text("☑ " if view.checked else "☐ ")
            box.append(output.visible(view.text), style="dim strike" if view.checked else "")
            parts.append(box)
        else:
            run.append(view)
    flush()
    if not blocks:
        parts.append(Text("(empty page)", style="dim"))
    return Group(*parts)


def read_markdown_file(path: str) -> str:
    """A text file's content ('-': standard input), or a coope error saying why not."""
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFound(f"no file {path}") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"{path} is not UTF-8 text") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from None


def show_page(page: PageOut, json: bool, what: str) -> None:
    if json:
        output.emit_json(page)
    else:
        output.success(f"{page_title(page)} (page {page.id}) {what}")


# --- the tree --------------------------------------------------------------------------------
