"""The command palette (Ctrl+K or Ctrl+P): rooms, friends, pages and actions by fuzzy name."""

from __future__ import annotations

from collections.abc import Callable

from textual.command import CommandList, CommandPalette, DiscoveryHit, Hit
from textual.pilot import Pilot

from coope.client import CoopeClient
from coope.client.profiles import Profiles
from coope.core.models import RoomKind
from coope.tui.page_blocks import BlockList
from tests.daemon.social_helpers import befriend, group_room
from tests.helpers import RunningDaemon
from tests.tui.conftest import SIZE, lines, main_screen, tui, until

Wanted = Callable[[DiscoveryHit | Hit], bool]


def hit_is(text: str, about: str | None = None) -> Wanted:
    """The hit showing `text` (and `about` under it, when given)."""
    return lambda hit: hit.text == text and about in (None, hit.help)


async def run_from_palette(
    pilot: Pilot[None], query: str, wanted: Wanted, key: str = "ctrl+k"
) -> str:
    """Open the palette with `key`, type `query`, run the one hit that is `wanted`; return how
    it was shown."""
    app = pilot.app
    await pilot.press(key)
    await until(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette open")
    palette = app.screen
    await pilot.press(*query)
    commands = palette.query_one(CommandList)

    def found() -> int | None:
        hits = [option.hit for option in commands.options]  # type: ignore[attr-defined]
        return next((i for i, hit in enumerate(hits) if wanted(hit)), None)

    def settled() -> bool:
        # Every search done (the pages come last): the list will not be redrawn under us.
        searching = [w for w in app.workers if w.node is palette and not w.is_finished]
        return found() is not None and not searching

    await until(pilot, settled, f"the hit for {query!r}")
    index = found()
    assert index is not None
    shown = str(commands.get_option_at_index(index).prompt)
    commands.highlighted = index
    await pilot.press("enter")
    await until(pilot, lambda: not isinstance(app.screen, CommandPalette), "the palette closed")
    return shown


async def test_a_room_found_by_part_of_its_name_opens(
    daemon: RunningDaemon, alice: CoopeClient, bob: CoopeClient, profiles: Profiles
) -> None:
    await group_room(alice, "team", [bob])
    await group_room(bob, "other", [alice])  # the latest: the one shown first
    app = tui(daemon, alice, profiles)
    async with app.run_test(size=SIZE) as pilot:
        chat = main_screen(pilot).chat

        def shown() -> str | None:
            return None if chat.room is None else chat.room.name

        await until(pilot, lambda: shown() == "other", "#other shown first")
        await run_from_palette(pilot, "tem", hit_is("#team"))
        await until(pilot, lambda: shown() == "team", "#team shown")
        assert main_screen(pilot).view == "room"

        # Ctrl+K opens the palette even from the composer, whose own Ctrl+K it takes over.
        await pilot.press("c", "ctrl+k")
        await until(
            pilot, lambda: isinstance(app.screen, CommandPalette), "the palette over the composer"
        )


async def test_with_nothing_typed_everything_is_offered(
    daemon: RunningDaemon, alice: CoopeClient, bob: CoopeClient, profiles: Profiles
) -> None:
    await group_room(alice, "team", [bob])  # bob becomes a friend
    workspace = await alice.workspaces.create("Team")
    await alice.pages.create(workspace.id, "Plans")
    app = tui(daemon, alice, profiles)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: main_screen(pilot).chat.room is not None, "#team shown")
        await pilot.press("ctrl+k")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette open")
        commands = app.screen.query_one(CommandList)
        wanted = {"#team", "@bob", "Team/Plans", "Help", "AI chat", "Rooms"}

        def offered() -> set[str]:
            return {str(option.hit.text) for option in commands.options}  # type: ignore[attr-defined]

        await until(pilot, lambda: wanted <= offered(), "rooms, friends, pages and actions")


async def test_a_friend_opens_the_direct_room(
    daemon: RunningDaemon, alice: CoopeClient, bob: CoopeClient, profiles: Profiles
) -> None:
    await befriend(alice, bob)
    await bob.chat.send_direct("alice", "lunch?")
    await group_room(alice, "team", [bob])  # the latest: the one shown first
    app = tui(daemon, alice, profiles)
    async with app.run_test(size=SIZE) as pilot:
        chat = main_screen(pilot).chat
        await until(pilot, lambda: chat.room is not None, "#team shown first")
        # bob is one entry, a friend with the direct room's unread count.
        friend = hit_is("@bob", "Friend · offline · 1 unread")
        await run_from_palette(pilot, "bob", friend, key="ctrl+p")
        await until(
            pilot,
            lambda: chat.room is not None and chat.room.kind is RoomKind.DM,
            "the direct room shown",
        )
        assert chat.room is not None and chat.room.name == "bob"


async def test_a_page_by_part_of_its_path_opens(
    daemon: RunningDaemon, alice: CoopeClient, profiles: Profiles
) -> None:
    workspace = await alice.workspaces.create("Team")
    plans = await alice.pages.create(workspace.id, "Plans")
    # Brackets in a title are words, not markup: the palette shows them as written.
    await alice.pages.create(workspace.id, "Q3 [draft]", parent_id=plans.id, markdown="ship it")
    app = tui(daemon, alice, profiles)
    async with app.run_test(size=SIZE) as pilot:
        screen = main_screen(pilot)
        shown = await run_from_palette(pilot, "plans/q3", hit_is("Team/Plans/Q3 [draft]"))
        assert shown.startswith("Team/Plans/Q3 [draft]")
        await until(pilot, lambda: screen.view == "page", "the page view")
        blocks = screen.page.query_one(BlockList)
        await until(pilot, lambda: lines(blocks) == ["ship it"], "the page's content")


async def test_an_action_runs(
    daemon: RunningDaemon, alice: CoopeClient, profiles: Profiles
) -> None:
    app = tui(daemon, alice, profiles)
    async with app.run_test(size=SIZE) as pilot:
        main_screen(pilot)
        assert app.theme == "textual-dark"
        # Ours ("Light/dark", Ctrl+T) stands apart from Textual's own "Theme" picker.
        await run_from_palette(pilot, "light", hit_is("Light/dark", "Key Ctrl+t"))
        await until(pilot, lambda: app.theme == "textual-light", "the light theme")
