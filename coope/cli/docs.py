"""coope doc ...: pages of a workspace, their tree and their content, from the shell.

A page is named by its id, or by a title path `WS/Parent/Child` (the workspace part and any
leading parents may be left out while that stays unambiguous: a bare title works too).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from coope.cli import doc_cover, doc_live, output, runtime
from coope.cli.args import ExistOkOpt, PageArg, WsArg, YesOpt
from coope.cli.pages import BLOCK_TYPES_HELP, block_views, page_title, render_page, show_page
from coope.core.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from coope.client import CoopeClient
    from coope.core.workspace_schemas import PageOut, WorkspaceOut

app = typer.Typer(help="Pages: the tree, content, covers and trash.", no_args_is_help=True)


async def _parent_id(
    client: CoopeClient, parent: str | None, workspace: WorkspaceOut
) -> int | None:
    """The id of the page `--parent` names in `workspace`, or None without one."""
    return (await client.pages.resolve(parent, within=workspace)).id if parent else None


@app.command()
@runtime.command
async def new(
    client: CoopeClient,
    json: bool,
    ws: WsArg,
    title: Annotated[str, typer.Argument(help="The page's title.")],
    parent: Annotated[
        str | None, typer.Option(metavar="PAGE", help="Put it under this page.")
    ] = None,
    icon: Annotated[str, typer.Option(help="An emoji for the page.")] = "",
    from_file: Annotated[
        str | None,
        typer.Option(
            "--from", metavar="FILE.md", help="Start from this Markdown file ('-': stdin)."
        ),
    ] = None,
    exist_ok: ExistOkOpt = False,
) -> None:
    """Create a page (at the top of the workspace or under another page).

    Titles are unique among the pages under one parent, whatever the case: a taken title is
    refused (exit 6)."""
    markdown = output.read_text(from_file) if from_file is not None else None
    workspace = await client.workspaces.resolve(ws)
    page = await client.pages.create(
        workspace.id,
        title,
        parent_id=await _parent_id(client, parent, workspace),
        icon=icon,
        markdown=markdown,
        exist_ok=exist_ok,
    )
    show_page(page, json, f"{'created' if page.created else 'exists already'} in {workspace.name}")


@app.command("list")
@runtime.command
async def list_(client: CoopeClient, json: bool, ws: WsArg) -> None:
    """The pages of a workspace as a flat table, with their paths (in --json: "path", as
    `Workspace/Parent/Title`, the way pages are named)."""
    workspace = await client.workspaces.resolve(ws)
    entries = await client.pages.entries([workspace])
    by_path = sorted(entries, key=lambda e: [t.casefold() for t in e.titles])
    output.listing(
        json,
        [{**e.page.model_dump(mode="json"), "path": e.path} for e in entries],
        ["id", "icon", "page", "cover", "updated"],
        (
            [
                str(e.page.id),
                e.page.icon,
                " / ".join(e.titles),
                "yes" if e.page.has_cover else "",
                output.local_time(e.page.updated_at),
            ]
            for e in by_path
        ),
        empty=f"no pages in {output.escape(workspace.name)} yet: `coope doc new`",
    )


def _children(pages: list[PageOut]) -> dict[int | None, list[PageOut]]:
    """Pages by parent id, in order; a page whose parent is not live shows at the top."""
    ids = {p.id for p in pages}
    children: dict[int | None, list[PageOut]] = {}
    for page in sorted(pages, key=lambda p: (p.position, p.id)):
        parent = page.parent_id if page.parent_id in ids else None
        children.setdefault(parent, []).append(page)
    return children


def _nested(children: dict[int | None, list[PageOut]], parent: int | None) -> list[Any]:
    return [
        {**p.model_dump(mode="json"), "children": _nested(children, p.id)}
        for p in children.get(parent, [])
    ]


@app.command()
@runtime.command
async def tree(client: CoopeClient, json: bool, ws: WsArg) -> None:
    """The page tree of a workspace, with icons."""
    workspace = await client.workspaces.resolve(ws)
    pages = await client.pages.tree(workspace.id)
    children = _children(pages)
    if json:
        output.emit_json({"workspace": workspace, "pages": _nested(children, None)})
        return
    from rich.tree import Tree

    root = Tree(f"[bold]{output.escape(workspace.name)}[/bold] [dim]({len(pages)} pages)[/dim]")

    def grow(node: Tree, parent: int | None) -> None:
        for page in children.get(parent, []):
            label = f"{output.escape(page_title(page))} [dim]#{page.id}[/dim]"
            grow(node.add(label), page.id)

    grow(root, None)
    output.print_renderable(root)


@app.command()
@runtime.command
async def rename(
    client: CoopeClient,
    json: bool,
    page: PageArg,
    title: Annotated[str, typer.Argument(help="The new title.")],
) -> None:
    """Rename a page."""
    target = await client.pages.resolve(page)
    show_page(await client.pages.rename(target.id, title), json, "renamed")


@app.command()
@runtime.command
async def move(
    client: CoopeClient,
    json: bool,
    page: PageArg,
    parent: Annotated[
        str | None, typer.Option(metavar="PAGE", help="Move it under this page.")
    ] = None,
    top: Annotated[bool, typer.Option("--top", help="Move it to the top level.")] = False,
    after: Annotated[
        str | None, typer.Option(metavar="PAGE", help="Place it right after this sibling.")
    ] = None,
) -> None:
    """Move a page under another page, to the top level, or next to a sibling.

    --after alone moves the page into that sibling's parent, right after it."""
    if parent is not None and top:
        raise typer.BadParameter("--parent and --top exclude each other", param_hint="--top")
    if parent is None and not top and after is None:
        raise typer.BadParameter("say where: --parent PAGE, --top or --after PAGE")
    target = await client.pages.resolve(page)
    workspace = await client.workspaces.get(target.workspace_id)
    new_parent_id = await _parent_id(client, parent, workspace)
    sibling = await client.pages.resolve(after, within=workspace) if after else None
    if new_parent_id is not None:
        parent_id: int | None = new_parent_id
    elif top or sibling is None:
        parent_id = None
    else:
        parent_id = sibling.parent_id
    moved = await client.pages.move(
        target.id, parent_id, after=sibling.id if sibling is not None else None
    )
    where = "to the top level" if moved.parent_id is None else f"under page {moved.parent_id}"
    show_page(moved, json, f"moved {where}")


