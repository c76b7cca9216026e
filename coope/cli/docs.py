"""coope doc ...: pages of a workspace, their tree and their content, from the shell.

A page is named by its id, or by a title path `WS/Parent/Child` (the workspace part and any
leading parents may be left out while that stays unambiguous: a bare title works too).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from coope.cli import doc_live, output, runtime
from coope.cli.pages import (
    BLOCK_TYPES_HELP,
    PageArg,
    block_views,
    page_paths,
    page_title,
    read_markdown_file,
    render_page,
    resolve_page,
    show_page,
)
from coope.cli.runtime import JsonOpt, ServerOpt, TokenOpt
from coope.cli.workspaces import confirm_or_refuse, resolve_workspace, when
from coope.core.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from coope.core.workspace_schemas import PageOut

app = typer.Typer(help="Pages: the tree, content, covers and trash.", no_args_is_help=True)

WsArg = Annotated[str, typer.Argument(metavar="WS", help="A workspace id or name.")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


@app.command()
def new(
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
    server: ServerOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:
    """Create a page (at the top of the workspace or under another page)."""

    async def body() -> None:
        markdown = read_markdown_file(from_file) if from_file is not None else None
        async with runtime.client(server, token) as c:
            workspace = await resolve_workspace(c, ws)
            parent_id = (await resolve_page(c, parent, within=workspace)).id if parent else None
            page = await c.pages.create(
                workspace.id, title, parent_id=parent_id, icon=icon, markdown=markdown
            )
        show_page(page, json, f"created in {workspace.name}")

    runtime.run(body)


@app.command("list")
def list_(
    ws: WsArg, server: ServerOpt = None, token: TokenOpt = None, json: JsonOpt = False
) -> None:
    """The pages of a workspace as a flat table, with their paths."""

    async def body() -> None:
        async with runtime.client(server, token) as c:
            workspace = await resolve_workspace(c, ws)
            pages = await c.pages.tree(workspace.id)
        if json:
            output.emit_json(pages)
            return
        if not pages:
            output.info(f"no pages in {output.escape(workspace.name)} yet: `coope doc new`")
            return
        paths = page_paths(pages)
        rows = [
            [
                str(p.id),
                p.icon,
                " / ".join(paths[p.id]),
                "yes" if p.has_cover else "",
                when(p.updated_at),
            ]
            for p in sorted(pages, key=lambda p: [t.casefold() for t in paths[p.id]])
        ]
        output.table(["id", "icon", "page", "cover", "updated"], rows)

    runtime.run(body)


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
def tree(
    ws: WsArg, server: ServerOpt = None, token: TokenOpt = None, json: JsonOpt = False
) -> None:
    """The page tree of a workspace, with icons."""

    async def body() -> None:
        async with runtime.client(server, token) as c:
            workspace = await resolve_workspace(c, ws)
            pages = await c.pages.tree(workspace.id)
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

    runtime.run(body)


@app.command()
def rename(
    page: PageArg,
    title: Annotated[str, typer.Argument(help="The new title.")],
    server: ServerOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:
    """Rename a page."""

    async def body() -> None:
        async with runtime.client(server, token) as c:
            target = await resolve_page(c, page)
            renamed = await c.pages.rename(target.id, title)
        show_page(renamed, json, "renamed")

    runtime.run(body)


@app.command()
def move(
    page: PageArg,
    parent: Annotated[
        str | None, typer.Option(metavar="PAGE", help="Move it under this page.")
    ] = None,
    top: Annotated[bool, typer.Option("--top", help="Move it to the top level.")] = False,
    after: Annotated[
        str | None, typer.Option(metavar="PAGE", help="Place it right after this sibling.")
    ] = None,
    server: ServerOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:
    """Move a page under another page, to the top level, or next to a sibling.

    --after alone moves the page into that sibling's parent, right after it."""
    if parent is not None and top:
        raise typer.BadParameter("--parent and --top exclude each other", param_hint="--top")
    if parent is None and not top and after is None:
        raise typer.BadParameter("say where: --parent PAGE, --top or --after PAGE")

    async def body() -> None:
        async with runtime.client(server, token) as c:
            target = await resolve_page(c, page)
            workspace = await c.workspaces.get(target.workspace_id)
            new_parent = await resolve_page(c, parent, within=workspace) if parent else None
            sibling = await resolve_page(c, after, within=workspace) if after else None
            if new_parent is not None:
                parent_id: int | None = new_parent.id
            elif top or sibling is None:
                parent_id = None
            else:
                parent_id = sibling.parent_id
            moved = await c.pages.move(
                target.id, parent_id, after=sibling.id if sibling is not None else None
            )
        where = "to the top level" if moved.parent_id is None else f"under page {moved.parent_id}"
        show_page(moved, json, f"moved {where}")

    runtime.run(body)


