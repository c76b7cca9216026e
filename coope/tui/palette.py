"""`CoopeCommands`: the command palette's entries (Ctrl+P or Ctrl+K), found by fuzzy name.

Every room (`#team`), every friend (`@alice`: the direct room with them), every page by its
title path (`Team/Plans/Q3`) and every key's action of the app and of the screen the palette
was opened over. Rooms and friends are what the session holds already; pages are
fetched once per opening, in the background, so the rest shows at once. Choosing a room, friend
or page posts the sidebar's own message, so it opens exactly as a pick in the sidebar would.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from textual.binding import Binding, BindingType
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.dom import DOMNode
from textual.fuzzy import Matcher
from textual.markup import escape
from textual.message import Message
from textual.screen import Screen
from textual.style import Style

from coope.client.names import PageEntry, room_label
from coope.core.errors import CoopeError
from coope.core.models import RoomKind
from coope.core.rules import visible
from coope.core.social_schemas import RoomOut
from coope.tui.help import key_rows
from coope.tui.session import Session
from coope.tui.sidebar import Sidebar

NOT_OFFERED = {"command_palette"}  # the palette is open already


@dataclass(frozen=True)
class Entry:
    """One thing the palette offers: `text` is what is matched and shown (plain, never markup:
    names are other people's words), `help` the line under it (markup)."""

    text: str
    help: str
    run: Callable[[], object]


class CoopeCommands(Provider):
    """Rooms, friends, pages and actions for the command palette."""

    def __init__(self, screen: Screen[Any], match_style: Style | None = None) -> None:
        super().__init__(screen, match_style)
        self._pages: asyncio.Task[list[PageEntry]] | None = None

    @property
    def session(self) -> Session | None:
        """The signed-in session; None on the sign-in screen (then only actions are offered)."""
        session = getattr(self.app, "session", None)
        return session if isinstance(session, Session) else None

    async def startup(self) -> None:
        if self.session is not None:
            self._pages = asyncio.create_task(self._fetch_pages(self.session))

    async def shutdown(self) -> None:
        if self._pages is not None:
            self._pages.cancel()

    async def _fetch_pages(self, session: Session) -> list[PageEntry]:
        client = session.client
        try:
            return await client.pages.entries(await client.workspaces.list())
        except CoopeError as exc:
            self.app.notify(f"Pages: {exc.message}", title="coope", severity="error")
            return []

    async def discover(self) -> Hits:
        async for entry in self._entries():
            yield DiscoveryHit(Content(entry.text), entry.run, text=entry.text, help=entry.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        async for entry in self._entries():
            score = matcher.match(entry.text)
            if score > 0:
                shown = _highlighted(matcher, entry.text)
                yield Hit(score, shown, entry.run, text=entry.text, help=entry.help)

    async def _entries(self) -> AsyncIterator[Entry]:
        """Rooms, friends and actions, then the pages once they have come."""
        for entry in self._held_entries():
            yield entry
        if self._pages is not None:
            # Shielded: a new keystroke cancels this search, never the one fetch they share.
            for page in await asyncio.shield(self._pages):
                yield Entry(visible(page.path), "Page", partial(self._open_page, page.page.id))

    def _held_entries(self) -> Iterator[Entry]:
        session = self.session
        if session is not None:
            rooms = session.rooms.ordered()
            friends = session.friends.ordered()
            # A friend and the direct room with them are one entry: `@bob`, opening that room.
            direct = {room.name: room for room in rooms if room.kind is RoomKind.DM}
            befriended = {friend.user.username for friend in friends}
            for room in rooms:
                if room.kind is not RoomKind.DM or room.name not in befriended:
                    about = "Direct room" if room.kind is RoomKind.DM else "Room"
                    run = partial(self._open_room, room.id)
                    yield Entry(visible(room_label(room)), about + _unread(room), run)
            for friend in friends:
                name = friend.user.username
                about = f"Friend · {friend.presence.state.value}"
                dm = direct.get(name)
                if dm is None:
                    yield Entry(visible(f"@{name}"), about, partial(self._open_direct, name))
                else:
                    yield Entry(
                        visible(f"@{name}"), about + _unread(dm), partial(self._open_room, dm.id)
                    )
        yield from self._actions(self.app, self.app.BINDINGS)
        yield from self._actions(self.screen, self.screen.BINDINGS)

    def _actions(self, node: DOMNode, bindings: Iterable[BindingType]) -> Iterator[Entry]:
        """One entry per action of `node`'s bindings, with every key that runs it."""
        keys: dict[str, list[str]] = {}
        described: dict[str, str] = {}
        for entry in bindings:
            binding = entry if isinstance(entry, Binding) else Binding(*entry)
            if binding.action in NOT_OFFERED:
                continue
            ((_, shown_keys, description),) = key_rows("", [binding])
            keys.setdefault(binding.action, []).append(shown_keys)
            described.setdefault(binding.action, description)
        for action, description in described.items():
            run = partial(self.app.run_action, action, node)
            yield Entry(description, escape(f"Key {', '.join(keys[action])}"), run)

    def _post(self, message: Message) -> None:
        """Say what was chosen as the sidebar says it: the app opens it the same way."""
        if self.session is not None:
            self.session.screen.sidebar.post_message(message)

    def _open_room(self, room_id: int) -> None:
        self._post(Sidebar.RoomChosen(room_id))

    def _open_direct(self, username: str) -> None:
        self._post(Sidebar.FriendChosen(username))

    def _open_page(self, page_id: int) -> None:
        self._post(Sidebar.PageChosen(page_id))


def _unread(room: RoomOut) -> str:
    return f" · {room.unread} unread" if room.unread else ""


def _highlighted(matcher: Matcher, text: str) -> Content:
    """`text` with the matched letters marked: `Matcher.highlight` would read it as markup."""
    content = Content(text)
    _, offsets = matcher.fuzzy_search.match(matcher.query, text)
    for offset in offsets:
        content = content.stylize(matcher.match_style, offset, offset + 1)
    return content
