"""Pages in the TUI against a real daemon: a page edited live while another replica types,
the block keys, the page actions, the search, a viewer's read-only page and `$EDITOR`."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pycrdt import Map, Text
from textual.pilot import Pilot
from textual.widgets import Input, OptionList, Tree

from coope.client import CoopeClient
from coope.client.profiles import Profiles
from coope.client.replica import PageReplica
from coope.core.blocks import Splice, blocks_of, read_blocks, set_text
from coope.core.errors import Conflict
from coope.core.workspace_schemas import PageOut
from coope.tui.app import CoopeApp
from coope.tui.main_screen import MainScreen
from coope.tui.page_blocks import BlockList
from coope.tui.page_dialogs import Choice, SearchScreen, TextPrompt, TrashScreen
from coope.tui.page_view import OPENING, BlockEditor
from coope.tui.pages import Pages
from coope.tui.sidebar import Sidebar
from tests.helpers import RunningDaemon
from tests.tui.conftest import SIZE, lines, main_screen, tui, until


async def content(client: CoopeClient, page_id: int) -> list[tuple[str, str, bool]]:
    """The page's blocks as the daemon holds them: (type, text, checked)."""
    out = await client.pages.content(page_id)
    return [(b.type, b.text, b.checked) for b in out.blocks]


def shown(screen: MainScreen) -> list[str]:
    return lines(screen.page.query_one(BlockList))


async def open_page(pilot: Pilot[None], page: PageOut) -> MainScreen:
    """Open `page` from the sidebar's tree, as a person does (3, the cursor on it, Enter)."""
    screen = main_screen(pilot)
    tree: Tree[int | None] = screen.sidebar.query_one("#pages", Tree)
    await until(pilot, lambda: _node(tree, page.id), "the page in the tree")
    await pilot.press("3")
    tree.select_page(page.id)
    await pilot.press("enter")
    blocks = screen.page.query_one(BlockList)
    await until(pilot, lambda: blocks.has_focus and screen.view == "page", "the page open")
    await until(pilot, lambda: screen.page.read_only != "opening…", "the page live")
    return screen


def said(app: CoopeApp) -> list[str]:
    """What the app told the person (its notifications), oldest first."""
    return [notification.message for notification in app._notifications]


def _node(tree: Tree[int | None], page_id: int) -> bool:
    stack = list(tree.root.children)
    while stack:
        node = stack.pop()
        if node.data == page_id:
            return True
        stack.extend(node.children)
    return False


async def select(pilot: Pilot[None], screen: MainScreen, text: str) -> None:
    blocks = screen.page.query_one(BlockList)
    await until(pilot, lambda: any(text in line for line in lines(blocks)), f"{text!r} shown")
    blocks.highlighted = next(i for i, line in enumerate(lines(blocks)) if text in line)


def block_text(doc_blocks: Map[object], block_id: str) -> Text:
    block = doc_blocks[block_id]
    assert isinstance(block, Map)
    text = block["text"]
    assert isinstance(text, Text)
    return text


