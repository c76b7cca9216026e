"""coope doc edit and coope doc watch: a page's content, changed and followed live."""

from __future__ import annotations

import asyncio
import contextlib
import json as json_module
import sys
from collections.abc import AsyncGenerator, AsyncIterator
from typing import TYPE_CHECKING, Any, cast

from coope.cli import output, runtime
from coope.cli.args import PageArg
from coope.cli.pages import page_title, render_page
from coope.core.errors import DaemonUnreachable, Forbidden, InvalidInput, NotFound

if TYPE_CHECKING:
    from pycrdt import Doc

    from coope.client import CoopeClient
    from coope.client.replica import PageReplica
    from coope.core.blocks import BlockView
    from coope.core.events import Event, PagesArchived, PagesRestored
    from coope.core.workspace_schemas import PageOut


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
            output.note("no changes")
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

    output.info(f"[dim]── changed at {_clock()} ──[/dim]")
    lines = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=1)
    for line in list(lines)[2:]:
        style = {"+": "green", "-": "red", "@": "dim"}.get(line[:1])
        text = output.escape(line)
        output.info(f"[{style}]{text}[/{style}]" if style else text)


@runtime.command
async def watch(client: CoopeClient, json: bool, page: PageArg) -> None:
    """Print a page, then what changes in it as others edit, until Ctrl-C.

    Moving the page to the trash (alone or with a page above it) and bringing it back are shown
    too: in the trash the page is read-only. With --json, prints one JSON object per line: the
    whole page, then again after each change; and {"page_id", "event": "archived" or
    "restored", "root_id"} when the page goes to the trash or comes back (root_id: the page that
    was archived or restored, with its sub-pages)."""
    from coope.core.blocks import read_blocks, to_markdown
    from coope.core.events import PagesArchived, PagesRestored

    target = await client.pages.resolve(page)
    # Subscribed before the page is shown: a move to the trash from then on is not missed.
    async with client.live.events(PagesArchived, PagesRestored) as moves:
        await client.live.connect()
        async with client.replica(target.id) as replica:
            blocks = read_blocks(replica.doc)
            shown = to_markdown(blocks)
            if json:
                _emit_line(_watch_line(target.id, blocks, shown))
            else:
                output.print_renderable(render_page(target, blocks))
            archived = target.archived
            # Closed on the way out, whatever ends the loop: its reads of both streams stop then,
            # not when the generator happens to be collected.
            async with contextlib.aclosing(_updates(replica, moves)) as updates:
                async for move in updates:
                    if move is not None:
                        if move.data.workspace_id == target.workspace_id:
                            archived = await _show_trash_move(client, json, target, archived, move)
                        continue
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


async def _updates(
    replica: PageReplica, moves: AsyncIterator[Event]
) -> AsyncGenerator[PagesArchived | PagesRestored | None, None]:
    """None for each batch of remote changes to the page, and every trash move in its
    workspaces, as they come; ends when the page's connection closes."""
    from coope.core.events import PagesArchived, PagesRestored

    # An async generator, closed here: it must not outlive the page's connection.
    changes = cast("AsyncGenerator[int, None]", replica.changes())
    next_change = asyncio.ensure_future(anext(changes, _CLOSED))
    next_move = asyncio.ensure_future(anext(moves, _CLOSED))
    waiting = {next_change, next_move}
    try:
        while True:
            done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            waiting -= done
            if next_move in done:
                move = next_move.result()
                if isinstance(move, PagesArchived | PagesRestored):
                    yield move
                # The event connection ended for good (a refusal): the page's own connection
                # says the same, and closes next. Until then only the page is waited for (a
                # finished read left in the set would wake the wait at once, again and again).
                if move is not _CLOSED:
                    next_move = asyncio.ensure_future(anext(moves, _CLOSED))
                    waiting.add(next_move)
            if next_change in done:
                if next_change.result() is _CLOSED:
                    return
                yield None
                next_change = asyncio.ensure_future(anext(changes, _CLOSED))
                waiting.add(next_change)
    finally:
        for pending in (next_change, next_move):
            pending.cancel()
        await asyncio.gather(next_change, next_move, return_exceptions=True)
        await changes.aclose()


_CLOSED: Any = object()  # what `anext` gives back once a stream has ended


async def _show_trash_move(
    client: CoopeClient,
    json: bool,
    target: PageOut,
    was_archived: bool,
    move: PagesArchived | PagesRestored,
) -> bool:
    """Tell if the watched page went to the trash or came back; returns whether it is there.

    The event names the root of the subtree that moved: the page is asked for, since it may be
    anywhere below that root (or elsewhere in the workspace)."""
    try:
        now = await client.pages.get(target.id)
    except NotFound:  # deleted for good: its connection closes with 4404, which says so
        return was_archived
    if now.archived == was_archived:
        return was_archived
    root_id = move.data.page_id
    if json:
        event = "archived" if now.archived else "restored"
        _emit_line(json_module.dumps({"page_id": target.id, "event": event, "root_id": root_id}))
        return now.archived
    along = ""
    if root_id != target.id:
        with contextlib.suppress(NotFound):
            root = await client.pages.get(root_id)
            along = f" with {page_title(root)}"
    what = "moved to the trash" + along + ": read-only" if now.archived else "restored" + along
    output.info(f"[dim]── {output.escape(what)} at {_clock()} ──[/dim]")
    return now.archived


def _clock() -> str:
    from datetime import datetime

    return datetime.now().strftime("%H:%M:%S")


def _emit_line(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
