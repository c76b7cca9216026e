"""`PageView`: a page's title and content, drawn as Markdown (read-only)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Markdown, Static

from coope.core.rules import visible
from coope.core.workspace_schemas import ContentOut


class PageView(VerticalScroll):
    def compose(self) -> ComposeResult:
        yield Static("", id="page-title", markup=False)  # a title is text, never markup
        yield Markdown("", id="page-content")

    def show(self, content: ContentOut) -> None:
        page = content.page
        title = f"{page.icon} {page.title}" if page.icon else page.title
        self.query_one("#page-title", Static).update(visible(title))
        self.query_one(Markdown).update(visible(content.markdown))
        self.scroll_home(animate=False)
