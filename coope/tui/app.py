"""`CoopeApp`: `coope tui`, the terminal home for a person.

The app signs in (or takes a saved login), shows the main screen, and runs the session's work
as workers: every request to the daemon goes through `spawn`, where a `CoopeError` becomes a
notification in plain words instead of a traceback. Widgets ask for things with messages; the
handlers here turn them into the session's calls.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, cast

from textual.app import App
from textual.binding import Binding
from textual.worker import Worker, get_current_worker

from coope.client import CoopeClient
from coope.client.profiles import Login, Profiles
from coope.core.errors import CoopeError, Unauthenticated
from coope.tui.chat import ChatView
from coope.tui.composer import Composer
from coope.tui.dialogs import ConfirmScreen, EmojiPicker
from coope.tui.friends_screen import FriendsScreen
from coope.tui.help import HelpScreen, KeyRow, key_rows
from coope.tui.main_screen import MainScreen
from coope.tui.message_log import MessageLog
from coope.tui.palette import CoopeCommands
from coope.tui.people import People, PeopleState
from coope.tui.session import Session
from coope.tui.sidebar import Sidebar
from coope.tui.signin import SignInScreen

if TYPE_CHECKING:
    from coope.media.choice import AudioChoice
    from coope.tui.call_bar import CallAsked
    from coope.tui.call_control import CallControl

log = logging.getLogger(__name__)

LIST_KEYS: list[KeyRow] = [
    ("Lists", "Up, Down", "Move"),
    ("Lists", "Enter", "Open the room, friend or page"),
    ("Lists", "Tab, Shift+Tab", "Next or previous pane"),
]


class CoopeApp(App[None]):
    """The TUI. `token` None (and no saved login) starts at the sign-in screen.

    Args:
        server: The daemon's address.
        token: The credential to use; None to sign in.
        profile: The saved profile the login belongs to (a new sign-in is saved under it).
        profiles: The saved logins (tests pass one of their own).
        call_audio: Where calls' audio comes from and goes (`coope tui --input/--output/
            --device`); None: the microphone and the speaker.
    """

    CSS_PATH = "coope.tcss"
    TITLE = "coope"
    COMMANDS = App.COMMANDS | {CoopeCommands}
    BINDINGS = [
        # One binding for both keys: Textual adds its own Ctrl+P only when none is bound, and
        # priority so that Ctrl+K opens it from the composer too (where it would cut the line).
        # Not in the footer: its right end shows the palette's key already.
        Binding("ctrl+p,ctrl+k", "command_palette", "Commands", priority=True, show=False),
        Binding("f1", "help", "Help"),
        Binding("question_mark", "help", "Help", show=False),
        Binding("ctrl+t", "toggle_theme", "Light/dark", show=False),
        Binding("ctrl+q", "quit", "Quit", show=False),
    ]

    def __init__(
        self,
        server: str,
        token: str | None = None,
        profile: str | None = None,
        *,
        profiles: Profiles | None = None,
        call_audio: AudioChoice | None = None,
    ) -> None:
        super().__init__()
        self.server, self.token, self.profile = server, token, profile
        self.profiles = profiles or Profiles()
        self.call_audio = call_audio
        self.client: CoopeClient | None = None
        self.session: Session | None = None
        self.people: People | None = None
        self._unstarted: dict[Worker[None], Coroutine[Any, Any, Any]] = {}
        self._groups: dict[str, Worker[None]] = {}  # the latest worker of each group

    async def on_mount(self) -> None:
        _out_of_the_collectors_sight()
        self.theme = "textual-dark"
        if self.token is None:
            await self.push_screen(SignInScreen(self.server, self.profiles.logins()))
        else:
            await self._start(CoopeClient(self.server, self.token))

    async def on_unmount(self) -> None:
        # Work that never started by the time the app closes will not start now.
        while self._unstarted:
            self._unstarted.popitem()[1].close()
        if self.session is not None:
            self.session.stop()
        if self.people is not None:
            self.people.stop()
        if self._pages is not None:
            self._pages.stop()
        if self._calls is not None:  # the call left, the notes bot stopped
            await self._calls.aclose()
        if self.client is not None:
            await self.client.aclose()

    async def _start(self, client: CoopeClient) -> None:
        """Show the main screen (once mounted, the session fills it) for `client`."""
        self.client = client
        screen = MainScreen()
        if isinstance(self.screen, SignInScreen):
            await self.switch_screen(screen)
        else:
            await self.push_screen(screen)
        self.session = Session(client, screen, self.spawn)
        self.spawn(self._begin(self.session))

    async def _begin(self, session: Session) -> None:
        """Fill the main screen; a login the daemon no longer takes goes back to signing in."""
        try:
            await session.start()
        except Unauthenticated as exc:
            session.stop()
            await session.client.aclose()
            self.session = self.client = None
            signin = SignInScreen(session.client.server, self.profiles.logins())
            await self.switch_screen(signin)
            signin.show_error(f"{exc.message}: sign in again.")
            return
        self.people = People(session.client, self.spawn, self._people_changed, self._say)
        self.people.start()

    # --- workers ------------------------------------------------------------------------------

    def spawn(self, work: Coroutine[Any, Any, Any], group: str | None = None) -> None:
        """Run `work` as a worker; one of a `group` replaces the one running before it.

        The replacing is done here rather than by Textual's `exclusive`: a worker cancelled
        before it started never runs (and never reports a state change), so its coroutine is
        closed right here instead of being held, unawaited, until the app ends.
        """
        if group is not None:
            previous = self._groups.get(group)
            if previous is not None:
                previous.cancel()
                unstarted = self._unstarted.pop(previous, None)
                if unstarted is not None:
                    unstarted.close()

        async def guarded() -> None:
            self._unstarted.pop(get_current_worker(), None)
            await self._guarded(work)

        # Handed over as a function, called when the worker starts (a coroutine made here
        # would be one more never awaited when the worker is replaced before it starts).
        start = cast("Callable[[], Coroutine[None, None, None]]", guarded)
        worker: Worker[None] = self.run_worker(start, group=group or "default", exit_on_error=False)
        self._unstarted[worker] = work
        if group is not None:
            self._groups[group] = worker

    async def _guarded(self, work: Coroutine[Any, Any, Any]) -> None:
        screen = self.screen
        try:
            await work
        except CoopeError as exc:
            # Plain words, never markup: messages can hold names people chose.
            self.notify(exc.message, title="coope", severity="error", markup=False)
        except Exception as exc:
            if not screen.is_attached:
                return  # the screen went away under the work (quitting): nothing to tell
            # A bug of ours: said, logged, never a traceback on screen.
            log.exception("a worker failed")
            self.notify(f"Something went wrong: {exc}", title="coope", severity="error")

    def _say(self, words: str) -> None:
        self.notify(words, title="coope", markup=False)

    # --- signing in ---------------------------------------------------------------------------

    def on_sign_in_screen_login_wanted(self, event: SignInScreen.LoginWanted) -> None:
        self.run_worker(self._sign_in(event), exit_on_error=False)

    async def _sign_in(self, event: SignInScreen.LoginWanted) -> None:
        client = CoopeClient(event.server)
        try:
            session = await client.auth.login(event.username, event.password)
            login = Login(client.server, session.user.username, session.token, self.profile)
            self.profiles.save(login)
        except CoopeError as exc:
            await client.aclose()
            if isinstance(self.screen, SignInScreen):
                self.screen.show_error(exc.message)
            return
        await self._start(client)

    async def on_sign_in_screen_saved_chosen(self, event: SignInScreen.SavedChosen) -> None:
        await self._start(CoopeClient(event.login.server, event.login.token))

    # --- what widgets ask for -----------------------------------------------------------------

    def on_sidebar_room_chosen(self, event: Sidebar.RoomChosen) -> None:
        if self.session is not None:
            self.spawn(self.session.open_room(event.room_id), group="room")

    def on_sidebar_friend_chosen(self, event: Sidebar.FriendChosen) -> None:
        if self.session is not None:
            self.spawn(self.session.open_direct(event.username), group="room")

    def on_sidebar_page_chosen(self, event: Sidebar.PageChosen) -> None:
        self._to_pages(event)  # opened live, for editing (`coope.tui.pages`)

    def on_chat_view_send_wanted(self, event: ChatView.SendWanted) -> None:
        if self.session is not None:
            self.spawn(self.session.send(event.room_id, event.body, event.reply_to))

    def on_chat_view_direct_send_wanted(self, event: ChatView.DirectSendWanted) -> None:
        if self.session is not None:
            self.spawn(self.session.send_direct(event.username, event.body))

    def on_chat_view_edit_wanted(self, event: ChatView.EditWanted) -> None:
        if self.session is not None:
            self.spawn(self.session.edit(event.message_id, event.body))

    def on_chat_view_typing(self, event: ChatView.Typing) -> None:
        if self.session is not None:
            self.spawn(self.session.say_typing(event.room_id), group="typing")

    def on_message_log_older_wanted(self, event: MessageLog.OlderWanted) -> None:
        if self.session is not None:
            self.spawn(self.session.older(), group="older")

    def on_message_log_asked(self, event: MessageLog.Asked) -> None:
        session, message = self.session, event.message
        if session is None:
            return
        if event.action == "delete":

            def delete(yes: bool | None) -> None:
                if yes:
                    self.spawn(session.delete(message.id))

            self.push_screen(ConfirmScreen("Delete this message?"), delete)
        elif event.action == "react":

            def react(emoji: str | None) -> None:
                if emoji:
                    self.spawn(session.react(message, emoji))

            self.push_screen(EmojiPicker(), react)

    def on_friends_screen_opened(self, event: FriendsScreen.Opened) -> None:
        if self.people is None:
            return
        if self.people.state is not None:
            self._people_changed(self.people.state)
        self.spawn(self.people.load(), group="people")

    def on_friends_screen_action_wanted(self, event: FriendsScreen.ActionWanted) -> None:
        if self.people is not None:
            self.spawn(self.people.act(event.action, event.username))

    def on_friends_screen_status_wanted(self, event: FriendsScreen.StatusWanted) -> None:
        if self.people is not None:
            self.spawn(self.people.set_status(event.state, event.text))

    def _people_changed(self, state: PeopleState) -> None:
        """The request count in the sidebar, and the friends screen if it is open."""
        for screen in self.screen_stack:
            if isinstance(screen, MainScreen):
                screen.sidebar.show_request_count(len(state.incoming))
            elif isinstance(screen, FriendsScreen):
                screen.show(state)

    # --- rooms: search, new group room, members -----------------------------------------------

    def action_room_search(self) -> None:
        """Search the room on screen, or every room (/)."""
        from coope.tui.room_search import RoomSearchScreen

        session = self.session
        if session is None or not isinstance(self.screen, MainScreen):
            return
        room = session.screen.chat.room if session.screen.view == "room" else None
        search = RoomSearchScreen(room, session.rooms.by_id)
        self.push_screen(search, session.room_actions.open_at)

    def action_new_room(self) -> None:
        """Invitations to you, and a new group room (n)."""
        from coope.tui.room_new import NewRoomScreen

        session = self.session
        if session is None or not isinstance(self.screen, MainScreen):
            return
        actions = session.room_actions
        friends = session.friends.ordered()
        self.push_screen(NewRoomScreen(friends, actions.invites, actions.invites_changed))

    def action_room_members(self) -> None:
        """The members of the room on screen (u)."""
        from coope.tui.room_members import MembersScreen

        session = self.session
        if session is None or not isinstance(self.screen, MainScreen):
            return
        room = session.screen.chat.room
        if room is None or session.screen.view != "room":
            self._say("Open a room first: u shows its members.")
            return
        friends = session.friends.by_name
        self.push_screen(MembersScreen(room, session.me, friends, session.room_changed))

    def on_chat_view_search_wanted(self, event: ChatView.SearchWanted) -> None:
        if self.session is not None:
            work = self.session.room_actions.search(event.screen, event.query, event.room_id)
            self.spawn(work, group="search")

    def on_chat_view_room_create_wanted(self, event: ChatView.RoomCreateWanted) -> None:
        if self.session is not None:
            self.spawn(self.session.room_actions.create(event.name, event.members))

    def on_chat_view_invite_answered(self, event: ChatView.InviteAnswered) -> None:
        if self.session is not None:
            actions = self.session.room_actions
            answer = actions.accept if event.accept else actions.decline
            self.spawn(answer(event.room_id))

    def on_chat_view_members_change_wanted(self, event: ChatView.MembersChangeWanted) -> None:
        if self.session is not None:
            self.spawn(self.session.room_actions.change(event.action, event.room_id, event.text))

    # --- pages: editing and page actions --------------------------------------------------------

    if TYPE_CHECKING:  # imported when first used: `coope tui` starts without it
        from coope.tui.pages import Pages

    _pages: Pages | None = None  # the session's pages controller

    def _to_pages(self, message: object) -> None:
        """Hand what the page view, page tree, page search or trash asks for to the pages
        controller (made for the session on first use)."""
        from coope.tui.pages import Pages

        session = self.session
        if session is None:
            return
        pages = self._pages
        if pages is None or pages.session is not session:
            if pages is not None:
                pages.stop()
            pages = Pages(session, self.spawn, self._say, self.push_screen_wait, self.suspend)
            pages.start()
            self._pages = pages
        pages.handle(message)

    on_page_view_text_edited = on_page_view_toggle_wanted = on_page_view_add_wanted = _to_pages
    on_page_view_retype_wanted = on_page_view_move_wanted = on_page_view_delete_wanted = _to_pages
    on_page_view_editor_wanted = on_page_action = _to_pages
    on_search_screen_query_changed = on_trash_screen_opened = _to_pages
    on_trash_screen_action_wanted = _to_pages

    @staticmethod
    def _page_key_rows() -> list[KeyRow]:
        from coope.tui.page_view import key_rows as page_key_rows

        return page_key_rows()

    # --- calls ------------------------------------------------------------------------------------

    _calls: CallControl | None = None  # the session's, made on first use

    def on_call_asked(self, event: CallAsked) -> None:
        """j, m and b on the main screen, and the call bar's button."""
        from coope.tui.call_control import CallControl

        session = self.session
        if session is None:
            return
        calls = self._calls
        if calls is None or calls.session is not session:  # signed in again: a new client
            if calls is not None:
                self.spawn(calls.aclose())
            calls = self._calls = CallControl.of_app(self, session, self.call_audio)
        calls.on_asked(event)

    async def action_quit(self) -> None:
        """Quit (Ctrl+Q). While the notes bot is at work, asked first: quitting stops it
        before the notes are written (what it recorded stays on disk)."""
        question = self._calls.quit_question() if self._calls is not None else None
        if question is None:
            self.exit()
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit()

        self.push_screen(ConfirmScreen(question), answered)

    # --- keys ---------------------------------------------------------------------------------

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.key_rows()))

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.theme == "textual-dark" else "textual-dark"

    @staticmethod
    def key_rows() -> list[KeyRow]:
        """Every binding, for the help screen."""
        return [
            *key_rows("Everywhere", CoopeApp.BINDINGS),
            *key_rows("Main screen", MainScreen.BINDINGS),
            # --- rooms ---
            *ChatView.dialog_key_rows(),
            # --- pages ---
            *CoopeApp._page_key_rows(),
            # --- calls ---
            *key_rows("Friends screen (f)", FriendsScreen.BINDINGS),
            *LIST_KEYS,
            *key_rows("Messages (the selected one)", MessageLog.BINDINGS),
            *key_rows("Composer", Composer.BINDINGS),
            *key_rows("Sign-in", SignInScreen.BINDINGS),
        ]


def _out_of_the_collectors_sight() -> None:
    """Move what exists by the app's mount (the modules, classes and caches of Textual, Rich,
    pydantic and the client: nearly all the process holds, and all of it lives as long as the
    app) out of the garbage collector's sight. A full collection walks every tracked object, and
    over all of that it stalled drawing by up to 100 ms (the draw p99 of
    `scripts/bench_tui.py`). Garbage is collected first, so that none of it is kept for good."""
    gc.collect()
    gc.freeze()
