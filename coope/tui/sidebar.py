"""`Sidebar`: rooms with unread badges, friends with presence dots, workspaces and their pages.

It draws what it is handed (`show_rooms`, `show_friends`, `show_request_count`, `show_pages`) and
says what the person picked: `RoomChosen`, `FriendChosen` or `PageChosen`.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import OptionList, Tree
from textual.widgets.option_list import Option
from textual.widgets.tree import TreeNode

from coope.client.names import room_label
from coope.core.models import PresenceState
from coope.core.rules import visible
from coope.core.social_schemas import FriendOut, RoomOut
from coope.core.workspace_schemas import PageOut, WorkspaceOut

DOTS = {
    PresenceState.ONLINE: ("●", "green"),
    PresenceState.AWAY: ("●", "yellow"),
    PresenceState.OFFLINE: ("○", "grey50"),
}


def room_prompt(room: RoomOut) -> Text:
    text = Text(visible(room_label(room)), style="bold" if room.unread else "")
    if room.unread:
        text.append(f" {room.unread if room.unread < 100 else '99+'}", style="reverse red")
    return text


def friend_prompt(friend: FriendOut) -> Text:
    dot, color = DOTS.get(friend.presence.state, ("?", "grey50"))
    text = Text()
    text.append(dot, style=color)
    text.append(f" {visible(friend.user.username)}")
    if friend.presence.text:
        text.append(f" {visible(friend.presence.text)}", style="dim italic")
    return text


class RoomList(OptionList):
    """Rooms; option ids are `room-<id>`."""


class FriendList(OptionList):
    """Friends; option ids are `friend-<username>`."""


class PageTree(Tree[int | None]):
    """Workspaces (data None) and their pages (data: the page id)."""


class Sidebar(Vertical):
    class RoomChosen(Message):
        def __init__(self, room_id: int) -> None:
            super().__init__()
            self.room_id = room_id

    class FriendChosen(Message):
        def __init__(self, username: str) -> None:
            super().__init__()
            self.username = username

    class PageChosen(Message):
        def __init__(self, page_id: int) -> None:
            super().__init__()
            self.page_id = page_id

    def compose(self) -> ComposeResult:
        rooms = RoomList(id="rooms")
        rooms.border_title = "Rooms"
        friends = FriendList(id="friends")
        friends.border_title = "Friends"
        pages = PageTree("Workspaces", id="pages")
        pages.border_title = "Pages"
        pages.show_root = False
        yield rooms
        yield friends
        yield pages

    # --- attributes down ---------------------------------------------------------------------

    def show_rooms(self, rooms: list[RoomOut], current: int | None) -> None:
        room_list = self.query_one(RoomList)
        # While the person moves through the list, the cursor stays where they put it (a badge
        # changing must not pull it back to the room on screen); otherwise it marks that room.
        keep = None if room_list.has_focus or current is None else f"room-{current}"
        _refill(room_list, [Option(room_prompt(r), id=f"room-{r.id}") for r in rooms], keep)

    def show_friends(self, friends: list[FriendOut]) -> None:
        _refill(
            self.query_one(FriendList),
            [Option(friend_prompt(f), id=f"friend-{f.user.username}") for f in friends],
        )

    def show_request_count(self, count: int) -> None:
        """Friend requests to you waiting for an answer, in the Friends box's title."""
        waiting = f" · {count} request{'' if count == 1 else 's'}" if count else ""
        self.query_one(FriendList).border_title = f"Friends{waiting}"

    def show_pages(self, trees: list[tuple[WorkspaceOut, list[PageOut]]]) -> None:
        tree = self.query_one(PageTree)
        tree.clear()
        for workspace, pages in trees:
            # Text, not str: a tree reads a str label as markup, and names are what people typed.
            node = tree.root.add(Text(visible(workspace.name)), data=None, expand=True)
            children: dict[int | None, list[PageOut]] = {}
            for page in pages:
                children.setdefault(page.parent_id, []).append(page)
            _add_pages(node, children, None)

    # --- messages up -------------------------------------------------------------------------

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        option_id = event.option.id or ""
        if option_id.startswith("room-"):
            self.post_message(self.RoomChosen(int(option_id.removeprefix("room-"))))
        elif option_id.startswith("friend-"):
            self.post_message(self.FriendChosen(option_id.removeprefix("friend-")))

    def on_tree_node_selected(self, event: Tree.NodeSelected[int | None]) -> None:
        event.stop()
        if event.node.data is not None:
            self.post_message(self.PageChosen(event.node.data))


def _add_pages(
    node: TreeNode[int | None], children: dict[int | None, list[PageOut]], parent_id: int | None
) -> None:
    for page in sorted(children.get(parent_id, []), key=lambda p: p.position):
        label = Text(visible(f"{page.icon} {page.title}" if page.icon else f"📄 {page.title}"))
        if page.id in children:
            child = node.add(label, data=page.id, expand=True)
            _add_pages(child, children, page.id)
        else:
            node.add_leaf(label, data=page.id)


def _refill(options: OptionList, new: list[Option], keep: str | None = None) -> None:
    """Replace the options, keeping the highlighted one (or `keep`) highlighted."""
    highlighted = options.highlighted_option
    wanted = keep or (highlighted.id if highlighted is not None else None)
    options.set_options(new)
    ids = [o.id for o in new]
    if wanted in ids:
        options.highlighted = ids.index(wanted)
