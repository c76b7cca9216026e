"""`BlockList`: a page's blocks as a list to move through, one option per block (id: block id).

Each block is drawn as it reads (headings bold, bullets, numbers, `[ ]`/`[x]` todos, quotes,
code with its language, dividers); the text is what people typed, never markup.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from coope.core.blocks import BlockView
from coope.core.rules import visible

TYPE_NAMES = {
    "paragraph": "Text",
    "heading1": "Heading 1",
    "heading2": "Heading 2",
    "heading3": "Heading 3",
    "todo": "To-do",
    "bullet": "Bullet",
    "numbered": "Numbered",
    "quote": "Quote",
    "code": "Code",
    "divider": "Divider",
}

EMPTY_PAGE = "empty"  # the id of the hint shown on a page with no blocks
DIVIDER_WIDTH = 40


def block_prompt(block: BlockView, number: int) -> Text:
    """How a block reads in the list; `number` is its place in a run of numbered blocks."""
    text = visible(block.text)
    kind = block.type
    if kind == "divider":
        return Text("─" * DIVIDER_WIDTH, style="dim")
    if kind == "code":
        head = Text(f"```{visible(block.lang)}", style="dim")
        body = Text("\n".join(f"│ {line}" for line in text.split("\n")), style="cyan")
        return Text("\n").join([head, body])
    if not text:
        return Text(f"({TYPE_NAMES.get(kind, 'Text')}, empty)", style="dim italic")
    if kind.startswith("heading"):
        style = {"heading1": "bold underline", "heading2": "bold", "heading3": "bold italic"}
        return Text(text, style=style.get(kind, "bold"))
    marks = {"bullet": "• ", "numbered": f"{number}. ", "quote": "▌ "}
    if kind == "todo":
        mark = "[x] " if block.checked else "[ ] "
        return _hanging(mark, text, "dim strike" if block.checked else "")
    if kind in marks:
        return _hanging(marks[kind], text, "italic" if kind == "quote" else "")
    return Text(text)


def _hanging(mark: str, text: str, style: str) -> Text:
    """`mark` then the text, its further lines indented under the first."""
    indent = "\n" + " " * len(mark)
    shown = Text(mark, style="bold")
    shown.append(text.replace("\n", indent), style=style)
    return shown


def numbers(blocks: list[BlockView]) -> list[int]:
    """Each block's number in its run of consecutive numbered blocks (0 for the others)."""
    result, run = [], 0
    for block in blocks:
        run = run + 1 if block.type == "numbered" else 0
        result.append(run)
    return result


class BlockList(OptionList):
    """The blocks of the page on screen; the highlighted one is what the keys act on."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self.blocks: list[BlockView] = []

    @property
    def selected(self) -> BlockView | None:
        option = self.highlighted_option
        if option is None or option.id == EMPTY_PAGE:
            return None
        return next((b for b in self.blocks if b.id == option.id), None)

    def show(self, blocks: list[BlockView], *, select: str | None = None) -> None:
        """Draw `blocks`, keeping the highlighted block (or highlighting `select`).

        Blocks in the same order are redrawn in place (the list keeps its scroll position);
        only an added, removed or moved block rebuilds it.
        """
        old_ids = [b.id for b in self.blocks]
        current = self.selected
        wanted = select or (current.id if current is not None else None)
        index = self.highlighted
        self.blocks = blocks
        prompts = [block_prompt(b, n) for b, n in zip(blocks, numbers(blocks), strict=True)]
        if old_ids and old_ids == [b.id for b in blocks]:
            for block, prompt in zip(blocks, prompts, strict=True):
                self.replace_option_prompt(block.id, prompt)
        elif not blocks:
            hint = Text("An empty page: a adds a block, E opens it in your editor.", "dim")
            self.set_options([Option(hint, id=EMPTY_PAGE)])
        else:
            self.set_options([Option(p, id=b.id) for p, b in zip(prompts, blocks, strict=True)])
        ids = [b.id for b in blocks]
        if wanted in ids:
            self.highlighted = ids.index(wanted)
        elif blocks:
            # The highlighted block went away (deleted elsewhere): the one now in its place.
            self.highlighted = min(index or 0, len(blocks) - 1)