@app.command()
@runtime.command
async def icon(
    client: CoopeClient,
    json: bool,
    page: PageArg,
    emoji: Annotated[str, typer.Argument(metavar="EMOJI", help="An emoji; '' clears it.")],
) -> None:
    """Set or clear a page's icon."""
    target = await client.pages.resolve(page)
    updated = await client.pages.set_icon(target.id, emoji)
    show_page(updated, json, "icon set" if updated.icon else "icon cleared")


def _done_with_subpages(json: bool, target: PageOut, key: str, ids: list[int], what: str) -> None:
    """What archiving or deleting a page did: `{"page_id", key: ids}`, or one line for people."""
    others = f" and {len(ids) - 1} sub-pages" if len(ids) > 1 else ""
    output.done(json, {"page_id": target.id, key: ids}, f"{page_title(target)}{others} {what}")


@app.command()
@runtime.command
async def archive(client: CoopeClient, json: bool, page: PageArg) -> None:
    """Move a page and its sub-pages to the trash."""
    target = await client.pages.resolve(page)
    ids = await client.pages.archive(target.id)
    _done_with_subpages(json, target, "archived", ids, "moved to the trash")


@app.command()
@runtime.command
async def restore(client: CoopeClient, json: bool, page: PageArg) -> None:
    """Bring a page (and what was archived with it) back from the trash.

    It returns under its parent; if the parent is in the trash itself, it returns at the top
    of the workspace, and says so. If a page where it returns has taken its title meanwhile,
    it comes back as "Title (2)". A page archived along with a page above it comes back with
    that page: restore that one."""
    target = await client.pages.resolve(page, trash=True)
    parent = None
    if target.parent_id is not None:
        # A parent gone meanwhile changes nothing here: the restore says where the page went.
        with contextlib.suppress(NotFound):
            parent = await client.pages.get(target.parent_id)
    try:
        restored = await client.pages.restore(target.id)
    except InvalidInput:
        root = await _archived_with(client, target)
        if root is None:
            raise
        raise InvalidInput(
            f"{target.title!r} went to the trash with {root.title!r} (page {root.id}):"
            f" restore that page, which brings this one back"
        ) from None
    what = ["restored"]
    if restored.title != target.title:
        what.append(f"as {restored.title!r} ({target.title!r} is taken there)")
    # The daemon puts a page whose parent is in the trash at the top of the workspace.
    parent_in_trash = parent if parent is not None and restored.parent_id is None else None
    if parent_in_trash is not None:
        what.append(
            f"at the top of the workspace: its parent {parent_in_trash.title!r}"
            f" (page {parent_in_trash.id}) is in the trash"
        )
    if json:
        in_trash = parent_in_trash.id if parent_in_trash is not None else None
        output.emit_json({**restored.model_dump(mode="json"), "parent_in_trash": in_trash})
    else:
        output.success(f"{page_title(restored)} (page {restored.id}) {' '.join(what)}")