async def test_a_page_edited_in_the_tui_while_another_replica_types(
    daemon: RunningDaemon, alice: CoopeClient, bob: CoopeClient, profiles: Profiles
) -> None:
    workspace = await alice.workspaces.create("Team")
    await alice.workspaces.set_member(workspace.id, "bob", "editor")
    page = await alice.pages.create(
        workspace.id, "Plan", markdown="# Plan\n\nfirst line\n\nsecond\n"
    )
    app = tui(daemon, alice, profiles)
    async with app.run_test(size=SIZE) as pilot, bob.replica(page.id) as replica:
        screen = await open_page(pilot, page)
        assert shown(screen) == ["Plan", "first line", "second"]
        await select(pilot, screen, "first line")
        await pilot.press("e")
        editor = screen.page.query_one(BlockEditor)
        await until(pilot, lambda: editor.has_focus, "the block in the editor box")
        await pilot.press(*" from tui")
        await until(pilot, lambda: "first line from tui" in shown(screen), "own typing shown")

        # bob types at the start of the same block and in another block meanwhile.
        first_id, second_id = (b.id for b in read_blocks(replica.doc)[1:3])
        await until(
            pilot,
            lambda: str(block_text(blocks_of(replica.doc), first_id)) == "first line from tui",
            "alice's typing at bob's",
        )
        set_text(block_text(blocks_of(replica.doc), first_id), "BOB first line from tui")
        set_text(block_text(blocks_of(replica.doc), second_id), "second, by bob")
        await until(pilot, lambda: "second, by bob" in shown(screen), "bob's other block live")
        await until(
            pilot, lambda: editor.text == "BOB first line from tui", "bob's typing in the box"
        )
        # alice's cursor stayed at the end of her words: she types on there.
        await pilot.press(*"!", "enter")
        await until(pilot, lambda: blocks_focused(screen), "out of the editor box")
        wanted = [
            ("heading1", "Plan", False),
            ("paragraph", "BOB first line from tui!", False),
            ("paragraph", "second, by bob", False),
        ]

        async def stored() -> bool:
            return await content(alice, page.id) == wanted

        await until(pilot, stored, "both people's edits in the daemon's page")
        assert shown(screen) == ["Plan", "BOB first line from tui!", "second, by bob"]
        await until(
            pilot,
            lambda: [b.text for b in read_blocks(replica.doc)] == [w[1] for w in wanted],
            "alice's last key at bob's",
        )


def blocks_focused(screen: MainScreen) -> bool:
    return screen.page.query_one(BlockList).has_focus


async def test_blocks_from_the_keyboard(
    daemon: RunningDaemon, alice: CoopeClient, profiles: Profiles
) -> None:
    workspace = await alice.workspaces.create("Team")
    page = await alice.pages.create(
        workspace.id, "Chores", markdown="- [ ] water the plants\n- [ ] feed the cat\n"
    )
    app = tui(daemon, alice, profiles)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_page(pilot, page)

        async def holds(wanted: list[tuple[str, str, bool]]) -> None:
            async def stored() -> bool:
                return await content(alice, page.id) == wanted

            await until(pilot, stored, f"the page reads {wanted}")

        # Space checks the to-do.
        await select(pilot, screen, "water the plants")
        await pilot.press("space")
        await holds([("todo", "water the plants", True), ("todo", "feed the cat", False)])
        assert shown(screen)[0] == "[x] water the plants"

        # a adds a block after the selected one, of the type picked, and edits it.
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, Choice), "the block types")
        choice = app.screen.query_one(OptionList)
        choice.highlighted = next(i for i, o in enumerate(lines(choice)) if o == "Bullet")
        await pilot.press("enter")
        editor = screen.page.query_one(BlockEditor)
        await until(pilot, lambda: editor.has_focus, "the new block in the editor box")
        await pilot.press(*"buy milk", "enter")
        await holds(
            [
                ("todo", "water the plants", True),
                ("bullet", "buy milk", False),
                ("todo", "feed the cat", False),
            ]
        )

        # T changes its type; K moves it up, J down twice; d deletes (after asking).
        await pilot.press("T")
        await until(pilot, lambda: isinstance(app.screen, Choice), "the block types")
        choice = app.screen.query_one(OptionList)
        choice.highlighted = next(i for i, o in enumerate(lines(choice)) if o == "Heading 2")
        await pilot.press("enter")
        await holds(
            [
                ("todo", "water the plants", True),
                ("heading2", "buy milk", False),
                ("todo", "feed the cat", False),
            ]
        )
        await pilot.press("K")
        await holds(
            [
                ("heading2", "buy milk", False),
                ("todo", "water the plants", True),
                ("todo", "feed the cat", False),
            ]
        )
        await pilot.press("J", "J")
        await holds(
            [
                ("todo", "water the plants", True),
                ("todo", "feed the cat", False),
                ("heading2", "buy milk", False),
            ]
        )
        await pilot.press("d")
        await until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen", "asked")
        await pilot.press("y")
        await holds([("todo", "water the plants", True), ("todo", "feed the cat", False)])
        assert shown(screen) == ["[x] water the plants", "[ ] feed the cat"]


