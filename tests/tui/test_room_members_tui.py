"""Group rooms in the TUI: a new room with friends (n), its members (u: add, remove, rename,
leave) and invitations to you answered from the TUI, each seen by the others' clients."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from textual.widgets import Input, OptionList, SelectionList, Static

from coope.client import CoopeClient
from coope.client.profiles import Profiles
from coope.core.social_schemas import RoomOut
from coope.tui.app import CoopeApp
from coope.tui.dialogs import ConfirmScreen
from coope.tui.room_members import MembersScreen
from coope.tui.room_new import InviteList, NewRoomScreen
from tests.daemon.social_helpers import befriend, group_room
from tests.helpers import RunningDaemon
from tests.tui.conftest import SIZE, lines, main_screen, shows, tui, until


@pytest.fixture
async def carol(daemon: RunningDaemon, bob: CoopeClient) -> AsyncIterator[CoopeClient]:
    async with await daemon.user("carol") as client:
        yield client


async def room_names(client: CoopeClient) -> set[str]:
    return {room.name for room in await client.chat.rooms()}


def errors(app: CoopeApp) -> list[str]:
    return [n.message for n in app._notifications if n.severity == "error"]


def members_screen(app: CoopeApp) -> MembersScreen:
    assert isinstance(app.screen, MembersScreen), app.screen
    return app.screen


async def test_a_new_group_room_with_two_friends(
    daemon: RunningDaemon,
    alice: CoopeClient,
    bob: CoopeClient,
    carol: CoopeClient,
    profiles: Profiles,
) -> None:
    await befriend(alice, bob)
    await befriend(alice, carol)
    app = tui(daemon, alice, profiles)
    async with app.run_test(size=SIZE) as pilot:
        screen = main_screen(pilot)
        await until(
            pilot,
            lambda: len(app.session.friends.by_name) == 2 if app.session else False,
            "friends",
        )
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, NewRoomScreen), "the new-room dialog")
        dialog = app.screen
        assert not dialog.query_one(InviteList).display  # no invitations to show
        await pilot.press(*"plans")
        await pilot.press("tab")  # to the friends: pick both
        picks = dialog.query_one(SelectionList)
        assert picks.has_focus
        await pilot.press("space", "down", "space")
        assert sorted(picks.selected) == ["bob", "carol"]
        dialog.query_one("#new-room-name", Input).focus()
        await pilot.press("enter")
        chat = screen.chat
        await until(pilot, lambda: chat.room is not None and chat.room.name == "plans", "opened")
        assert app.screen is screen
        assert "plans" in await room_names(bob) and "plans" in await room_names(carol)
        assert chat.room is not None
        assert {m.username for m in chat.room.members} == {"alice", "bob", "carol"}
        title = chat.query_one("#room-title", Static)
        assert "#plans  3 members" in str(title.render())


async def test_members_add_remove_rename_and_leave(
    daemon: RunningDaemon,
    alice: CoopeClient,
    bob: CoopeClient,
    carol: CoopeClient,
    profiles: Profiles,
) -> None:
    team = await group_room(alice, "team", [bob])
    await befriend(alice, carol)
    app = tui(daemon, alice, profiles)
    async with app.run_test(size=SIZE) as pilot:
        screen = main_screen(pilot)
        await until(pilot, lambda: screen.chat.room is not None, "#team open")
        await until(
            pilot,
            lambda: app.session is not None and "carol" in app.session.friends.by_name,
            "friends",
        )
        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, MembersScreen), "the members")
        members = members_screen(app)
        listed = members.query_one("#members", OptionList)
        assert lines(listed)[0].endswith("alice (you) admin")
        assert shows(listed, "bob")

        # Add carol (a friend: she joins at once), picked by the first letters and →.
        await pilot.press("a", "c", "a", "right", "enter")
        await until(pilot, lambda: shows(listed, "carol"), "carol listed")
        assert team.id in {r.id for r in await carol.chat.rooms()}

        # Remove bob, after the question.
        listed.highlighted = next(i for i, line in enumerate(lines(listed)) if "bob" in line)
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("y")
        await until(pilot, lambda: not shows(listed, "bob"), "bob gone from the list")
        assert team.id not in {r.id for r in await bob.chat.rooms()}

        # Rename: the box starts with the name now.
        await pilot.press("r")
        box = members.query_one("#members-input", Input)
        assert box.value == "team"
        box.value = "crew"
        await pilot.press("enter")
        title = screen.chat.query_one("#room-title", Static)
        await until(pilot, lambda: str(title.render()).startswith("#crew"), "renamed on screen")
        assert "crew" in await room_names(carol)
        assert "#crew" in str(members.query_one("#members-title", Static).render())

        # Leave: asked first; no is no.
        await pilot.press("l")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("n")
        await until(pilot, lambda: app.screen is members, "still in")
        assert team.id in {r.id for r in await alice.chat.rooms()}
        await pilot.press("l")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("y")
        await until(pilot, lambda: app.screen is screen, "the dialog closed")
        rooms = screen.sidebar.query_one("#rooms", OptionList)
        await until(pilot, lambda: not shows(rooms, "#crew"), "gone from the sidebar")
        assert screen.view == "welcome"
        assert team.id not in {r.id for r in await alice.chat.rooms()}
        assert {m.username for m in (await carol.chat.room(team.id)).members} == {"carol"}
        assert errors(app) == []


async def test_an_invitation_arrives_live_and_is_accepted(
    daemon: RunningDaemon, alice: CoopeClient, bob: CoopeClient, profiles: Profiles
) -> None:
    app = tui(daemon, alice, profiles)
    async with app.run_test(size=SIZE) as pilot:
        screen = main_screen(pilot)
        rooms = screen.sidebar.query_one("#rooms", OptionList)
        # The invitation comes as an event: only once the TUI's live connection is up.
        await until(
            pilot, lambda: app.client is not None and app.client.live.state == "connected", "live"
        )
        # bob is no friend of alice's: she is invited, not added.
        room = await bob.chat.create_room("garden", ["alice"])
        assert room.invited == ["alice"]
        await until(pilot, lambda: "1 invite" in str(rooms.border_title), "the count")
        await until(
            pilot,
            lambda: any("invites you to #garden" in n.message for n in app._notifications),
            "told",
        )
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, NewRoomScreen), "the dialog")
        invites = app.screen.query_one(InviteList)
        assert invites.has_focus and lines(invites) == ["#garden from bob"]
        await pilot.press("n")  # a second n (the key that opened the dialog) declines nothing
        await pilot.pause()
        assert isinstance(app.screen, NewRoomScreen) and lines(invites) == ["#garden from bob"]
        await pilot.press("y")
        chat = screen.chat
        await until(pilot, lambda: chat.room is not None and chat.room.id == room.id, "opened")
        await until(pilot, lambda: str(rooms.border_title) == "Rooms", "the count cleared")
        joined = await bob.chat.room(room.id)
        assert {m.username for m in joined.members} == {"alice", "bob"}

        # A second one, withdrawn by its inviter: the count follows.
        other = await bob.chat.create_room("shed", ["alice"])
        await until(pilot, lambda: "1 invite" in str(rooms.border_title), "the count again")
        await bob.chat.remove_member(other.id, "alice")
        await until(pilot, lambda: str(rooms.border_title) == "Rooms", "withdrawn")


async def test_a_member_who_is_not_admin_cannot_remove_and_is_told_plainly(
    daemon: RunningDaemon,
    alice: CoopeClient,
    bob: CoopeClient,
    carol: CoopeClient,
    profiles: Profiles,
) -> None:
    room: RoomOut = await group_room(bob, "bobs", [alice, carol])
    app = tui(daemon, alice, profiles)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = main_screen(pilot)
        await until(pilot, lambda: screen.chat.room is not None, "the room open")
        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, MembersScreen), "the members")
        listed = members_screen(app).query_one("#members", OptionList)
        assert lines(listed)[0].endswith("bob admin")
        listed.highlighted = next(i for i, line in enumerate(lines(listed)) if "carol" in line)
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("y")
        await until(pilot, lambda: bool(errors(app)), "a notification")
        assert errors(app) == ["only the room's admin can do that"]
        assert {m.username for m in (await bob.chat.room(room.id)).members} == {
            "alice",
            "bob",
            "carol",
        }
