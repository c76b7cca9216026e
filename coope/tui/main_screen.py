"""`MainScreen`: the connection banner, the sidebar, and the main pane, with the keys that move
between them.

The main pane (`MainPane`) shows one view at a time, by id: `welcome`, `room` (`ChatView`),
`page` (`PageView`) or `ai` (`AIChatPane`, mounted the first time it is opened). A new kind of
view is one more child of `MainPane` with an id of its own, shown with `MainScreen.show_view(id)`.
"""

from __future__ import annotations

from textual import events
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

NARROW_COLUMNS = 70
"""Narrower than this, the sidebar (26 columns at least) would leave too little for a room."""

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
        Binding("c", "go('composer')", "Write", tooltip="Write a message (the composer)"),
        Binding("i", "ai_chat", "AI chat"),
        Binding("f", "friends", "People"),
        # --- rooms ---
        Binding("slash", "app.room_search", "Search", show=False),
        Binding("n", "app.new_room", "New room/invites", show=False),
        Binding("u", "app.room_members", "Members", show=False),
        # --- pages ---
        Binding("s", "search_pages", "Find page", show=False),
        Binding("t", "trash", "Trash", show=False),
        # --- calls ---
        Binding("j", "call('join')", "Call", tooltip="Join or leave the call"),
        Binding("m", "call('mute')", "Mute/unmute the call", show=False),
        Binding("b", "call('notes')", "Meeting-notes bot (start/stop)", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield ConnectionBanner(id="banner")
        with Horizontal(id="body"):
            yield Sidebar(id="sidebar")
            yield MainPane(initial="welcome", id="main")
        # --- calls ---
        from coope.tui.call_bar import CallBar

        yield CallBar(id="call-bar")
        yield Footer(compact=True)

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
        if view_id == "room" and self.has_class("-narrow"):
            # The sidebar gives way to the room (it shows while it has the focus).
            self.call_after_refresh(self.chat.message_log.focus)

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

    def action_search_pages(self) -> None:
        """Pages across every workspace by their words (s); Enter opens the hit."""
        from coope.tui.page_dialogs import SearchScreen

        def chosen(page_id: int | None) -> None:
            if page_id is not None:
                self.post_message(Sidebar.PageChosen(page_id))

        self.app.push_screen(SearchScreen(), chosen)

    def action_trash(self) -> None:
        """What is in the trash, workspace by workspace (t): restore, or delete for good."""
        from coope.tui.page_dialogs import TrashScreen

        self.app.push_screen(TrashScreen())

    # --- calls ---

    def action_call(self, ask: str) -> None:
        """Join or leave the call of the room on screen (j), mute (m), the notes bot (b)."""
        from coope.tui.call_bar import CallAsked

        self.post_message(CallAsked(ask))

    def action_go(self, widget_id: str) -> None:
        if widget_id in ("messages", "composer") and self.view != "room":
            return
        self.query_one(f"#{widget_id}").focus()

    # --- narrow terminals ---------------------------------------------------------------------

    def on_resize(self, event: events.Resize) -> None:
        # Under NARROW_COLUMNS the sidebar and the main pane take turns at the whole width.
        self.set_class(event.size.width < NARROW_COLUMNS, "-narrow")

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """The sidebar shows (when narrow) while something in it has the focus: 1, 2 and 3
        bring it, and choosing a room, friend or page moves the focus to what opened."""
        sidebar = self.sidebar
        self.set_class(event.widget is sidebar or sidebar in event.widget.ancestors, "-sidebar")