async def answer(pilot: Pilot[None], kind: type, text: str) -> None:
    """Type `text` into the question that opened (a title)."""
    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, kind), kind.__name__)
    field = app.screen.query_one(Input)
    field.value = ""
    await pilot.press(*text, "enter")


async def test_page_actions_from_the_tree_and_the_trash(
    daemon: RunningDaemon, alice: CoopeClient, profiles: Profiles
) -> None:
    workspace = await alice.workspaces.create("Team")
    plans = await alice.pages.create(workspace.id, "Plans")
    app = tui(daemon, alice, profiles)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_page(pilot, plans)
        tree: Tree[int | None] = screen.sidebar.query_one("#pages", Tree)

        async def titles() -> dict[str, int | None]:
            return {p.title: p.parent_id for p in await alice.pages.tree(workspace.id)}

        # n on a page: a new page under it, opened.
        await pilot.press("3")
        tree.select_page(plans.id)
        await pilot.press("n")
        await answer(pilot, TextPrompt, "Q3 goals")

        async def made() -> bool:
            return (await titles()).get("Q3 goals") == plans.id

        await until(pilot, made, "the new page under Plans")
        await until(
            pilot,
            lambda: "Q3 goals" in str(screen.page.query_one("#page-title").render()),
            "the new page open",
        )
        q3 = next(p for p in await alice.pages.tree(workspace.id) if p.title == "Q3 goals")
        await until(
            pilot,
            lambda: tree.cursor_node is not None and tree.cursor_node.data == q3.id,
            "the cursor on it",
        )

        # r renames, M moves (to the top level), x archives; the tree follows.
        await pilot.press("3", "r")
        await answer(pilot, TextPrompt, "Q3 [goals]")

        async def renamed() -> bool:
            return "Q3 [goals]" in await titles()

        await until(pilot, renamed, "renamed")
        await until(pilot, lambda: "📄 Q3 [goals]" in tree_labels(tree), "the tree renamed")
        await pilot.press("M")
        await until(pilot, lambda: isinstance(app.screen, Choice), "where to")
        choice = app.screen.query_one(OptionList)
        choice.highlighted = 0  # the top level
        await pilot.press("enter")

        async def moved() -> bool:
            return (await titles()).get("Q3 [goals]", 0) is None

        await until(pilot, moved, "moved to the top level")
        await pilot.press("3")
        tree.select_page(q3.id)
        await pilot.press("x")

        async def archived() -> bool:
            return "Q3 [goals]" not in await titles()

        await until(pilot, archived, "in the trash")
        await until(pilot, lambda: "📄 Q3 [goals]" not in tree_labels(tree), "gone from the tree")

        # t: the trash; r restores, d deletes for good after asking.
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, TrashScreen), "the trash")
        trash = app.screen.query_one(OptionList)
        await until(pilot, lambda: any("Q3 [goals]" in o for o in lines(trash)), "in the trash")
        await pilot.press("r")
        await until(pilot, renamed, "restored")
        await until(pilot, lambda: not any("Q3" in o for o in lines(trash)), "out of the trash")
        await alice.pages.archive(q3.id)
        await pilot.press("escape", "t")
        await until(pilot, lambda: isinstance(app.screen, TrashScreen), "the trash again")
        trash = app.screen.query_one(OptionList)
        await until(pilot, lambda: any("Q3 [goals]" in o for o in lines(trash)), "in the trash")
        await pilot.press("d")
        await until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen", "asked")
        await pilot.press("y")

        async def deleted() -> bool:
            return not await alice.pages.trash(workspace.id)

        await until(pilot, deleted, "deleted for good")


