"""Showing pages with Rich: a title with its icon, content rendered as Markdown.

Naming pages (`12`, `WS/Parent/Child`) is the client's: `client.pages.resolve`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from coope.cli import output

if TYPE_CHECKING:
    from coope.core.blocks import BlockView
    from coope.core.workspace_schemas import BlockOut, PageOut

DEFAULT_ICON = "📄"
BLOCK_TYPES_HELP = (
    "paragraph, heading1, heading2, heading3, todo, bullet, numbered, quote, code or divider."
)


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


def show_page(page: PageOut, json: bool, what: str) -> None:
    output.done(json, page, f"{page_title(page)} (page {page.id}) {what}")
