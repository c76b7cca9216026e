"""Room invitations: only friends are put into a group room directly; anyone else is invited and
gets nothing of the room (messages, unread counts, typing, search) until they accept."""

from __future__ import annotations

import aiohttp
import pytest

from coope.client import CoopeClient
from coope.core.errors import Forbidden, NotFound
from coope.core.events import RoomIdData
from coope.core.models import RoomRole
from coope.core.social_schemas import RoomOut
from tests.daemon.social_helpers import (
    assert_none_within,
    befriend,
    next_matching,
    of_type,
)
from tests.helpers import RunningDaemon, next_event


def members(room: RoomOut) -> dict[str, RoomRole]:
    return {m.username: m.role for m in room.members}


async def test_a_stranger_named_at_creation_is_invited_not_added(
    daemon: RunningDaemon, alice: CoopeClient, bob: CoopeClient, carol: CoopeClient
) -> None:
    """The reported attack: a stranger's `POST /rooms {"members": [...]}` made people members."""
    await befriend(alice, bob)
    async with carol.events() as carol_events, bob.events() as bob_events:
        room = await alice.chat.create_room("team", ["bob", "carol"])
        assert members(room) == {"alice": RoomRole.ADMIN, "bob": RoomRole.MEMBER}
        assert room.invited == ["carol"]
        assert (await next_event(bob_events, "room.joined")).data.invited == ["carol"]

        invited = await next_event(carol_events, "room.invited", "room.joined")
        assert invited.type == "room.invited"
        assert (invited.data.room_id, invited.data.room_name) == (room.id, "team")
        assert invited.data.invited_by.username == "alice"
        assert invited.data.user.username == "carol"

        message = await alice.chat.send(room.id, "before carol")
        await bob.chat.send(room.id, "still before")
        async with alice.events() as alice_events:
            await alice_events.send({"type": "typing", "room_id": room.id})
            await assert_none_within(
                carol_events, of_type("message.created", "typing", "room.joined", "room.read")
            )
    # Nothing of the room reaches carol: no list entry, no unread count, no history, no search.
    assert await carol.chat.rooms() == []
    for call in (
        carol.chat.room(room.id),
        carol.chat.history(room.id),
        carol.chat.send(room.id, "let me in"),
        carol.chat.react(message.id, "👍"),
    ):
        with pytest.raises(NotFound):
            await call
    assert await carol.chat.search("before") == []

    mine = await carol.chat.invites()
    assert [(i.room_id, i.invited_by.username) for i in mine.incoming] == [(room.id, "alice")]
    assert mine.outgoing == []
    theirs = await alice.chat.invites()
    assert [(i.room_id, i.user.username) for i in theirs.outgoing] == [(room.id, "carol")]
    assert (await bob.chat.room(room.id)).invited == ["carol"]  # members see who is invited

    # The raw REST route answers the same way (no client-side filtering involved).
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            daemon.url + "/api/v1/rooms",
            json={"name": "raw", "members": ["carol"]},
            headers={"Authorization": f"Bearer {alice.token}"},
        ) as response,
    ):
        assert response.status == 201
        body = await response.json()
    assert body["invited"] == ["carol"]
    assert [m["username"] for m in body["members"]] == ["alice"]


async def test_accepting_joins_and_declining_leaves_no_trace(
    alice: CoopeClient, bob: CoopeClient, carol: CoopeClient
) -> None:
    room = await alice.chat.create_room("team", ["carol"])
    other = await alice.chat.create_room("other", ["carol"])
    await alice.chat.send(room.id, "hello")
    async with carol.events() as carol_events, alice.events() as alice_events:
        joined = await carol.chat.accept_invite(room.id)
        assert members(joined) == {"alice": RoomRole.ADMIN, "carol": RoomRole.MEMBER}
        assert (joined.invited, joined.unread) == ([], 1)
        assert (await next_event(carol_events, "room.joined")).data.id == room.id
        update = await next_matching(
            alice_events, lambda e: e.type == "room.updated" and e.data.id == room.id
        )
        assert (len(update.data.members), update.data.invited) == (2, [])
        # Now a member, carol gets the room live.
        sent = await alice.chat.send(room.id, "welcome")
        live = await next_event(carol_events, "message.created")
        assert live.data.id == sent.id

        await carol.chat.decline_invite(other.id)
        uninvited = await next_event(carol_events, "room.uninvited")
        assert uninvited.data == RoomIdData(room_id=other.id)
        update = await next_matching(
            alice_events, lambda e: e.type == "room.updated" and e.data.id == other.id
        )
        assert update.data.invited == []
    assert [m.body for m in (await carol.chat.history(room.id)).messages] == ["hello", "welcome"]
    assert [r.id for r in await carol.chat.rooms()] == [room.id]
    assert (await carol.chat.invites()).incoming == []
    assert (await alice.chat.invites()).outgoing == []
    for call in (
        carol.chat.accept_invite(other.id),  # declined
        carol.chat.accept_invite(room.id),  # already used
        carol.chat.decline_invite(room.id),
        bob.chat.accept_invite(999_999),
    ):
        with pytest.raises(NotFound):
            await call