def tree_labels(tree: Tree[int | None]) -> list[str]:
    found: list[str] = []
    stack = list(tree.root.children)
    while stack:
        node = stack.pop()
        found.append(str(node.label))
        stack.extend(node.children)
    return found


async def test_search_opens_a_hit_in_another_workspace(
    daemon: RunningDaemon, alice: CoopeClient, profiles: Profiles
) -> None:
    first = await alice.workspaces.create("Home")
    second = await alice.workspaces.create("Work")
    await alice.pages.create(first.id, "Groceries", markdown="apples and pears")
    await alice.pages.create(second.id, "Launch", markdown="the rocket needs fuel")
    app = tui(daemon, alice, profiles)
    async with app.run_test(size=SIZE) as pilot:
        screen = main_screen(pilot)
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, SearchScreen), "the search")
        await pilot.press(*"rocket")
        hits = app.screen.query_one(OptionList)
        await until(pilot, lambda: any("Launch" in o for o in lines(hits)), "the hit")
        await pilot.press("enter")
        await until(pilot, lambda: screen.view == "page", "the page view")
        await until(pilot, lambda: shown(screen) == ["the rocket needs fuel"], "the page")


async def test_a_viewer_reads_and_cannot_edit_and_the_trash_is_said(
    daemon: RunningDaemon, alice: CoopeClient, bob: CoopeClient, profiles: Profiles
) -> None:
    workspace = await alice.workspaces.create("Team")
    await alice.workspaces.set_member(workspace.id, "bob", "viewer")
    page = await alice.pages.create(workspace.id, "Rules", markdown="- [ ] be kind\n")
    app = tui(daemon, bob, profiles)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_page(pilot, page)
        status = screen.page.query_one("#page-status")
        assert "Read-only: you are a viewer of Team" in str(status.render())
        await pilot.press("space", "e", "d", "a")
        await until(
            pilot,
            lambda: said(app).count("Read-only: you are a viewer of Team.") == 4,
            "each key told why it does nothing",
        )
        assert not screen.page.query_one(BlockEditor).has_focus
        assert isinstance(app.screen, MainScreen)
        assert shown(screen) == ["[ ] be kind"]
        assert await content(alice, page.id) == [("todo", "be kind", False)]
        await alice.pages.archive(page.id)
        await until(pilot, lambda: "In the trash" in str(status.render()), "in the trash")


def waiting_editor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rewrite: str) -> Path:
    """Make $VISUAL an "editor" that waits until the returned file exists (the test's go),
    then runs `rewrite`: Python code with `path`, the file being edited."""
    go = tmp_path / "go"
    script = tmp_path / "editor.py"
    script.write_text(
        "import pathlib, sys, time\n"
        f"go = pathlib.Path({str(go)!r})\n"
        # Polled (a subprocess has no event to await), for longer than the test's own
        # budget: a busy machine cannot run past it, and a failed test leaves no editor behind.
        "end = time.monotonic() + 120\n"
        "while not go.exists() and time.monotonic() < end:\n"
        "    time.sleep(0.02)\n"
        "path = pathlib.Path(sys.argv[1])\n" + rewrite + "\n"
    )
    monkeypatch.setenv("VISUAL", f"{sys.executable} {script}")
    return go


