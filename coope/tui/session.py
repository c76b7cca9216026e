"""`Session`: everything the main screen shows, fetched and kept live through the client.

This is where the TUI does its I/O. The app runs each coroutine here as a worker (`spawn`),
which turns a `CoopeError` into a notification; the session hands what it learned down to the
screen's widgets. Live updates come from the one connection of the client (`client.live`):
callbacks for the sidebar (badges, presence, rooms joined and left, typing) and one room feed
for the room on screen, which resumes after a reconnect with nothing missed.

The room on screen is held as a window (`Timeline`, at most `state.WINDOW` messages): scrolling
past either end fetches the page there and drops as many at the other end; a live message
arriving while the newest are not in the window waits to be fetched with them.
"""

from __future__ import annotations

import time

from textual.signal import Signal

from coope.client import ConnectionState, CoopeClient
from coope.client.feeds import Handle
from coope.client.names import room_label
from coope.core.errors import NotFound
from coope.core.events import (
    FriendAccepted,
    FriendRemoved,
    MessageCreated,
    PresenceEvent,
    RoomJoined,
    RoomLeft,
    RoomRead,
    RoomUpdated,
    TypingEvent,
)
from coope.core.rules import visible
from coope.core.social_schemas import MessageOut, RoomOut
from coope.tui.call_rooms import LiveCalls
from coope.tui.main_screen import MainScreen
from coope.tui.room_actions import RoomActions
from coope.tui.state import Friends, Rooms, Timeline
from coope.tui.work import Spawn

TYPING_EVERY_S = 3.0  # we say we are typing at most this often
TYPING_SHOWN_S = 6.0  # someone else's "typing" shows this long after their last one
PAGE_SIZE = 50


