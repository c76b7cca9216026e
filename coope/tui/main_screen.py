"""`MainScreen`: the connection banner, the sidebar, and the main pane, with the keys that move
between them.

The main pane (`MainPane`) shows one view at a time, by id: `welcome`, `room` (`ChatView`),
`page` (`PageView`) or `ai` (`AIChatPane`, mounted the first time it is opened). A new kind of
view is one more child of `MainPane` with an id of its own, shown with `MainScreen.show_view(id)`.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Footer, Static

from coope.tui.banner import ConnectionBanner
from coope.tui.chat import ChatView
from coope.tui.friends_screen import FriendsScreen
from coope.tui.page_view import PageView
from coope.tui.sidebar import Sidebar

WELCOME = "Pick a room, a friend or a page on the left (1 rooms, 2 friends, 3 pages; F1 for keys)."


class MainPane(ContentSwitcher):
    """The views of the main pane; one shows at a time."""

    def compose(self) -> ComposeResult:
        yield Static(WELCOME, id="welcome")
        yield ChatView(id="room")
        yield PageView(id="page")
        # --- pages ---


class MainScreen(Screen[None]):
    BINDINGS = [
        Binding("1", "go('rooms')", "Rooms"),
        Binding("2", "go('friends')", "Friends"),
        Binding("3", "go('pages')", "Pages"),
        Binding("4", "go('messages')", "Messages", show=False),
        Binding("c", "go('composer')", "Compose"),
        Binding("i", "ai_chat", "AI chat"),
        Binding("f", "friends", "People"),
        # --- rooms ---
        # --- pages ---
        # --- calls ---
    ]

    def compose(self) -> ComposeResult:
        yield ConnectionBanner(id="banner")
        with Horizontal(id="body"):
            yield Sidebar(id="sidebar")
            yield MainPane(initial="welcome", id="main")
        # --- calls ---
        yield Footer()

    @property
    def sidebar(self) -> Sidebar:
        return self.query_one(Sidebar)

    @property
    def chat(self) -> ChatView:
        return self.query_one(ChatView)

    @property
    def page(self) -> PageView:
        return self.query_one(PageView)

    @property
    def banner(self) -> ConnectionBanner:
        return self.query_one(ConnectionBanner)

    def show_view(self, view_id: str) -> None:
        self.query_one(MainPane).current = view_id

    @property
    def view(self) -> str | None:
        return self.query_one(MainPane).current

    async def action_ai_chat(self) -> None:
        """Open the AI chat (the same history as `coope ai chat`)."""
        pane = self.query_one(MainPane)
        if not pane.query("#ai"):
            # Mounted on first use: the OpenAI client loads only for those who open it.
            from coope.tui.ai_chat import AIChatPane

            await pane.mount(AIChatPane(id="ai"))
        pane.current = "ai"
        pane.query_one("#ai").focus()

    def action_friends(self) -> None:
        """Requests, friends, blocks and your status (the app fills the screen)."""
        self.app.push_screen(FriendsScreen())

    # --- rooms ---

    # --- pages ---

    # --- calls ---

    def action_go(self, widget_id: str) -> None:
        if widget_id in ("messages", "composer") and self.view != "room":
            return
        self.query_one(f"#{widget_id}").focus()