async def test_editor_edits_merge_with_a_concurrent_remote_edit(
    daemon: RunningDaemon,
    alice: CoopeClient,
    bob: CoopeClient,
    profiles: Profiles,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    workspace = await alice.workspaces.create("Team")
    await alice.workspaces.set_member(workspace.id, "bob", "editor")
    page = await alice.pages.create(workspace.id, "Notes", markdown="draft one\n\nkeep this\n")
    # The "editor" waits until bob has typed, then rewrites the file as a person would.
    go = waiting_editor(
        tmp_path,
        monkeypatch,
        "text = path.read_text().replace('draft one', 'final one')\n"
        "path.write_text(text + '\\n- [ ] ship it\\n')",
    )
    app = tui(daemon, alice, profiles)
    # The test's terminal is headless: nothing to hand over, the editor runs as it is.
    monkeypatch.setattr(CoopeApp, "suspend", lambda self: contextlib.nullcontext())
    async with app.run_test(size=SIZE) as pilot, bob.replica(page.id) as replica:
        screen = await open_page(pilot, page)
        await pilot.press("E")
        # While the editor is open, bob changes the other block.
        keep_id = read_blocks(replica.doc)[1].id
        set_text(block_text(blocks_of(replica.doc), keep_id), "keep this, says bob")
        await until(pilot, lambda: "keep this, says bob" in shown(screen), "bob's edit live")
        go.touch()
        wanted = [
            ("paragraph", "final one", False),
            ("paragraph", "keep this, says bob", False),
            ("todo", "ship it", False),
        ]

        async def stored() -> bool:
            return await content(alice, page.id) == wanted

        await until(pilot, stored, "the editor's edits merged with bob's")
        await until(
            pilot,
            lambda: shown(screen) == ["final one", "keep this, says bob", "[ ] ship it"],
            "on screen",
        )


async def test_a_remote_edit_while_a_key_is_on_its_way_keeps_the_key(
    daemon: RunningDaemon,
    alice: CoopeClient,
    bob: CoopeClient,
    profiles: Profiles,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """bob's edit reaches alice's page after her key is in the box and before the document
    has it: the box keeps her key and her cursor, and takes bob's edit once the key is in."""
    workspace = await alice.workspaces.create("Team")
    await alice.workspaces.set_member(workspace.id, "bob", "editor")
    page = await alice.pages.create(workspace.id, "Plan", markdown="hello world\n")
    held: list[tuple[Pages, str, str, Splice]] = []
    edit_text = Pages.edit_text

    def hold(self: Pages, block_id: str, before: str, change: Splice) -> None:
        held.append((self, block_id, before, change))

    app = tui(daemon, alice, profiles)
    async with app.run_test(size=SIZE) as pilot, bob.replica(page.id) as replica:
        screen = await open_page(pilot, page)
        await select(pilot, screen, "hello world")
        await pilot.press("e")
        editor = screen.page.query_one(BlockEditor)
        await until(pilot, lambda: editor.has_focus, "the block in the editor box")
        monkeypatch.setattr(Pages, "edit_text", hold)
        await pilot.press("!")
        await until(pilot, lambda: bool(held), "alice's key on its way to the document")

        [block] = read_blocks(replica.doc)
        set_text(block_text(blocks_of(replica.doc), block.id), "Bob: hello world")
        await until(pilot, lambda: shown(screen) == ["Bob: hello world"], "bob's edit arrived")
        assert editor.text == "hello world!"
        assert editor.cursor_location == (0, len("hello world!"))

        monkeypatch.setattr(Pages, "edit_text", edit_text)
        for pages, block_id, before, change in held:
            pages.edit_text(block_id, before, change)
        await until(pilot, lambda: editor.text == "Bob: hello world!", "both in the box")
        assert editor.cursor_location == (0, len("Bob: hello world!"))
        await pilot.press("?", "enter")

        async def stored() -> bool:
            return await content(alice, page.id) == [("paragraph", "Bob: hello world!?", False)]

        await until(pilot, stored, "both people's edits in the daemon's page")


async def test_the_page_says_opening_until_its_document_is_open(
    daemon: RunningDaemon,
    alice: CoopeClient,
    profiles: Profiles,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    workspace = await alice.workspaces.create("Team")
    page = await alice.pages.create(workspace.id, "Plan", markdown="- [ ] be kind\n")
    connecting, go = asyncio.Event(), asyncio.Event()
    enter = PageReplica.__aenter__

    async def slow_enter(self: PageReplica) -> PageReplica:
        connecting.set()
        await go.wait()
        return await enter(self)

    monkeypatch.setattr(PageReplica, "__aenter__", slow_enter)
    app = tui(daemon, alice, profiles)
    async with app.run_test(size=SIZE) as pilot:
        main_screen(pilot).sidebar.post_message(Sidebar.PageChosen(page.id))
        await until(pilot, connecting.is_set, "the page's replica connecting")
        view = main_screen(pilot).page
        await pilot.press("e")
        await until(pilot, lambda: OPENING in said(app), "e told the page is opening")
        assert view.read_only == OPENING
        go.set()
        await until(pilot, lambda: view.read_only is None, "the page open for editing")
        await pilot.press("space")

        async def checked() -> bool:
            return await content(alice, page.id) == [("todo", "be kind", True)]

        await until(pilot, checked, "the to-do checked")


async def test_a_page_closed_by_an_error_is_read_only_and_says_so(
    daemon: RunningDaemon,
    alice: CoopeClient,
    profiles: Profiles,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    workspace = await alice.workspaces.create("Team")
    page = await alice.pages.create(workspace.id, "Plan", markdown="- [ ] be kind\n")

    async def broken(self: PageReplica) -> AsyncIterator[int]:
        raise Conflict("the page's history does not add up")
        yield 0

    monkeypatch.setattr(PageReplica, "changes", broken)
    app = tui(daemon, alice, profiles)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_page(pilot, page)
        closed = "This page is closed: the page's history does not add up"
        await until(pilot, lambda: screen.page.read_only == closed, "the page closed")
        assert closed in str(screen.page.query_one("#page-status").render())
        await pilot.press("space")
        await until(pilot, lambda: said(app).count(closed) == 1, "space told why")
        assert shown(screen) == ["[ ] be kind"]


async def test_search_enter_on_no_hits_stays(
    daemon: RunningDaemon, alice: CoopeClient, profiles: Profiles
) -> None:
    workspace = await alice.workspaces.create("Team")
    await alice.pages.create(workspace.id, "Launch", markdown="the rocket needs fuel")
    app = tui(daemon, alice, profiles)
    async with app.run_test(size=SIZE) as pilot:
        screen = main_screen(pilot)
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, SearchScreen), "the search")
        await pilot.press(*"zebra")
        hits = app.screen.query_one(OptionList)
        await until(pilot, lambda: lines(hits) == ["No page has these words."], "no hits")
        await pilot.press("enter", "s")
        field = app.screen.query_one(Input)
        await until(pilot, lambda: field.value == "zebras", "typed on in the search")
        assert isinstance(app.screen, SearchScreen)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, MainScreen), "the search closed")
        assert screen.view != "page"
        assert not said(app)  # nor "page 0 not found"