async def _archived_with(client: CoopeClient, page: PageOut) -> PageOut | None:
    """The page in the trash that `page` was archived along with (a page above it), if any."""
    roots = {p.id for p in await client.pages.trash(page.workspace_id)}
    if page.id in roots or not page.archived:
        return None
    current = page
    while current.parent_id is not None:
        current = await client.pages.get(current.parent_id)
        if current.id in roots:
            return current
    return None


@app.command()
@runtime.command
async def trash(client: CoopeClient, json: bool, ws: WsArg) -> None:
    """The pages in a workspace's trash (each with what was archived along with it)."""
    workspace = await client.workspaces.resolve(ws)
    pages = await client.pages.trash(workspace.id)
    output.listing(
        json,
        pages,
        ["id", "page", "archived"],
        ([str(p.id), page_title(p), output.local_time(p.updated_at)] for p in pages),
        empty=f"the trash of {output.escape(workspace.name)} is empty",
    )


@app.command()
@runtime.command
async def rm(client: CoopeClient, json: bool, page: PageArg, yes: YesOpt = False) -> None:
    """Delete a page in the trash for good, with its sub-pages."""
    target = await client.pages.resolve(page, trash=True)
    if not target.archived:
        raise InvalidInput(f"{target.title} is not in the trash: `coope doc archive` it first")
    output.confirm_or_refuse(yes, f"Delete {target.title!r} and its sub-pages for good?")
    ids = await client.pages.delete(target.id)
    _done_with_subpages(json, target, "deleted", ids, "deleted for good")


