"""`PageAction`: what the page tree and the page view ask to be done to a page."""

from __future__ import annotations

from textual.message import Message


class PageAction(Message):
    """Do `action` to a page (for "new": make one under it; `page_id` None: at the top of the
    workspace)."""

    def __init__(self, action: str, page_id: int | None, workspace_id: int) -> None:
        super().__init__()
        self.action = action
        self.page_id = page_id
        self.workspace_id = workspace_id
