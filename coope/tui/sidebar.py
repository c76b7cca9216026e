"""`Sidebar`: rooms with unread badges, friends with presence dots, workspaces and their pages.

It draws what it is handed (`show_rooms`, `show_friends`, `show_request_count`, `show_pages`) and
says what the person picked: `RoomChosen`, `FriendChosen` or `PageChosen`. On the page tree,
keys ask for page actions (`PageAction`): a new page, rename, move, to the trash.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import OptionList, Tree
from textual.widgets.option_list import Option
from textual.widgets.tree import TreeNode

from coope.client.names import room_label
from coope.core.models import PresenceState
from coope.core.presence import status_words
from coope.core.rules import visible
from coope.core.social_schemas import FriendOut, RoomOut
from coope.core.workspace_schemas import PageOut, WorkspaceOut
from coope.tui.call_rooms import call_mark
from coope.tui.page_actions import PageAction

DOTS = {
    PresenceState.ONLINE: ("●", "green"),
    PresenceState.AWAY: ("●", "yellow"),
    PresenceState.OFFLINE: ("○", "grey50"),
}


def room_prompt(room: RoomOut, in_call: bool = False) -> Text:
    text = Text(visible(room_label(room)), style="bold" if room.unread else "")
    if in_call:
        text.append(call_mark())
    if room.unread:
        text.append(f" {room.unread if room.unread < 100 else '99+'}", style="reverse red")
    return text


def friend_prompt(friend: FriendOut) -> Text:
    dot, color = DOTS.get(friend.presence.state, ("?", "grey50"))
    text = Text()
    text.append(dot, style=color)
    text.append(f" {visible(friend.user.username)}")
    # The chosen status shows whatever the connection: "○ bob busy: in a review".
    for i, (words, style) in enumerate(status_words(friend.presence)):
        text.append(f"{' ' if i == 0 else ''}{words}", style=f"dim {style}".strip())
    return text


class _PickList(OptionList):
    """A list to pick from: focused with nothing under the cursor, the first is (so that
    Enter right after 1 or 2 opens something instead of doing nothing)."""

    def on_focus(self) -> None:
        if self.highlighted is None and self.option_count:
            self.highlighted = 0


class RoomList(_PickList):
    """Rooms; option ids are `room-<id>`."""


class FriendList(_PickList):
    """Friends; option ids are `friend-<username>`."""


class PageTree(Tree[int | None]):
    """Workspaces (data None) and their pages (data: the page id)."""

    BINDINGS = [
        Binding("n", "page('new')", "New page"),
        Binding("r", "page('rename')", "Rename"),
        Binding("M", "page('move')", "Move"),
        Binding("x", "page('archive')", "To trash"),
    ]

    def __init__(self, label: str, *, id: str | None = None) -> None:
        super().__init__(label, id=id)
        self.workspace_of: dict[int, int] = {}  # tree node id -> its workspace's id

    def action_page(self, action: str) -> None:
        """`action` on the page under the cursor ("new": a page under it, or at the top of
        the workspace under the cursor)."""
        node = self.cursor_node
        if node is None or node.id not in self.workspace_of:
            self.notify("Pick a workspace or a page first.")
            return
        if node.data is None and action != "new":
            self.notify("Pick a page first (n makes one in this workspace).")
            return
        self.post_message(PageAction(action, node.data, self.workspace_of[node.id]))

    def select_page(self, page_id: int) -> None:
        """Put the cursor on a page (opening its parents)."""
        found = _find(self.root, page_id)
        if found is None:
            return
        parent = found.parent
        while parent is not None:
            parent.expand()
            parent = parent.parent
        self.put_cursor(found)

    def put_cursor(self, node: TreeNode[int | None]) -> None:
        """`move_cursor` for a node just added or shown: the tree lays out its lines first
        (until then such a node has no line, and the cursor would go nowhere)."""
        if self.last_line >= 0:
            self.move_cursor(node)


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

    def show_rooms(
        self, rooms: list[RoomOut], current: int | None, in_call: frozenset[int] = frozenset()
    ) -> None:
        """The rooms, latest first; `in_call`: those with a call going on (marked)."""
        room_list = self.query_one(RoomList)
        # While the person moves through the list, the cursor stays where they put it (a badge
        # changing must not pull it back to the room on screen); otherwise it marks that room.
        keep = None if room_list.has_focus or current is None else f"room-{current}"
        options = [Option(room_prompt(r, r.id in in_call), id=f"room-{r.id}") for r in rooms]
        _refill(room_list, options, keep)

    def show_invite_count(self, count: int) -> None:
        """Room invitations to you waiting for an answer, in the Rooms box's title."""
        # Short: the box is 26 columns at 80x24 (the notice that brought one says "n").
        waiting = f" · {count} invite{'' if count == 1 else 's'}" if count else ""
        self.query_one(RoomList).border_title = f"Rooms{waiting}"

    def show_friends(self, friends: list[FriendOut]) -> None:
        _refill(
            self.query_one(FriendList),
            [Option(friend_prompt(f), id=f"friend-{f.user.username}") for f in friends],
        )

    def show_request_count(self, count: int) -> None:
        """Friend requests to you waiting for an answer, in the Friends box's title."""
        waiting = f" · {count} request{'' if count == 1 else 's'}" if count else ""
        self.query_one(FriendList).border_title = f"Friends{waiting}"

    def show_pages(self, trees: Sequence[tuple[WorkspaceOut, list[PageOut]]]) -> None:
        """Workspaces and their pages; the cursor stays on the page (or workspace) it was on,
        and folded pages stay folded."""
        tree = self.query_one(PageTree)
        cursor = tree.cursor_node
        keep = (cursor.data, tree.workspace_of.get(cursor.id)) if cursor is not None else None
        folded = _folded(tree.root)
        line = tree.cursor_line
        tree.clear()
        tree.workspace_of = {}
        for workspace, pages in trees:
            # Text, not str: a tree reads a str label as markup, and names are what people typed.
            node = tree.root.add(Text(visible(workspace.name)), data=None, expand=True)
            tree.workspace_of[node.id] = workspace.id
            children: dict[int | None, list[PageOut]] = {}
            for page in pages:
                children.setdefault(page.parent_id, []).append(page)
            _add_pages(node, children, None, folded, tree.workspace_of, workspace.id)
        if keep is None:
            return
        page_id, workspace_id = keep
        found = (
            _find(tree.root, page_id)
            if page_id is not None
            else next(
                (n for n in tree.root.children if tree.workspace_of[n.id] == workspace_id), None
            )
        )
        if found is not None:
            tree.put_cursor(found)
        elif line >= 0:
            tree.cursor_line = min(line, tree.last_line)

    def select_page(self, page_id: int) -> None:
        self.query_one(PageTree).select_page(page_id)

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
    node: TreeNode[int | None],
    children: dict[int | None, list[PageOut]],
    parent_id: int | None,
    folded: set[int],
    workspace_of: dict[int, int],
    workspace_id: int,
) -> None:
    for page in sorted(children.get(parent_id, []), key=lambda p: p.position):
        label = Text(visible(f"{page.icon} {page.title}" if page.icon else f"📄 {page.title}"))
        if page.id in children:
            child = node.add(label, data=page.id, expand=page.id not in folded)
            _add_pages(child, children, page.id, folded, workspace_of, workspace_id)
        else:
            child = node.add_leaf(label, data=page.id)
        workspace_of[child.id] = workspace_id


def _find(node: TreeNode[int | None], page_id: int) -> TreeNode[int | None] | None:
    for child in node.children:
        if child.data == page_id:
            return child
        found = _find(child, page_id)
        if found is not None:
            return found
    return None


def _folded(node: TreeNode[int | None]) -> set[int]:
    """The pages whose children the person folded away."""
    found: set[int] = set()
    for child in node.children:
        if child.data is not None and child.allow_expand and not child.is_expanded:
            found.add(child.data)
        found |= _folded(child)
    return found


def _refill(options: OptionList, new: list[Option], keep: str | None = None) -> None:
    """Replace the options, keeping the highlighted one (or `keep`) highlighted."""
    highlighted = options.highlighted_option
    wanted = keep or (highlighted.id if highlighted is not None else None)
    options.set_options(new)
    ids = [o.id for o in new]
    if wanted in ids:
        options.highlighted = ids.index(wanted)