async def test_adding_later_invites_strangers_once_and_adds_friends_directly(
    alice: CoopeClient, bob: CoopeClient, carol: CoopeClient
) -> None:
    room = await alice.chat.create_room("team")
    async with carol.events() as carol_events:
        invited = await alice.chat.add_member(room.id, "carol")
        assert (set(members(invited)), invited.invited) == ({"alice"}, ["carol"])
        assert (await next_event(carol_events, "room.invited")).data.room_id == room.id
        again = await alice.chat.add_member(room.id, "@Carol")
        assert again.invited == ["carol"]
        await assert_none_within(carol_events, of_type("room.invited", "room.joined"))

        # Once they are friends, adding her again puts her in directly; the invitation is spent.
        await befriend(alice, carol)
        added = await alice.chat.add_member(room.id, "carol")
        assert (set(members(added)), added.invited) == ({"alice", "carol"}, [])
        assert (await next_event(carol_events, "room.joined")).data.id == room.id
    assert (await carol.chat.invites()).incoming == []

    # Only the admin invites; an ordinary member cannot, even someone who is their friend.
    await befriend(carol, bob)
    with pytest.raises(Forbidden):
        await carol.chat.add_member(room.id, "bob")
    assert (await bob.chat.invites()).incoming == []


async def test_the_admin_withdraws_an_invitation(alice: CoopeClient, carol: CoopeClient) -> None:
    room = await alice.chat.create_room("team", ["carol"])
    async with carol.events() as carol_events:
        after = await alice.chat.remove_member(room.id, "carol")
        assert after is None  # the REST answer is empty either way
        uninvited = await next_event(carol_events, "room.uninvited")
        assert uninvited.data == RoomIdData(room_id=room.id)
    assert (await alice.chat.room(room.id)).invited == []
    assert (await carol.chat.invites()).incoming == []
    with pytest.raises(NotFound):
        await carol.chat.accept_invite(room.id)
    with pytest.raises(NotFound):
        await alice.chat.remove_member(room.id, "carol")  # nothing left to withdraw


async def test_an_invitation_ends_when_its_inviter_leaves_the_room(
    alice: CoopeClient, bob: CoopeClient, carol: CoopeClient
) -> None:
    await befriend(alice, bob)
    room = await alice.chat.create_room("team", ["bob", "carol"])  # bob added, carol invited
    async with carol.events() as carol_events:
        await alice.chat.leave(room.id)
        uninvited = await next_event(carol_events, "room.uninvited")
        assert uninvited.data == RoomIdData(room_id=room.id)
    assert (await carol.chat.invites()).incoming == []
    with pytest.raises(NotFound):
        await carol.chat.accept_invite(room.id)
    assert [m.username for m in (await bob.chat.room(room.id)).members] == ["bob"]
    assert (await bob.chat.room(room.id)).invited == []


async def test_blocking_ends_an_invitation(alice: CoopeClient, carol: CoopeClient) -> None:
    room = await alice.chat.create_room("team", ["carol"])
    await carol.friends.block("alice")
    assert (await carol.chat.invites()).incoming == []
    assert (await alice.chat.invites()).outgoing == []
    assert (await alice.chat.room(room.id)).invited == []
    with pytest.raises(NotFound):
        await carol.chat.accept_invite(room.id)
    with pytest.raises(Forbidden):
        await alice.chat.add_member(room.id, "carol")
    assert [m.username for m in (await alice.chat.room(room.id)).members] == ["alice"]


async def test_a_direct_room_needs_friends_and_has_no_invitations(
    alice: CoopeClient, carol: CoopeClient
) -> None:
    async with carol.events() as carol_events:
        with pytest.raises(Forbidden) as refused:
            await alice.chat.send_direct("carol", "hi stranger")
        assert "friends" in refused.value.message
        await assert_none_within(carol_events, of_type("room.invited", "room.joined"))
    assert await carol.chat.rooms() == []
    assert (await carol.chat.invites()).incoming == []