class Session:
    def __init__(self, client: CoopeClient, screen: MainScreen, spawn: Spawn) -> None:
        self.client = client
        self.screen = screen
        self.spawn = spawn
        self.me = ""
        self.rooms = Rooms()
        self.friends = Friends()
        self.timeline = Timeline()
        self.typing: dict[str, float] = {}
        self._typing_sent = 0.0
        self._loading_older = False
        self._loading_newer = False
        self._newest_seen = 0  # the room's newest message as far as we know: the window's goal
        self._was_connected = False
        self._handles: list[Handle] = []
        self._newer_wanted: Signal[None] | None = None
        self._left: int | None = None  # a room we left ourselves: no "no longer in" notice
        # A room changed (its name, members, invited people) or, with None, we are out of it:
        # for the dialogs that show one (`room_members.py`).
        self.room_changed: Signal[tuple[int, RoomOut | None]] = Signal(screen, "room-changed")
        self.room_actions = RoomActions(self, self._say)
        self.live_calls = LiveCalls(client, spawn, lambda _: self._rooms_changed())

    # --- start --------------------------------------------------------------------------------

    async def start(self) -> None:
        self.me = (await self.client.auth.whoami()).user.username
        live = self.client.live
        self._handles = [
            live.on_state(self._state_changed),
            live.on(MessageCreated, self._message_created),
            live.on((RoomRead, RoomJoined, RoomUpdated, RoomLeft), self._room_event),
            live.on(PresenceEvent, self._presence),
            live.on((FriendAccepted, FriendRemoved), lambda e: self.spawn(self.load_friends())),
            live.on(TypingEvent, self._typing),
        ]
        self.room_actions.start()
        self.live_calls.start()
        self._newer_wanted = self.screen.chat.message_log.newer_wanted
        self._newer_wanted.subscribe(self.screen, lambda _: self.spawn(self.newer(), "newer"))
        await self.load_rooms()
        await self.load_friends()
        await self.load_pages()
        ordered = self.rooms.ordered()
        if ordered and self.rooms.shown is None:
            self.spawn(self.open_room(ordered[0].id), group="room")

    def stop(self) -> None:
        """No more live updates: the screen is going away."""
        for handle in self._handles:
            handle.unsubscribe()
        self._handles.clear()
        self.room_actions.stop()
        self.live_calls.stop()
        if self._newer_wanted is not None:
            self._newer_wanted.unsubscribe(self.screen)

    async def load_rooms(self) -> None:
        self.rooms.replace(await self.client.chat.rooms())
        self._rooms_changed()

    async def load_friends(self) -> None:
        self.friends.replace(await self.client.friends.list())
        self.screen.sidebar.show_friends(self.friends.ordered())

    async def load_pages(self) -> None:
        trees = [
            (ws, await self.client.pages.tree(ws.id)) for ws in await self.client.workspaces.list()
        ]
        self.screen.sidebar.show_pages(trees)

    # --- the room on screen -------------------------------------------------------------------

    async def open_room(self, room_id: int, at: int | None = None) -> None:
        """Show a room (its latest page of history, or the messages around seq `at` with that
        one selected), mark it read, then follow it until another room is opened (the worker
        is cancelled) or we leave it."""
        room = await self.client.chat.room(room_id)
        self._left = None
        self.timeline = Timeline()
        size = self._page_size()
        if at is None:
            page = await self.client.chat.history(room_id, limit=size)
            self.timeline.add_older(page.messages, page.has_more)
        else:
            # The window moves to `at`: half a page up to it, half after; the rest is paged in
            # as the person scrolls either way.
            up_to = await self.client.chat.history(room_id, before=at + 1, limit=size // 2 + 1)
            after = await self.client.chat.history(room_id, after=at, limit=size // 2 + 1)
            self.timeline.add_older(up_to.messages, up_to.has_more)
            self.timeline.add_newer(after.messages, after.has_more)
        self.rooms.put(room)
        self.rooms.shown = room_id
        self._newest_seen = self.timeline.newest_seq or 0
        self.typing.clear()
        chat = self.screen.chat
        chat.open(room, self.me, self.timeline, select=at)
        self.screen.show_view("room")
        if at is not None:
            chat.message_log.focus()
        self._rooms_changed()
        if room.last_read_seq < room.last_seq:
            await self.client.chat.mark_read(room_id, room.last_seq)
        try:
            # Changes after what the room held when fetched: the history may show some of
            # them already; the timeline keeps the latest version of each.
            async for kind, message in self.client.live.room(room_id, after=room.last_seq):
                if kind == "created":
                    self._newest_seen = max(self._newest_seen, message.seq)
                self._live_change(message)
                if kind == "created" and message.author != self.me:
                    self.typing.pop(message.author, None)
                    self._show_typing()
                    self.spawn(self.client.chat.mark_read(room_id, message.seq), group="read")
        except NotFound:
            if self._left != room_id:
                self._say(f"You are no longer in {visible(room_label(room))}.")
            self.rooms.shown = None
            self.screen.show_view("welcome")

    def _live_change(self, message: MessageOut) -> None:
        """Draw a change in the window; at the window's size, drop the end away from the
        selection (the oldest while following the newest, else the newest, fetched again)."""
        log = self.screen.chat.message_log
        if not self.timeline.put(message):
            return  # outside the window: fetched in its latest version when it comes back
        at_end = log.at_end
        log.changed(message)
        if self.timeline.full:
            if at_end:
                self.timeline.drop_oldest()
            else:
                self.timeline.drop_newest()
            log.trimmed(follow=at_end)

    def _page_size(self) -> int:
        # A page at most half the window, so that adding one never drops what is on screen.
        return max(1, min(PAGE_SIZE, self.timeline.window // 2))

    async def older(self) -> None:
        """The page before the window (the newest beyond the window then leave it)."""
        oldest = self.timeline.oldest_seq
        room_id = self.rooms.shown
        if self._loading_older or oldest is None or room_id is None:
            return
        self._loading_older = True
        try:
            page = await self.client.chat.history(room_id, before=oldest, limit=self._page_size())
        finally:
            self._loading_older = False
        if room_id != self.rooms.shown or oldest != self.timeline.oldest_seq:
            return
        self.timeline.add_older(page.messages, page.has_more)
        self.screen.chat.message_log.older_added()

    async def newer(self) -> None:
        """The page after the window (the oldest beyond the window then leave it)."""
        newest = self.timeline.newest_seq
        room_id = self.rooms.shown
        if self._loading_newer or newest is None or room_id is None or not self.timeline.has_newer:
            return
        self._loading_newer = True
        try:
            page = await self.client.chat.history(room_id, after=newest, limit=self._page_size())
        finally:
            self._loading_newer = False
        if room_id != self.rooms.shown or newest != self.timeline.newest_seq:
            return
        # A message the live feed brought may be newer than what the page saw: still more.
        caught_up = max([newest, *(m.seq for m in page.messages)]) >= self._newest_seen
        self.timeline.add_newer(page.messages, page.has_more or not caught_up)
        self.screen.chat.message_log.newer_added()

    async def open_direct(self, username: str) -> None:
        """The direct room with a friend; with none yet, an empty chat whose first message
        makes it (`send_direct`)."""
        try:
            room = await self.client.chat.direct_room(username)
        except NotFound:
            if username not in self.friends.by_name:
                raise
            self.rooms.shown = None
            self.typing.clear()
            self.screen.chat.open_draft(username, self.me)
            self.screen.show_view("room")
            self._rooms_changed()
            return
        self.rooms.put(room)
        await self.open_room(room.id)

    # --- what the person does -------------------------------------------------------------------

    async def send(self, room_id: int, body: str, reply_to: int | None) -> None:
        await self.client.chat.send(room_id, body, reply_to=reply_to)

    async def send_direct(self, username: str, body: str) -> None:
        """The first message to a friend, which makes the direct room: then show that room
        (unless another was opened meanwhile). Not itself in the "room" group: opening another
        room must not cancel a message on its way."""
        message = await self.client.chat.send_direct(username, body)
        await self.load_rooms()
        if self.screen.chat.draft_to == username:
            self.spawn(self.open_room(message.room_id), group="room")

    async def edit(self, message_id: int, body: str) -> None:
        await self.client.chat.edit(message_id, body)

    async def delete(self, message_id: int) -> None:
        await self.client.chat.delete(message_id)

    async def react(self, message: MessageOut, emoji: str) -> None:
        given = self.me in message.reactions.get(emoji, [])
        await self.client.chat.react(message.id, emoji, remove=given)

    async def say_typing(self, room_id: int) -> None:
        now = time.monotonic()
        if now - self._typing_sent < TYPING_EVERY_S:
            return
        self._typing_sent = now
        await self.client.live.send({"type": "typing", "room_id": room_id})

    # --- live callbacks (on the connection's task: no waiting here) -----------------------------

    def _state_changed(self, state: ConnectionState) -> None:
        banner = self.screen.banner
        if state == "connected":
            if self._was_connected:  # back after a drop: badges and presence may have moved
                self.spawn(self.load_rooms())
                self.spawn(self.load_friends())
            self._was_connected = True
        if state != "closed" or self._was_connected:
            banner.state = state

    def _message_created(self, event: MessageCreated) -> None:
        message = event.data
        if message.room_id not in self.rooms.by_id:
            self.spawn(self.load_rooms())  # a direct room made by a friend's first message
        elif self.rooms.message_created(message, self.me):
            self._rooms_changed()

    def _room_event(self, event: RoomRead | RoomJoined | RoomUpdated | RoomLeft) -> None:
        if isinstance(event, RoomRead):
            self.rooms.read(event.data)
        elif isinstance(event, RoomLeft):
            self.rooms.remove(event.data.room_id)
            self.room_changed.publish((event.data.room_id, None))
        else:
            self.put_room(event.data)
            return
        self._rooms_changed()

    def _rooms_changed(self) -> None:
        rooms, shown = self.rooms.ordered(), self.rooms.shown
        self.screen.sidebar.show_rooms(rooms, shown, self.live_calls.rooms)

    def put_room(self, room: RoomOut) -> None:
        """A room as the daemon has it now (renamed, members changed): shown where it is."""
        self.rooms.put(room)
        if room.id == self.rooms.shown:
            self.screen.chat.show_title(room)
        self.room_changed.publish((room.id, room))
        self._rooms_changed()

    def left(self, room_id: int) -> None:
        """We left the room (here): its feed ends, with no notice (the leaving said so)."""
        self._left = room_id
        self.rooms.remove(room_id)
        self.room_changed.publish((room_id, None))
        self._rooms_changed()

    def show_invite_count(self, count: int) -> None:
        self.screen.sidebar.show_invite_count(count)

    def _say(self, words: str) -> None:
        self.screen.notify(words, title="coope", markup=False)

    def _presence(self, event: PresenceEvent) -> None:
        if self.friends.presence(event.data):
            self.screen.sidebar.show_friends(self.friends.ordered())

    def _typing(self, event: TypingEvent) -> None:
        if event.data.room_id != self.rooms.shown or event.data.user == self.me:
            return
        self.typing[event.data.user] = time.monotonic()
        self._show_typing()
        self.screen.set_timer(TYPING_SHOWN_S, self._show_typing)

    def _show_typing(self) -> None:
        now = time.monotonic()
        for name, since in list(self.typing.items()):
            if now - since >= TYPING_SHOWN_S - 0.05:
                del self.typing[name]
        self.screen.chat.show_typing(sorted(self.typing))
