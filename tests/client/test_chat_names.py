"""The names people give rooms, invitations and friends, resolved by the client against a real
daemon: `@user`, `#name` (any case), ids, ambiguity, and input meant to break them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from coope.client import CoopeClient
from coope.client.names import room_label
from coope.core.errors import Conflict, CoopeError, InvalidInput, NotFound
from tests.daemon.social_helpers import befriend, group_room
from tests.helpers import RunningDaemon

People = tuple[CoopeClient, CoopeClient]


@pytest.fixture
async def people(daemon: RunningDaemon, alice: CoopeClient) -> AsyncIterator[People]:
    """bob and carol, signed up after alice (so neither is the admin), nobody's friends yet."""
    async with await daemon.user("bob") as bob, await daemon.user("carol") as carol:
        yield bob, carol


async def test_at_user_is_the_direct_room_made_by_the_first_message(
    alice: CoopeClient, people: People
) -> None:
    bob, _ = people
    await befriend(alice, bob)
    with pytest.raises(NotFound, match="no direct room with bob"):
        await alice.chat.resolve("@bob")

    sent = await alice.chat.send_to(" @bob ", "hello")
    room = await alice.chat.resolve("@bob")
    assert (room.id, room_label(room)) == (sent.room_id, "@bob")
    theirs = await bob.chat.resolve("@ alice")
    assert (theirs.id, room_label(theirs)) == (room.id, "@alice")
    # A direct room is no group room: `#bob` does not name it.
    with pytest.raises(NotFound, match="no room called #bob"):
        await alice.chat.resolve("#bob")


async def test_hash_name_is_a_group_room_of_yours_in_any_case_and_ids_work_too(
    alice: CoopeClient, people: People
) -> None:
    bob, carol = people
    team = await group_room(alice, "Team", [bob])

    for name in ("#team", "#TEAM", "  # Team  ", str(team.id), f"#{team.id}", f"0{team.id}"):
        assert (await bob.chat.resolve(name)).id == team.id, name
    assert room_label(team) == "#Team"
    sent = await bob.chat.send_to("#team", "in the team")
    assert sent.room_id == team.id

    with pytest.raises(NotFound, match="no room called #team"):
        await carol.chat.resolve("#team")
    with pytest.raises(NotFound, match=f"no room {team.id}"):
        await carol.chat.resolve(str(team.id))
    with pytest.raises(NotFound, match="no room called #team"):
        await carol.chat.send_to("#team", "let me in")


async def test_a_room_name_means_one_room_for_everyone(alice: CoopeClient, people: People) -> None:
    bob, carol = people
    first = await group_room(alice, "plans", [bob])
    # Group room names are unique on the daemon (any case), so no name can fit two rooms.
    with pytest.raises(Conflict, match="already a room called #Plans"):
        await group_room(alice, "Plans", [])
    with pytest.raises(Conflict):
        await carol.chat.create_room("PLANS")
    for client in (alice, bob):
        assert (await client.chat.resolve("#PLANS")).id == first.id
    with pytest.raises(NotFound, match="no room called #plans"):
        await carol.chat.resolve("#plans")  # it exists, but not for her


async def test_invitations_by_name_or_id(alice: CoopeClient, people: People) -> None:
    bob, carol = people
    # carol is nobody's friend: she is invited rather than added.
    later = await alice.chat.create_room("Later", ["carol"])
    again = await alice.chat.create_room("again", ["carol"])
    other = await alice.chat.create_room("other", ["carol"])
    assert later.invited == ["carol"]

    assert (await carol.chat.resolve_invite("#other")).room_id == other.id
    assert (await carol.chat.resolve_invite(" OTHER ")).room_id == other.id
    assert (await carol.chat.resolve_invite(str(later.id))).room_name == "Later"
    assert (await carol.chat.resolve_invite(f"#{again.id}")).room_id == again.id
    assert (await carol.chat.resolve_invite("#later")).room_id == later.id

    await carol.chat.accept_invite(other.id)
    with pytest.raises(NotFound, match="no invitation to #other"):
        await carol.chat.resolve_invite("#other")
    with pytest.raises(NotFound, match="no invitation"):
        await bob.chat.resolve_invite(str(later.id))  # invitations are the invited person's


async def test_a_friend_by_username_with_presence(alice: CoopeClient, people: People) -> None:
    bob, carol = people
    await befriend(alice, bob)

    friend = await alice.friends.get("@Bob")
    assert (friend.user.username, friend.presence.state.value) == ("bob", "offline")
    with pytest.raises(NotFound, match="carol is not your friend"):
        await alice.friends.get("carol")
    with pytest.raises(InvalidInput, match="name a friend"):
        await alice.friends.get(" @ ")


ROOM_NAMES_REFUSED = ["", "   ", "#", "@", "@  ", "team", "١٢", "²", "\x00", "#x\x00"]
IDS_NO_ROOM_HAS = ["0", "#0", "9" * 19, "9" * 20, "9" * 5000]


@pytest.mark.parametrize("target", ROOM_NAMES_REFUSED + IDS_NO_ROOM_HAS + ["@b\x00b", "@" * 999])
async def test_hostile_room_names_end_in_a_clear_error(alice: CoopeClient, target: str) -> None:
    with pytest.raises(CoopeError) as raised:
        await alice.chat.resolve(target)
    assert isinstance(raised.value, InvalidInput | NotFound), raised.value
    if target in IDS_NO_ROOM_HAS:
        assert isinstance(raised.value, NotFound) and "no room" in raised.value.message
    if target.strip() in ("", "#", "@", "team"):
        assert isinstance(raised.value, InvalidInput)
        assert "name a room as @user, #room or its id" in raised.value.message


@pytest.mark.parametrize("target", ["", "#", " # ", "\x00", "9" * 5000, "0", "#" + "a" * 10_000])
async def test_hostile_invitation_names_end_in_a_clear_error(
    alice: CoopeClient, target: str
) -> None:
    with pytest.raises(CoopeError) as raised:
        await alice.chat.resolve_invite(target)
    expected = InvalidInput if target.strip() in ("", "#") else NotFound
    assert type(raised.value) is expected, raised.value