async def test_editor_edits_are_not_merged_once_the_page_is_read_only(
    daemon: RunningDaemon,
    alice: CoopeClient,
    bob: CoopeClient,
    profiles: Profiles,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """bob becomes a viewer while his editor is open: what he wrote is not merged."""
    workspace = await alice.workspaces.create("Team")
    await alice.workspaces.set_member(workspace.id, "bob", "editor")
    page = await alice.pages.create(workspace.id, "Notes", markdown="draft one\n")
    go = waiting_editor(
        tmp_path,
        monkeypatch,
        "path.write_text(path.read_text().replace('draft one', 'final one'))",
    )
    monkeypatch.setattr(CoopeApp, "suspend", lambda self: contextlib.nullcontext())
    app = tui(daemon, bob, profiles)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_page(pilot, page)
        await pilot.press("E")
        await alice.workspaces.set_member(workspace.id, "bob", "viewer")
        viewer = "Read-only: you are a viewer of Team."
        await until(pilot, lambda: screen.page.read_only == viewer, "bob a viewer")
        go.touch()
        await until(pilot, lambda: f"Your edits were not saved. {viewer}" in said(app), "not saved")
        assert shown(screen) == ["draft one"]
        assert await content(alice, page.id) == [("paragraph", "draft one", False)]
