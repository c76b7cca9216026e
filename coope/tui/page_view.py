"""`PageView`: a page's blocks, live, to move through and edit from the keyboard.

It draws what it is handed (`open`, `show_blocks`, `set_read_only`) and says what the person
wants as messages: a block's text typed (`TextEdited`, sent as the person types), a todo
toggled, a block added, retyped, moved or deleted, the page in `$EDITOR`, a page action. The
pages controller (`coope.tui.pages.Pages`) makes those changes in the page's live replica.

While a block is being edited, each edit goes up as the splice the person made, and others'
changes to the block come into the editor box as splices, so the person's cursor stays with
the text around it and neither side's typing is lost (`coope.tui.page_text`). Others' changes
wait while an edit of the person's is on its way to the document (`edit_applied`), as the box
then holds text the document does not have yet.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static, TextArea
from textual.widgets.text_area import Edit, EditResult

from coope.core.blocks import BLOCK_TYPES, BlockView, Splice, splice
from coope.core.rules import visible
from coope.core.workspace_schemas import PageOut
from coope.tui.dialogs import ConfirmScreen
from coope.tui.help import KeyRow
from coope.tui.help import key_rows as rows_of
from coope.tui.page_actions import PageAction
from coope.tui.page_blocks import TYPE_NAMES, BlockList
from coope.tui.page_dialogs import Choice, SearchScreen, TrashScreen
from coope.tui.page_text import applied
from coope.tui.sidebar import PageTree

NEWLINE_KEYS = ("ctrl+j", "shift+enter")
OPENING = "opening…"  # the page's status until its document is open
KEY_HINT = "  e edit · a add · space todo"  # after the title (the footer has no room)


class BlockEditor(TextArea):
    """The box a block's text is typed in. Enter (in a code block: Escape) is done; Ctrl+J
    starts a new line."""

    BINDINGS = [
        # Handled in `_on_key`, in order with the keys typed before it; listed for the help.
        Binding("enter", "done", "Done"),
        Binding("ctrl+j", "newline", "New line"),
        Binding("escape", "done", "Done", show=False),
    ]

    class Done(Message):
        """The person is done editing the block."""

    code = False  # in a code block Enter is a new line, as in any editor

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, soft_wrap=True, show_line_numbers=False, tab_behavior="focus")
        self._edits: list[Splice] = []  # made since `take_edits`, each of the text before it

    def edit(self, edit: Edit) -> EditResult:
        # Every typed key, deletion and paste passes here: where it happened is known, which
        # a comparison of the text before and after cannot tell in a run of equal characters.
        text = self.text
        self._edits.append(Splice(_index(text, edit.top), _index(text, edit.bottom), edit.text))
        return super().edit(edit)

    def take_edits(self) -> list[Splice]:
        """The edits made since the last call."""
        edits, self._edits = self._edits, []
        return edits

    def action_done(self) -> None:
        self.post_message(self.Done())

    def action_newline(self) -> None:
        self.insert("\n")

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "escape" or (event.key == "enter" and not self.code):
            event.stop()
            event.prevent_default()
            self.action_done()
            return
        if event.key in NEWLINE_KEYS:
            event.stop()
            event.prevent_default()
            self.action_newline()
            return
        await super()._on_key(event)


class PageView(Vertical):
    BINDINGS = [
        # None in the footer: at 80 columns the main screen's keys fill it (F1 Help and j Call
        # would be cut). The title names the first three; the help lists them all.
        Binding("e", "edit", "Edit", show=False),
        Binding("space", "check", "Todo", show=False),
        Binding("a", "add", "Add", show=False),
        Binding("T", "retype", "Type", show=False),
        Binding("d", "delete", "Delete", show=False),
        Binding("K,ctrl+up", "move(-1)", "Move up", show=False),
        Binding("J,ctrl+down", "move(1)", "Move down", show=False),
        Binding("E", "editor", "$EDITOR", show=False),
        Binding("r", "page('rename')", "Rename", show=False),
        Binding("M", "page('move')", "Move page", show=False),
        Binding("x", "trash", "Trash/restore", show=False),
    ]

    class TextEdited(Message):
        """The person made `change` to a block's text, which read `before` in the box.

        Whoever makes it in the document calls `edit_applied` then."""

        def __init__(self, block_id: str, before: str, change: Splice) -> None:
            super().__init__()
            self.block_id, self.before, self.change = block_id, before, change

    class ToggleWanted(Message):
        def __init__(self, block_id: str) -> None:
            super().__init__()
            self.block_id = block_id

    class AddWanted(Message):
        """A new block of `kind` after `after` (None: at the start)."""

        def __init__(self, after: str | None, kind: str) -> None:
            super().__init__()
            self.after, self.kind = after, kind

    class RetypeWanted(Message):
        def __init__(self, block_id: str, kind: str) -> None:
            super().__init__()
            self.block_id, self.kind = block_id, kind

    class MoveWanted(Message):
        """Move a block after `after` (None: to the start)."""

        def __init__(self, block_id: str, after: str | None) -> None:
            super().__init__()
            self.block_id, self.after = block_id, after

    class DeleteWanted(Message):
        def __init__(self, block_id: str) -> None:
            super().__init__()
            self.block_id = block_id

    class EditorWanted(Message):
        """The whole page as Markdown in the person's editor."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.page: PageOut | None = None
        self.read_only: str | None = None  # why the page cannot be changed, if it cannot
        self.editing: str | None = None  # the id of the block in the editor box
        self._agreed = ""  # the editor's text as last sent up or taken from the page
        self._in_flight = 0  # edits sent up and not yet in the document

    def compose(self) -> ComposeResult:
        yield Static("", id="page-title", markup=False)  # a title is text, never markup
        yield Static("", id="page-status", markup=False)
        yield BlockList(id="blocks")
        yield BlockEditor(id="block-editor")

    @property
    def blocks(self) -> BlockList:
        return self.query_one(BlockList)

    @property
    def editor(self) -> BlockEditor:
        return self.query_one(BlockEditor)

    # --- attributes down ---------------------------------------------------------------------

    def open(self, page: PageOut, where: str) -> None:
        """A page is opening: its title and where it lives; its blocks follow."""
        self.page = page
        self._stop_editing()
        self.show_title(page, where)
        self.blocks.blocks = []
        self.blocks.clear_options()
        self.set_read_only(OPENING)

    def show_title(self, page: PageOut, where: str) -> None:
        self.page = page
        title = Text(visible(f"{page.icon} {page.title}" if page.icon else page.title))
        title.append(KEY_HINT, style="dim not bold")
        self.query_one("#page-title", Static).update(title)
        self.query_one("#page-status", Static).update(visible(where))
        self.query_one("#page-status").set_class(False, "read-only")

    def show_status(self, text: str) -> None:
        """A word on the page's connection (offline, reconnecting)."""
        self.query_one("#page-status", Static).update(text)

    def set_read_only(self, reason: str | None) -> None:
        """None: the page can be changed; else why not (shown above the blocks)."""
        self.read_only = reason
        status = self.query_one("#page-status", Static)
        status.set_class(reason is not None, "read-only")
        if reason is not None:
            self._stop_editing()
            status.update(reason)
        self.set_class(reason is not None, "read-only")

    def edit_applied(self) -> None:
        """One edit sent up (`TextEdited`) is in the document now, or was dropped."""
        self._in_flight = max(0, self._in_flight - 1)

    def show_blocks(self, blocks: list[BlockView], *, select: str | None = None) -> None:
        self.blocks.show(blocks, select=select)
        if self.editing is None:
            return
        block = next((b for b in blocks if b.id == self.editing), None)
        if block is None:
            self.notify("The block you were editing was deleted.", severity="warning")
            self._stop_editing()
        elif (
            block.text != self._agreed
            and self._in_flight == 0  # else the document lacks what the box holds
            and self.editor.text == self._agreed  # else a key is yet to be sent up
        ):
            # Someone else typed in this block: their change goes in as a splice.
            change = splice(self._agreed, block.text)
            old, self._agreed = self._agreed, block.text
            start, end = _location(old, change.start), _location(old, change.end)
            self.editor.replace(change.inserted, start, end)
            self.editor.take_edits()  # theirs, not the person's

    def edit_block(self, block_id: str) -> None:
        """Put a block in the editor box (a new block, just added)."""
        self.blocks.show(self.blocks.blocks, select=block_id)
        self.action_edit()

    # --- keys --------------------------------------------------------------------------------

    def _refused(self) -> bool:
        """True (having said why) if the page cannot be changed."""
        if self.read_only is not None:
            self.notify(self.read_only, severity="warning", markup=False)
        return self.read_only is not None

    def _writable(self) -> BlockView | None:
        """The selected block, if the page may be changed."""
        return None if self._refused() else self.blocks.selected

    def action_edit(self) -> None:
        block = self._writable()
        if block is None:
            return
        if block.type == "divider":
            self.notify("A divider has no text (T changes its type).")
            return
        self.editing, self._agreed = block.id, block.text
        editor = self.editor
        editor.code = block.type == "code"
        editor.load_text(block.text)
        editor.take_edits()
        editor.border_title = f"{TYPE_NAMES.get(block.type, 'Text')} · " + (
            "Esc: done, Enter: new line" if editor.code else "Enter: done, Ctrl+J: new line"
        )
        editor.move_cursor(editor.document.end)
        self.add_class("editing")
        editor.focus()

    def on_option_list_option_selected(self, event: BlockList.OptionSelected) -> None:
        event.stop()
        self.action_edit()

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        event.stop()
        text, edits = self.editor.text, self.editor.take_edits()
        if self.editing is None or text == self._agreed:
            return  # the page's own text put in the box, or nothing new
        before = self._agreed
        if applied(before, edits) != text:  # undo and redo: known only by their result
            edits = [splice(before, text)]
        for change in edits:
            self._in_flight += 1
            self.post_message(self.TextEdited(self.editing, before, change))
            before = applied(before, [change])
        self._agreed = text

    def on_block_editor_done(self, event: BlockEditor.Done) -> None:
        event.stop()
        self._stop_editing()
        self.blocks.focus()

    def _stop_editing(self) -> None:
        self.editing = None
        self.remove_class("editing")

    def action_check(self) -> None:
        block = self._writable()
        if block is None:
            return
        if block.type != "todo":
            self.notify("Only a to-do is checked (T makes this block one).")
            return
        self.post_message(self.ToggleWanted(block.id))

    def action_add(self) -> None:
        if self._refused():
            return
        selected = self.blocks.selected
        after = selected.id if selected is not None else None
        if after is None and self.blocks.blocks:
            after = self.blocks.blocks[-1].id

        def chosen(kind: str | None) -> None:
            if kind is not None:
                self.post_message(self.AddWanted(after, kind))

        self.app.push_screen(_type_choice("Add a block", "paragraph"), chosen)

    def action_retype(self) -> None:
        block = self._writable()
        if block is None:
            return
        block_id = block.id

        def chosen(kind: str | None) -> None:
            if kind is not None:
                self.post_message(self.RetypeWanted(block_id, kind))

        self.app.push_screen(_type_choice("Change the block to", block.type), chosen)

    def action_delete(self) -> None:
        block = self._writable()
        if block is None:
            return
        block_id = block.id

        def answered(yes: bool | None) -> None:
            if yes:
                self.post_message(self.DeleteWanted(block_id))

        preview = block.text.split("\n", 1)[0][:40] or TYPE_NAMES.get(block.type, "block")
        self.app.push_screen(ConfirmScreen(f"Delete this block?\n{preview}"), answered)

    def action_move(self, step: int) -> None:
        block = self._writable()
        if block is None:
            return
        ids = [b.id for b in self.blocks.blocks]
        index = ids.index(block.id)
        target = index + step
        if not 0 <= target < len(ids):
            return
        others = ids[:index] + ids[index + 1 :]
        after = others[target - 1] if target > 0 else None
        self.post_message(self.MoveWanted(block.id, after))

    def action_editor(self) -> None:
        if self._refused():
            return
        self._stop_editing()
        self.post_message(self.EditorWanted())

    def action_page(self, action: str) -> None:
        if self.page is not None:
            self.post_message(PageAction(action, self.page.id, self.page.workspace_id))

    def action_trash(self) -> None:
        if self.page is not None:
            self.action_page("restore" if self.page.archived else "archive")


def _type_choice(title: str, current: str) -> Choice:
    return Choice(title, [(kind, TYPE_NAMES[kind]) for kind in BLOCK_TYPES], current)


def _location(text: str, index: int) -> tuple[int, int]:
    """A character offset as the (row, column) a text area takes."""
    row = text.count("\n", 0, index)
    return row, index - (text.rfind("\n", 0, index) + 1)


def _index(text: str, location: tuple[int, int]) -> int:
    """A text area's (row, column) as a character offset."""
    row, column = location
    start = 0
    for _ in range(row):
        start = text.index("\n", start) + 1
    return start + column


def key_rows() -> list[KeyRow]:
    """The keys of pages, for the help screen."""
    return [
        *rows_of("Page tree (3)", PageTree.BINDINGS),
        *rows_of("Page (the selected block)", PageView.BINDINGS),
        ("Page (the selected block)", "Enter", "Edit"),
        *rows_of("Editing a block", BlockEditor.BINDINGS),
        *rows_of("Page search (s)", SearchScreen.BINDINGS),
        *rows_of("Trash (t)", TrashScreen.BINDINGS),
    ]
