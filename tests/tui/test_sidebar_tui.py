"""The sidebar live: friends' presence and status, and a page opened from the page tree."""

from __future__ import annotations

from textual.widgets import OptionList, Tree

from coope.client import CoopeClient
from coope.client.profiles import Profiles
from coope.tui.page_blocks import BlockList
from tests.daemon.social_helpers import befriend, group_room
from tests.helpers import RunningDaemon
from tests.tui.conftest import SIZE, lines, main_screen, shows, tui, until


async def test_a_friend_s_presence_dot_changes_live(
    daemon: RunningDaemon, alice: CoopeClient, bob: CoopeClient, profiles: Profiles
) -> None:
    await befriend(alice, bob)
    app = tui(daemon, alice, profiles)
    async with app.run_test(size=SIZE) as pilot:
        friends = main_screen(pilot).sidebar.query_one("#friends", OptionList)
        await until(pilot, lambda: lines(friends) == ["○ bob"], "bob offline")

        await bob.live.connect()
        await until(pilot, lambda: lines(friends) == ["● bob"], "bob online")
        await bob.presence.set("away", "at lunch")
        await until(pilot, lambda: lines(friends) == ["● bob away: at lunch"], "bob's status")
        assert "yellow" in str(friends.options[0].prompt.spans)  # type: ignore[union-attr]
        # The dot tells online (green) from away (yellow).

        await bob.live.aclose()
        await until(pilot, lambda: lines(friends)[0].startswith("○ bob"), "bob offline again")


async def test_a_page_s_content_is_shown_as_markdown(
    daemon: RunningDaemon, alice: CoopeClient, profiles: Profiles
) -> None:
    # Brackets in names are text, not markup to be read (and dropped).
    workspace = await alice.workspaces.create("Notes [team]")
    parent = await alice.pages.create(workspace.id, "Plans")
    await alice.pages.create(
        workspace.id, "Roadmap [draft]", parent_id=parent.id, markdown="# Q3\n\n- ship the TUI\n"
    )
    app = tui(daemon, alice, profiles)
    async with app.run_test(size=SIZE) as pilot:
        screen = main_screen(pilot)
        tree: Tree[int | None] = screen.sidebar.query_one("#pages", Tree)

        def labels() -> list[str]:
            found: list[str] = []
            stack = list(tree.root.children)
            while stack:
                node = stack.pop(0)
                found.append(str(node.label))
                stack[:0] = list(node.children)
            return found

        wanted = ["Notes [team]", "📄 Plans", "📄 Roadmap [draft]"]
        await until(pilot, lambda: labels() == wanted, "the tree")
        await pilot.press("3")
        for _ in range(3):  # Notes, Plans, Roadmap
            await pilot.press("down")
        await until(
            pilot,
            lambda: (
                tree.cursor_node is not None
                and tree.cursor_node.data is not None
                and str(tree.cursor_node.label) == "📄 Roadmap [draft]"
            ),
            "Roadmap under the cursor",
        )
        await pilot.press("enter")
        await until(pilot, lambda: screen.view == "page", "the page view")
        blocks = screen.page.query_one(BlockList)
        await until(pilot, lambda: lines(blocks) == ["Q3", "• ship the TUI"], "the content")
        assert "Roadmap [draft]" in str(screen.page.query_one("#page-title").render())


async def test_the_room_list_cursor_stays_put_while_badges_change(
    daemon: RunningDaemon, alice: CoopeClient, bob: CoopeClient, profiles: Profiles
) -> None:
    team = await group_room(alice, "team", [bob])
    other = await group_room(alice, "other", [bob])
    await bob.chat.send(team.id, "to team")  # the latest room: the one opened at start
    app = tui(daemon, alice, profiles)
    async with app.run_test(size=SIZE) as pilot:
        screen = main_screen(pilot)
        rooms = screen.sidebar.query_one("#rooms", OptionList)
        await until(pilot, lambda: screen.chat.room is not None, "a room opened")
        assert screen.chat.room is not None and screen.chat.room.id == team.id
        await pilot.press("1")
        rooms.highlighted = next(i for i, line in enumerate(lines(rooms)) if "#other" in line)
        # Badges move while the person is on #other: a message in #other, one in the room shown.
        await bob.chat.send(other.id, "to other")
        await bob.chat.send(team.id, "to team again")
        await until(pilot, lambda: any(line == "#other 1" for line in lines(rooms)), "badge")
        await until(pilot, lambda: shows(screen.chat.message_log, "to team again"), "live")
        highlighted = rooms.highlighted_option
        assert highlighted is not None and highlighted.id == f"room-{other.id}"