@app.command()
@runtime.command
async def search(
    client: CoopeClient,
    json: bool,
    query: Annotated[str, typer.Argument(help="Words to find in titles and text.")],
    ws: Annotated[
        str | None, typer.Option("--ws", metavar="WS", help="Only this workspace.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=100)] = 20,
) -> None:
    """Search the pages you may read."""
    workspace_id = (await client.workspaces.resolve(ws)).id if ws else None
    hits = await client.pages.search(query, workspace_id=workspace_id, limit=limit)
    if json:
        output.emit_json(hits)
    elif not hits:
        output.info("nothing found")
    else:
        for hit in hits:
            output.info(
                f"[bold]{output.escape(page_title(hit.page))}[/bold] [dim]#{hit.page.id}[/dim]"
                f"  {output.escape(' '.join(hit.snippet.split()))}"
            )


# --- content ---------------------------------------------------------------------------------


@app.command()
@runtime.command
async def show(
    client: CoopeClient,
    json: bool,
    page: PageArg,
    format: Annotated[
        Literal["rich", "md", "json"], typer.Option("--format", "-f", help="How to print it.")
    ] = "rich",
) -> None:
    """Print a page: rendered (rich), as Markdown (md) or as blocks (json)."""
    target = await client.pages.resolve(page)
    content = await client.pages.content(target.id)
    if json or format == "json":
        output.emit_json(content)
    elif format == "md":
        output.write_data(content.markdown)
    else:
        output.print_renderable(render_page(content.page, block_views(content.blocks)))


@app.command()
@runtime.command
async def append(
    client: CoopeClient,
    json: bool,
    page: PageArg,
    text: Annotated[
        str | None, typer.Argument(help="The block's text; '-' or nothing reads stdin.")
    ] = None,
    kind: Annotated[
        str,
        typer.Option("--type", "-t", metavar="TYPE", help=f"The block type: {BLOCK_TYPES_HELP}"),
    ] = "paragraph",
    checked: Annotated[bool, typer.Option("--checked", help="A todo that is done.")] = False,
) -> None:
    """Add a block at the end of a page."""
    if checked and kind != "todo":
        raise InvalidInput("--checked only applies to --type todo")
    block_text = output.text_or_stdin(text)
    target = await client.pages.resolve(page)
    block_id = await client.pages.append(target.id, block_text, kind=kind, checked=checked)
    output.done(
        json,
        {"page_id": target.id, "block_id": block_id},
        f"{kind} added to {page_title(target)}",
    )


@app.command()
@runtime.command
async def export(
    client: CoopeClient,
    json: bool,
    page: PageArg,
    out: Annotated[
        Path | None, typer.Option("--output", "-o", metavar="FILE", help="Write it here.")
    ] = None,
) -> None:
    """A page's content as Markdown, on standard output or into a file."""
    target = await client.pages.resolve(page)
    content = await client.pages.content(target.id)
    if out is None:
        if json:
            output.emit_json({"page_id": target.id, "markdown": content.markdown})
        else:
            output.write_data(content.markdown)
        return
    try:
        out.write_text(content.markdown, encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot write {out}: {exc.strerror or exc}") from None
    output.done(
        json, {"page_id": target.id, "file": str(out)}, f"{page_title(target)} written to {out}"
    )


@app.command("import")
@runtime.command
async def import_(
    client: CoopeClient,
    json: bool,
    args: Annotated[
        list[str],
        typer.Argument(
            metavar="[WS] FILE", help="WS FILE: a new page; with --into PAGE: only FILE."
        ),
    ],
    into: Annotated[
        str | None, typer.Option(metavar="PAGE", help="Append to this page instead.")
    ] = None,
    title: Annotated[
        str | None, typer.Option(help="The new page's title (default: the file name).")
    ] = None,
    parent: Annotated[
        str | None, typer.Option(metavar="PAGE", help="Put the new page under this one.")
    ] = None,
) -> None:
    """Make a new page from a Markdown file, or append one to a page.

    `coope doc import WS FILE` makes a new page; `coope doc import --into PAGE FILE` appends the
    file's blocks to PAGE. FILE '-' reads standard input."""
    if into is not None:
        if len(args) != 1:
            raise typer.BadParameter("with --into, give only the FILE")
        if title is not None or parent is not None:
            raise typer.BadParameter("--title and --parent are for a new page, not --into")
    elif len(args) != 2:
        raise typer.BadParameter("give the workspace and the FILE (or --into PAGE FILE)")
    file = args[-1]
    markdown = output.read_text(file)
    if into is not None:
        target = await client.pages.resolve(into)
        await client.pages.import_markdown(target.id, markdown)
        output.done(
            json,
            {"page_id": target.id, "imported": True},
            f"{file} appended to {page_title(target)}",
        )
        return
    workspace = await client.workspaces.resolve(args[0])
    page = await client.pages.create(
        workspace.id,
        title or (Path(file).stem if file != "-" else "Imported"),
        parent_id=await _parent_id(client, parent, workspace),
        markdown=markdown,
    )
    show_page(page, json, f"imported into {workspace.name}")


# Live editing lives in doc_live; registered here so `coope doc --help` lists every command.
app.command()(doc_live.edit)
app.command()(doc_live.watch)
app.add_typer(doc_cover.app, name="cover")