@app.command()
def icon(
    page: PageArg,
    emoji: Annotated[str, typer.Argument(metavar="EMOJI", help="An emoji; '' clears it.")],
    server: ServerOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:
    """Set or clear a page's icon."""

    async def body() -> None:
        async with runtime.client(server, token) as c:
            target = await resolve_page(c, page)
            updated = await c.pages.set_icon(target.id, emoji)
        show_page(updated, json, "icon set" if updated.icon else "icon cleared")

    runtime.run(body)


@app.command()
def cover(
    page: PageArg,
    file: Annotated[
        Path | None,
        typer.Argument(metavar="FILE", help="A PNG, JPEG, GIF or WebP image (at most 5 MB)."),
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove the cover.")] = False,
    server: ServerOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:
    """Set a page's cover image, or remove it with --clear."""
    if (file is None) == (not clear):
        raise typer.BadParameter("give an image FILE or --clear (one of them)")

    async def body() -> None:
        image = b""
        if file is not None:
            try:
                image = file.read_bytes()
            except FileNotFoundError:
                raise NotFound(f"no file {file}") from None
            except OSError as exc:
                raise InvalidInput(f"cannot read {file}: {exc.strerror or exc}") from None
        async with runtime.client(server, token) as c:
            target = await resolve_page(c, page)
            if clear:
                updated = await c.pages.clear_cover(target.id)
            else:
                updated = await c.pages.set_cover(target.id, image)
        show_page(updated, json, "cover removed" if clear else "cover set")

    runtime.run(body)


@app.command()
def archive(
    page: PageArg, server: ServerOpt = None, token: TokenOpt = None, json: JsonOpt = False
) -> None:
    """Move a page and its sub-pages to the trash."""

    async def body() -> None:
        async with runtime.client(server, token) as c:
            target = await resolve_page(c, page)
            ids = await c.pages.archive(target.id)
        if json:
            output.emit_json({"page_id": target.id, "archived": ids})
        else:
            others = f" and {len(ids) - 1} sub-pages" if len(ids) > 1 else ""
            output.success(f"{page_title(target)}{others} moved to the trash")

    runtime.run(body)


@app.command()
def restore(
    page: PageArg, server: ServerOpt = None, token: TokenOpt = None, json: JsonOpt = False
) -> None:
    """Bring a page (and what was archived with it) back from the trash."""

    async def body() -> None:
        async with runtime.client(server, token) as c:
            target = await resolve_page(c, page, trash=True)
            restored = await c.pages.restore(target.id)
        show_page(restored, json, "restored")

    runtime.run(body)


@app.command()
def trash(
    ws: WsArg, server: ServerOpt = None, token: TokenOpt = None, json: JsonOpt = False
) -> None:
    """The pages in a workspace's trash (each with what was archived along with it)."""

    async def body() -> None:
        async with runtime.client(server, token) as c:
            workspace = await resolve_workspace(c, ws)
            pages = await c.pages.trash(workspace.id)
        if json:
            output.emit_json(pages)
        elif not pages:
            output.info(f"the trash of {output.escape(workspace.name)} is empty")
        else:
            output.table(
                ["id", "page", "archived"],
                [[str(p.id), page_title(p), when(p.updated_at)] for p in pages],
            )

    runtime.run(body)


@app.command()
def rm(
    page: PageArg,
    yes: YesOpt = False,
    server: ServerOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:
    """Delete a page in the trash for good, with its sub-pages."""

    async def body() -> None:
        async with runtime.client(server, token) as c:
            target = await resolve_page(c, page, trash=True)
            if not target.archived:
                raise InvalidInput(
                    f"{target.title} is not in the trash: `coope doc archive` it first"
                )
            confirm_or_refuse(yes, f"Delete {target.title!r} and its sub-pages for good?")
            ids = await c.pages.delete(target.id)
        if json:
            output.emit_json({"page_id": target.id, "deleted": ids})
        else:
            others = f" and {len(ids) - 1} sub-pages" if len(ids) > 1 else ""
            output.success(f"{page_title(target)}{others} deleted for good")

    runtime.run(body)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="Words to find in titles and text.")],
    ws: Annotated[
        str | None, typer.Option("--ws", metavar="WS", help="Only this workspace.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=100)] = 20,
    server: ServerOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:
    """Search the pages you may read."""

    async def body() -> None:
        async with runtime.client(server, token) as c:
            workspace_id = (await resolve_workspace(c, ws)).id if ws else None
            hits = await c.pages.search(query, workspace_id=workspace_id, limit=limit)
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

    runtime.run(body)


# --- content ---------------------------------------------------------------------------------


@app.command()
def show(
    page: PageArg,
    format: Annotated[
        Literal["rich", "md", "json"], typer.Option("--format", "-f", help="How to print it.")
    ] = "rich",
    server: ServerOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:
    """Print a page: rendered (rich), as Markdown (md) or as blocks (json)."""

    async def body() -> None:
        async with runtime.client(server, token) as c:
            target = await resolve_page(c, page)
            content = await c.pages.content(target.id)
        if json or format == "json":
            output.emit_json(content)
        elif format == "md":
            output.write_data(content.markdown)
        else:
            output.print_renderable(render_page(content.page, block_views(content.blocks)))

    runtime.run(body)


@app.command()
def append(
    page: PageArg,
    text: Annotated[
        str | None, typer.Argument(help="The block's text; '-' or nothing reads stdin.")
    ] = None,
    kind: Annotated[
        str,
        typer.Option("--type", "-t", metavar="TYPE", help=f"The block type: {BLOCK_TYPES_HELP}"),
    ] = "paragraph",
    checked: Annotated[bool, typer.Option("--checked", help="A todo that is done.")] = False,
    server: ServerOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:
    """Add a block at the end of a page."""

    async def body() -> None:
        if checked and kind != "todo":
            raise InvalidInput("--checked only applies to --type todo")
        block_text = sys.stdin.read().rstrip("\n") if text is None or text == "-" else text
        async with runtime.client(server, token) as c:
            target = await resolve_page(c, page)
            block_id = await c.pages.append(target.id, block_text, kind=kind, checked=checked)
        if json:
            output.emit_json({"page_id": target.id, "block_id": block_id})
        else:
            output.success(f"{kind} added to {page_title(target)}")

    runtime.run(body)


@app.command()
def export(
    page: PageArg,
    out: Annotated[
        Path | None, typer.Option("--output", "-o", metavar="FILE", help="Write it here.")
    ] = None,
    server: ServerOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:
    """A page's content as Markdown, on standard output or into a file."""

    async def body() -> None:
        async with runtime.client(server, token) as c:
            target = await resolve_page(c, page)
            content = await c.pages.content(target.id)
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
        if json:
            output.emit_json({"page_id": target.id, "file": str(out)})
        else:
            output.success(f"{page_title(target)} written to {out}")

    runtime.run(body)


@app.command("import")
def import_(
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
    server: ServerOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
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

    async def body() -> None:
        file = args[-1]
        markdown = read_markdown_file(file)
        async with runtime.client(server, token) as c:
            if into is not None:
                target = await resolve_page(c, into)
                await c.pages.import_markdown(target.id, markdown)
                if json:
                    output.emit_json({"page_id": target.id, "imported": True})
                else:
                    output.success(f"{file} appended to {page_title(target)}")
                return
            workspace = await resolve_workspace(c, args[0])
            parent_id = (await resolve_page(c, parent, within=workspace)).id if parent else None
            name = title or (Path(file).stem if file != "-" else "Imported")
            page = await c.pages.create(workspace.id, name, parent_id=parent_id, markdown=markdown)
        show_page(page, json, f"imported into {workspace.name}")

    runtime.run(body)


# Live editing lives in doc_live; registered here so `coope doc --help` lists every command.
app.command()(doc_live.edit)
app.command()(doc_live.watch)
