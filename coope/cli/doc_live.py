"""coope doc edit and coope doc watch: a page's content, changed and followed live."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from coope.cli import output, runtime
from coope.cli.args import PageArg
from coope.cli.pages import page_title, render_page
from coope.core.errors import DaemonUnreachable, Forbidden, InvalidInput, NotFound

if TYPE_CHECKING:
    from pycrdt import Doc

    from coope.client import CoopeClient
    from coope.core.blocks import BlockView


# Each block by id: its type, text, checked state and position.
Snapshot = dict[str, tuple[str, str, bool, str]]


def _snapshot(doc: Doc[Any]) -> Snapshot:
    from coope.core.blocks import read_blocks

    return {v.id: (v.type, v.text, v.checked, v.pos) for v in read_blocks(doc)}


@runtime.command
async def edit(client: CoopeClient, json: bool, page: PageArg) -> None:
    """Edit a page's Markdown in $VISUAL / $EDITOR (default vi).

    Your changes are merged with what others write meanwhile: only the blocks you changed are
    touched, and within a block only the text you changed."""
    import asyncio

    from pycrdt import Doc

    from coope.client.editor import edited
    from coope.core.blocks import apply_markdown, read_blocks, to_markdown

    target = await client.pages.resolve(page)
    if target.archived:
        raise InvalidInput("this page is in the trash: restore it first")
    if not (await client.workspaces.get(target.workspace_id)).role.can_edit:
        raise Forbidden("viewers can read this workspace but not change it")
    base: Doc[Any] = Doc()
    base.apply_update(await client.pages.state(target.id))
    before = to_markdown(read_blocks(base))
    # Off the event loop: the client stays open while a person edits, and a loop blocked for
    # that long would try to send the result on a connection the daemon has since closed.
    after = await asyncio.to_thread(edited, target.title, target.id, before)
    old = _snapshot(base)
    state = base.get_state()
    if after != before:
        apply_markdown(base, after)
    new = _snapshot(base)
    if old == new:
        if json:
            output.emit_json({"page_id": target.id, "changed": False, "seq": None})
        else:
            output.info("no changes")
        return
    seq = await client.pages.apply_update(target.id, base.get_update(state))
    output.done(
        json,
        {"page_id": target.id, "changed": True, "seq": seq},
        f"{page_title(target)} saved: blocks {_counts(old, new)}",
    )


def _counts(old: Snapshot, new: Snapshot) -> str:
    """What an edit did to the blocks: `1 added, 2 changed, 0 removed[, 1 moved]`."""
    added = len(new.keys() - old.keys())
    removed = len(old.keys() - new.keys())
    both = new.keys() & old.keys()
    changed = sum(1 for k in both if new[k][:3] != old[k][:3])
    moved = sum(1 for k in both if new[k] != old[k] and new[k][:3] == old[k][:3])
    counts = f"{added} added, {changed} changed, {removed} removed"
    return counts + (f", {moved} moved" if moved else "")


def _watch_line(page_id: int, blocks: list[BlockView], markdown: str) -> str:
    import json as json_module

    return json_module.dumps(
        {
            "page_id": page_id,
            "markdown": markdown,
            "blocks": [
                {"id": v.id, "type": v.type, "text": v.text, "checked": v.checked} for v in blocks
            ],
        }
    )


def _print_diff(before: str, after: str) -> None:
    import difflib
    from datetime import datetime

    output.info(f"[dim]── changed at {datetime.now().strftime('%H:%M:%S')} ──[/dim]")
    lines = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=1)
    for line in list(lines)[2:]:
        style = {"+": "green", "-": "red", "@": "dim"}.get(line[:1])
        text = output.escape(line)
        output.info(f"[{style}]{text}[/{style}]" if style else text)


@runtime.command
async def watch(client: CoopeClient, json: bool, page: PageArg) -> None:
    """Print a page, then what changes in it as others edit, until Ctrl-C.

    With --json, prints one JSON object per line: the whole page, then again after each change."""
    from coope.core.blocks import read_blocks, to_markdown

    target = await client.pages.resolve(page)
    async with client.replica(target.id) as replica:
        blocks = read_blocks(replica.doc)
        shown = to_markdown(blocks)
        if json:
            _emit_line(_watch_line(target.id, blocks, shown))
        else:
            output.print_renderable(render_page(target, blocks))
        async for _ in replica.changes():
            blocks = read_blocks(replica.doc)
            markdown = to_markdown(blocks)
            if markdown == shown:
                continue
            if json:
                _emit_line(_watch_line(target.id, blocks, markdown))
            else:
                _print_diff(shown, markdown)
            shown = markdown
        code = replica.close_code
    if code == 4404:
        raise NotFound("the page was deleted")
    if code == 4403:
        raise Forbidden("you can no longer read this page")
    raise DaemonUnreachable(f"the live connection to the page closed (code {code})")


def _emit_line(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
