"""Chat: direct and group rooms, messages and their changes, live events, resuming, search."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from coope.client import CoopeClient, EventStream
from coope.core.errors import Conflict, CoopeError, Forbidden, InvalidInput, NotFound
from coope.core.events import Event, RoomIdData, TypingData
from coope.core.models import RoomKind, RoomRole
from coope.core.social_schemas import MessageOut, ReadOut, RoomOut
from tests.daemon.social_helpers import (
    assert_none_within,
    befriend,
    group_room,
    next_matching,
    of_type,
    ping,
)
from tests.helpers import next_event


@pytest.fixture
async def team(alice: CoopeClient, bob: CoopeClient, carol: CoopeClient) -> RoomOut:
    """A group room alice administers, with her friends bob and carol in it."""
    return await group_room(alice, "team", [bob, carol])


def members(room: RoomOut) -> dict[str, RoomRole]:
    return {m.username: m.role for m in room.members}


async def bodies(client: CoopeClient, room_id: int) -> list[str]:
    return [m.body for m in (await client.chat.history(room_id, limit=500)).messages]


async def created(events: EventStream, message_id: int) -> Event:
    """The `message.created` event of one message."""
    return await next_matching(
        events, lambda e: e.type == "message.created" and e.data.id == message_id
    )


# --- direct rooms ---------------------------------------------------------------------------


async def test_direct_messages_only_between_friends(alice: CoopeClient, bob: CoopeClient) -> None:
    with pytest.raises(Forbidden):
        await alice.chat.send_direct("bob", "hi")
    with pytest.raises(NotFound):
        await alice.chat.direct_room("bob")
    assert await alice.chat.rooms() == []
    assert await bob.chat.rooms() == []
    with pytest.raises(InvalidInput):
        await alice.chat.send_direct("alice", "note to self")
    with pytest.raises(NotFound):
        await alice.chat.send_direct("nobody", "hi")


async def test_direct_room_is_made_by_the_first_message_and_reused(
    alice: CoopeClient, bob: CoopeClient
) -> None:
    await befriend(alice, bob)
    with pytest.raises(NotFound):
        await alice.chat.direct_room("bob")
    async with bob.events() as bob_events:
        first = await alice.chat.send_direct("bob", "hi bob")
        got: dict[str, Event] = {}
        while len(got) < 2:
            event = await next_event(bob_events, "room.joined", "message.created")
            got[event.type] = event
        joined = got["room.joined"].data
        assert (joined.id, joined.kind, joined.name) == (first.room_id, "dm", "alice")
        assert (got["message.created"].data.id, got["message.created"].data.body) == (
            first.id,
            "hi bob",
        )

    room = await alice.chat.direct_room("bob")
    assert (room.id, room.kind, room.name) == (first.room_id, RoomKind.DM, "bob")
    assert set(members(room)) == {"alice", "bob"}
    their_view = await bob.chat.direct_room("@Alice")
    assert (their_view.id, their_view.name) == (first.room_id, "alice")

    reply = await bob.chat.send_direct("alice", "hi alice")
    again = await alice.chat.send_direct("bob", "again")
    assert reply.room_id == again.room_id == first.room_id
    assert [r.id for r in await alice.chat.rooms()] == [first.room_id]
    assert [r.id for r in await bob.chat.rooms()] == [first.room_id]
    assert await bodies(bob, first.room_id) == ["hi bob", "hi alice", "again"]
    # A direct room has no admin, members to manage, or name to change, and cannot be left.
    for call in (
        alice.chat.add_member(room.id, "root"),
        alice.chat.rename_room(room.id, "ours"),
        alice.chat.leave(room.id),
    ):
        with pytest.raises(InvalidInput):
            await call


async def test_an_ended_friendship_closes_the_direct_room(
    alice: CoopeClient, bob: CoopeClient
) -> None:
    await befriend(alice, bob)
    room_id = (await alice.chat.send_direct("bob", "hi")).room_id
    await bob.friends.remove("alice")
    for call in (alice.chat.send(room_id, "still there?"), bob.chat.send_direct("alice", "no")):
        with pytest.raises(Forbidden):
            await call
    assert await bodies(alice, room_id) == ["hi"]  # the history stays readable


async def test_a_failed_first_direct_message_makes_no_room(
    alice: CoopeClient, bob: CoopeClient
) -> None:
    await befriend(alice, bob)
    with pytest.raises(InvalidInput):
        await alice.chat.send_direct("bob", "   ")
    with pytest.raises(InvalidInput):
        await alice.chat.send_direct("bob", "hi", reply_to=999_999)
    with pytest.raises(NotFound):
        await alice.chat.direct_room("bob")
    # And the room still reaches bob's list live when it is really made.
    async with bob.events() as bob_events:
        first = await alice.chat.send_direct("bob", "hi")
        joined = await next_event(bob_events, "room.joined", timeout=1)
        assert joined.data.id == first.room_id


# --- group rooms ----------------------------------------------------------------------------


async def test_create_a_group_room(
    alice: CoopeClient, bob: CoopeClient, carol: CoopeClient
) -> None:
    await befriend(alice, bob)
    await befriend(alice, carol)
    async with bob.events() as bob_events, carol.events() as carol_events:
        room = await alice.chat.create_room("  #team  room ", ["bob", "@Carol", "alice", "bob"])
        assert (room.kind, room.name, room.last_seq, room.unread) == (
            RoomKind.GROUP,
            "team room",
            0,
            0,
        )
        assert members(room) == {
            "alice": RoomRole.ADMIN,
            "bob": RoomRole.MEMBER,
            "carol": RoomRole.MEMBER,
        }
        assert room.invited == []
        for events in (bob_events, carol_events):
            joined = await next_event(events, "room.joined")
            assert (joined.data.id, joined.data.name) == (room.id, "team room")
    assert [r.id for r in await carol.chat.rooms()] == [room.id]
    for name in ("", "   ", "#"):
        with pytest.raises(InvalidInput):
            await alice.chat.create_room(name)
    with pytest.raises(NotFound):
        await alice.chat.create_room("ghosts", ["nobody"])


async def test_only_the_admin_manages_members_and_the_name(
    alice: CoopeClient, bob: CoopeClient, carol: CoopeClient, dave: CoopeClient
) -> None:
    room = await group_room(alice, "team", [bob])
    await befriend(alice, carol)
    for call in (
        bob.chat.add_member(room.id, "carol"),
        bob.chat.remove_member(room.id, "alice"),
        bob.chat.rename_room(room.id, "bob's"),
    ):
        with pytest.raises(Forbidden):
            await call
    assert members(await alice.chat.room(room.id)) == {
        "alice": RoomRole.ADMIN,
        "bob": RoomRole.MEMBER,
    }
    assert (await bob.chat.room(room.id)).name == "team"

    async with carol.events() as carol_events, bob.events() as bob_events:
        added = await alice.chat.add_member(room.id, "carol")
        assert set(members(added)) == {"alice", "bob", "carol"}
        assert (await next_event(carol_events, "room.joined")).data.id == room.id
        renamed = await alice.chat.rename_room(room.id, "#crew")
        assert renamed.name == "crew"
        update = await next_matching(
            bob_events, lambda e: e.type == "room.updated" and e.data.name == "crew"
        )
        assert (update.data.id, len(update.data.members)) == (room.id, 3)
    assert (await carol.chat.room(room.id)).name == "crew"
    assert set(members(await alice.chat.add_member(room.id, "carol"))) == {"alice", "bob", "carol"}

    await alice.chat.remove_member(room.id, "carol")
    assert set(members(await bob.chat.room(room.id))) == {"alice", "bob"}
    with pytest.raises(NotFound):
        await alice.chat.remove_member(room.id, "dave")  # not in the room
    with pytest.raises(NotFound):
        await carol.chat.history(room.id)


async def test_blocked_users_cannot_be_put_in_a_room_together(
    alice: CoopeClient, bob: CoopeClient, carol: CoopeClient
) -> None:
    await befriend(alice, carol)
    await bob.friends.block("alice")
    with pytest.raises(Forbidden):
        await alice.chat.create_room("team", ["carol", "bob"])
    assert await alice.chat.rooms() == []
    room = await alice.chat.create_room("team", ["carol"])
    with pytest.raises(Forbidden):
        await alice.chat.add_member(room.id, "bob")
    assert set(members(await carol.chat.room(room.id))) == {"alice", "carol"}


async def test_the_leaving_admin_hands_over_to_the_longest_standing_member(
    alice: CoopeClient, bob: CoopeClient, carol: CoopeClient, dave: CoopeClient
) -> None:
    for friend in (dave, bob, carol):
        await befriend(alice, friend)
    # dave joins first although bob's account is older: seniority in the room decides.
    room = await alice.chat.create_room("team", ["dave"])
    await alice.chat.add_member(room.id, "bob")
    await alice.chat.add_member(room.id, "carol")
    await alice.chat.leave(room.id)
    assert members(await bob.chat.room(room.id)) == {
        "dave": RoomRole.ADMIN,
        "bob": RoomRole.MEMBER,
        "carol": RoomRole.MEMBER,
    }
    assert await alice.chat.rooms() == []
    with pytest.raises(NotFound):
        await alice.chat.history(room.id)
    # The new admin can do admin things at once; the others still cannot.
    with pytest.raises(Forbidden):
        await bob.chat.rename_room(room.id, "bob's")
    assert (await dave.chat.rename_room(room.id, "dave's")).name == "dave's"
    # Leaving through remove_member(self) is the same as leave().
    await dave.chat.remove_member(room.id, "dave")
    assert members(await carol.chat.room(room.id)) == {
        "bob": RoomRole.ADMIN,
        "carol": RoomRole.MEMBER,
    }


async def test_a_removed_member_stops_receiving_at_once(
    alice: CoopeClient, bob: CoopeClient, carol: CoopeClient, team: RoomOut
) -> None:
    async with bob.events() as bob_events, carol.events() as carol_events:
        before = await alice.chat.send(team.id, "before")
        await created(bob_events, before.id)
        await alice.chat.remove_member(team.id, "bob")
        assert (await next_event(bob_events, "room.left")).data == RoomIdData(room_id=team.id)
        after = await alice.chat.send(team.id, "after")
        await alice.chat.edit(before.id, "before, edited")
        await carol.chat.react(before.id, "👀")
        await created(carol_events, after.id)  # carol, still in, sees it
        await assert_none_within(bob_events, of_type("message.created", "message.updated"))
    for call in (
        bob.chat.history(team.id),
        bob.chat.changes(team.id, after=0),
        bob.chat.send(team.id, "let me back"),
        bob.chat.room(team.id),
        bob.chat.mark_read(team.id, 1),
        bob.chat.edit(before.id, "mine now"),
        bob.chat.react(before.id, "👍"),
    ):
        with pytest.raises(NotFound):
            await call
    assert await bob.chat.search("before") == []
    assert [r.id for r in await bob.chat.rooms()] == []


async def capture(call: Awaitable[Any]) -> CoopeError:
    with pytest.raises(CoopeError) as caught:
        await call
    return caught.value


async def test_a_non_member_cannot_learn_a_room_exists(
    alice: CoopeClient, carol: CoopeClient
) -> None:
    room = await alice.chat.create_room("secret")
    message = await alice.chat.send(room.id, "the plan")
    missing_room, missing_message = 999_999, 999_998

    room_calls: list[Callable[[int], Awaitable[Any]]] = [
        lambda r: carol.chat.history(r),
        lambda r: carol.chat.changes(r, after=0),
        lambda r: carol.chat.send(r, "hello?"),
        lambda r: carol.chat.room(r),
        lambda r: carol.chat.mark_read(r, 1),
        lambda r: carol.chat.search("plan", room_id=r),
        lambda r: carol.chat.leave(r),
        lambda r: carol.chat.rename_room(r, "mine"),
        lambda r: carol.chat.add_member(r, "carol"),
        lambda r: carol.chat.remove_member(r, "alice"),
    ]
    for call in room_calls:
        real, fake = await capture(call(room.id)), await capture(call(missing_room))
        assert isinstance(real, NotFound)
        assert (type(real), real.message.replace(str(room.id), "N")) == (
            type(fake),
            fake.message.replace(str(missing_room), "N"),
        )
    message_calls: list[Callable[[int], Awaitable[Any]]] = [
        lambda m: carol.chat.edit(m, "changed"),
        lambda m: carol.chat.delete(m),
        lambda m: carol.chat.react(m, "👍"),
        lambda m: carol.chat.react(m, "👍", remove=True),
    ]
    for call in message_calls:
        real, fake = await capture(call(message.id)), await capture(call(missing_message))
        assert isinstance(real, NotFound)
        assert (type(real), real.message.replace(str(message.id), "N")) == (
            type(fake),
            fake.message.replace(str(missing_message), "N"),
        )
    async with carol.events() as events:
        await events.send({"type": "typing", "room_id": room.id})
        assert (await next_event(events, "error")).data.code == "not_found"
        await events.send({"type": "message.send", "room_id": room.id, "body": "hi"})
        assert (await next_event(events, "error")).data.code == "not_found"
    assert await bodies(alice, room.id) == ["the plan"]


# --- messages -------------------------------------------------------------------------------


async def test_seq_is_strictly_increasing_per_room(
    alice: CoopeClient, bob: CoopeClient, team: RoomOut
) -> None:
    other = await alice.chat.create_room("other")
    sent = []
    for i in range(4):
        sent.append(await alice.chat.send(team.id, f"a{i}"))
        sent.append(await bob.chat.send(team.id, f"b{i}"))
        await alice.chat.send(other.id, f"o{i}")  # another room does not take team's numbers
        await alice.chat.edit(sent[-2].id, f"a{i}!")  # a change takes a number too
    seqs = [m.seq for m in sent]
    assert seqs == sorted(set(seqs))
    assert seqs[0] == 1
    history = (await bob.chat.history(team.id)).messages
    assert [(m.id, m.seq) for m in history] == [(m.id, m.seq) for m in sent]
    assert (await alice.chat.room(team.id)).last_seq == max(m.rev for m in history) == 12
    assert [m.seq for m in (await alice.chat.history(other.id)).messages] == [1, 2, 3, 4]


async def test_a_retried_send_is_stored_once(
    alice: CoopeClient, bob: CoopeClient, team: RoomOut
) -> None:
    async with bob.events() as bob_events:
        first = await alice.chat.send(team.id, "only once", client_id="c-1")
        retried = await alice.chat.send(team.id, "only once", client_id="c-1")
        assert (retried.id, retried.seq, retried.client_id) == (first.id, first.seq, "c-1")
        async with alice.events() as alice_events:
            await alice_events.send(
                {
                    "type": "message.send",
                    "room_id": team.id,
                    "body": "only once",
                    "client_id": "c-1",
                }
            )
            sent = await next_event(alice_events, "message.sent")
            assert (sent.data.client_id, sent.data.message.id) == ("c-1", first.id)
        await created(bob_events, first.id)
        await assert_none_within(bob_events, of_type("message.created"))
    assert await bodies(bob, team.id) == ["only once"]
    # Another person may use the same client id; the same person cannot reuse it elsewhere.
    assert (await bob.chat.send(team.id, "mine", client_id="c-1")).id != first.id
    other = await alice.chat.create_room("other")
    with pytest.raises(Conflict):
        await alice.chat.send(other.id, "elsewhere", client_id="c-1")
    assert await bodies(alice, other.id) == []


async def test_edit_and_delete_your_own_messages(
    alice: CoopeClient, bob: CoopeClient, team: RoomOut
) -> None:
    message = await alice.chat.send(team.id, "draft")
    assert message.edited_at is None
    edited = await alice.chat.edit(message.id, "final")
    assert (edited.id, edited.seq, edited.body) == (message.id, message.seq, "final")
    assert edited.rev > message.rev and edited.edited_at is not None

    await bob.chat.react(message.id, "👍")
    deleted = await alice.chat.delete(message.id)
    assert (deleted.deleted, deleted.body, deleted.reactions) == (True, "", {})
    assert deleted.rev > edited.rev
    (tombstone,) = (await bob.chat.history(team.id)).messages
    assert (tombstone.id, tombstone.deleted, tombstone.body, tombstone.reactions) == (
        message.id,
        True,
        "",
        {},
    )
    assert (await alice.chat.delete(message.id)).rev == deleted.rev  # deleting again: no change
    with pytest.raises(Conflict):
        await alice.chat.edit(message.id, "undead")
    with pytest.raises(Conflict):
        await bob.chat.react(message.id, "👍")


async def test_someone_elses_messages_cannot_be_changed(
    alice: CoopeClient, bob: CoopeClient, team: RoomOut
) -> None:
    message = await alice.chat.send(team.id, "mine")
    with pytest.raises(Forbidden):
        await bob.chat.edit(message.id, "mine now")
    with pytest.raises(Forbidden):
        await bob.chat.delete(message.id)
    (kept,) = (await alice.chat.history(team.id)).messages
    assert (kept.body, kept.deleted, kept.rev) == ("mine", False, message.rev)


@pytest.mark.parametrize("body", ["", " ", " \n\t ", "x" * 4001])
async def test_bad_bodies_are_invalid_input(
    alice: CoopeClient, bob: CoopeClient, team: RoomOut, body: str
) -> None:
    message = await alice.chat.send(team.id, "fine")  # bob is a friend: he is in the team
    for call in (
        alice.chat.send(team.id, body),
        alice.chat.send_direct("bob", body),
        alice.chat.edit(message.id, body),
    ):
        with pytest.raises(InvalidInput):
            await call
    async with alice.events() as events:
        await events.send({"type": "message.send", "room_id": team.id, "body": body})
        assert (await next_event(events, "error")).data.code == "invalid_input"
    assert await bodies(alice, team.id) == ["fine"]


async def test_the_longest_body_is_accepted(alice: CoopeClient, team: RoomOut) -> None:
    body = "é" * 4000
    assert (await alice.chat.send(team.id, body)).body == body
    assert await bodies(alice, team.id) == [body]


async def test_replies_stay_within_their_room(
    alice: CoopeClient, bob: CoopeClient, team: RoomOut
) -> None:
    other = await alice.chat.create_room("other")
    elsewhere = await alice.chat.send(other.id, "in other")
    question = await alice.chat.send(team.id, "question?")
    with pytest.raises(InvalidInput):
        await bob.chat.send(team.id, "answer", reply_to=elsewhere.id)
    with pytest.raises(InvalidInput):
        await bob.chat.send(team.id, "answer", reply_to=999_999)
    answer = await bob.chat.send(team.id, "answer", reply_to=question.id)
    assert answer.reply_to == question.id
    assert [(m.body, m.reply_to) for m in (await alice.chat.history(team.id)).messages] == [
        ("question?", None),
        ("answer", question.id),
    ]


async def test_reactions(
    alice: CoopeClient, bob: CoopeClient, carol: CoopeClient, team: RoomOut
) -> None:
    message = await alice.chat.send(team.id, "lunch?")
    await bob.chat.react(message.id, "👍")
    await carol.chat.react(message.id, "👍")
    latest = await alice.chat.react(message.id, ":tada:")  # a shortcode, sent as the emoji
    assert latest.reactions == {"👍": ["bob", "carol"], "🎉": ["alice"]}

    again = await bob.chat.react(message.id, "👍")  # already there: nothing changes
    assert (again.rev, again.reactions) == (latest.rev, latest.reactions)
    removed = await bob.chat.react(message.id, "👍", remove=True)
    assert removed.reactions == {"👍": ["carol"], "🎉": ["alice"]}
    assert removed.rev > latest.rev
    gone = await alice.chat.react(message.id, "🎉", remove=True)
    assert gone.reactions == {"👍": ["carol"]}
    with pytest.raises(NotFound):  # bob never reacted with it: nothing to take back
        await bob.chat.react(message.id, "🎉", remove=True)
    (shown,) = (await bob.chat.history(team.id)).messages
    assert (shown.rev, shown.reactions) == (gone.rev, {"👍": ["carol"]})
    for emoji in ("two words", "x" * 33, "lol", "👍👍"):
        with pytest.raises(InvalidInput):
            await bob.chat.react(message.id, emoji)


async def test_changes_reach_every_connection_including_the_senders_other_device(
    alice: CoopeClient, bob: CoopeClient, team: RoomOut
) -> None:
    async with (
        alice.events() as phone,
        alice.events() as laptop,
        bob.events() as bob_events,
    ):
        streams = (phone, laptop, bob_events)
        message = await alice.chat.send(team.id, "hello")
        for events in streams:
            event = await created(events, message.id)
            assert (event.seq, event.data.body) == (message.rev, "hello")

        edited = await alice.chat.edit(message.id, "hello, world")
        for events in streams:
            event = await next_event(events, "message.updated")
            assert (event.seq, event.data.rev, event.data.body) == (
                edited.rev,
                edited.rev,
                "hello, world",
            )

        reacted = await bob.chat.react(message.id, "👋")
        for events in streams:
            event = await next_event(events, "message.updated")
            assert (event.seq, event.data.reactions) == (reacted.rev, {"👋": ["bob"]})

        deleted = await alice.chat.delete(message.id)
        for events in streams:
            event = await next_event(events, "message.deleted")
            assert (event.seq, event.data.id, event.data.deleted, event.data.body) == (
                deleted.rev,
                message.id,
                True,
                "",
            )
        assert len({edited.rev, reacted.rev, deleted.rev, message.rev}) == 4


# --- history, unread, search ----------------------------------------------------------------


async def test_history_paging(alice: CoopeClient, team: RoomOut) -> None:
    sent = [await alice.chat.send(team.id, f"m{i}") for i in range(7)]
    seqs = [m.seq for m in sent]

    def page_seqs(page: Any) -> tuple[list[int], bool]:
        return [m.seq for m in page.messages], page.has_more

    assert page_seqs(await alice.chat.history(team.id)) == (seqs, False)
    assert page_seqs(await alice.chat.history(team.id, limit=3)) == (seqs[4:], True)
    assert page_seqs(await alice.chat.history(team.id, before=seqs[4], limit=3)) == (
        seqs[1:4],
        True,
    )
    assert page_seqs(await alice.chat.history(team.id, before=seqs[1], limit=3)) == (
        seqs[:1],
        False,
    )
    assert page_seqs(await alice.chat.history(team.id, after=0, limit=3)) == (seqs[:3], True)
    assert page_seqs(await alice.chat.history(team.id, after=seqs[3], limit=3)) == (
        seqs[4:],
        False,
    )
    assert page_seqs(await alice.chat.history(team.id, after=seqs[6])) == ([], False)
    assert page_seqs(await alice.chat.history(team.id, before=seqs[0])) == ([], False)
    assert page_seqs(await alice.chat.history(team.id, after=seqs[1], before=seqs[5])) == (
        seqs[2:5],
        False,
    )
    # Walking back page by page visits every message once.
    walked: list[int] = []
    before: int | None = None
    while True:
        page = await alice.chat.history(team.id, before=before, limit=2)
        walked = [m.seq for m in page.messages] + walked
        if not page.has_more:
            break
        before = page.messages[0].seq
    assert walked == seqs
    with pytest.raises(InvalidInput):
        await alice.chat.history(team.id, limit=0)


async def test_unread_counts_and_the_read_marker(
    alice: CoopeClient, bob: CoopeClient, team: RoomOut
) -> None:
    mine = await bob.chat.send(team.id, "bob first")
    theirs = [await alice.chat.send(team.id, f"alice {i}") for i in range(3)]

    async def unread(client: CoopeClient) -> tuple[int, int]:
        (room,) = [r for r in await client.chat.rooms() if r.id == team.id]
        return room.unread, room.last_read_seq

    assert await unread(bob) == (3, 0)  # his own message is not unread
    assert await unread(alice) == (1, 0)

    async with bob.events() as other_device:
        read = await bob.chat.mark_read(team.id, theirs[0].seq)
        assert (read.room_id, read.last_read_seq, read.unread) == (team.id, theirs[0].seq, 2)
        event = await next_event(other_device, "room.read")
        assert event.data == ReadOut(room_id=team.id, last_read_seq=theirs[0].seq, unread=2)
    assert await unread(bob) == (2, theirs[0].seq)
    assert (await bob.chat.room(team.id)).unread == 2

    # The marker never moves back.
    back = await bob.chat.mark_read(team.id, mine.seq)
    assert (back.last_read_seq, back.unread) == (theirs[0].seq, 2)
    assert await unread(bob) == (2, theirs[0].seq)

    # Past the end it stops at the room's last number; new messages are unread again.
    end = await bob.chat.mark_read(team.id, 10_000)
    assert (end.last_read_seq, end.unread) == (theirs[-1].seq, 0)
    newer = await alice.chat.send(team.id, "one more")
    assert await unread(bob) == (1, theirs[-1].seq)
    assert (await bob.chat.mark_read(team.id, newer.seq)).unread == 0
    assert await unread(alice) == (1, 0)  # alice's marker is her own


async def test_rooms_are_listed_most_recently_active_first(
    alice: CoopeClient, bob: CoopeClient
) -> None:
    busy = await alice.chat.create_room("busy")
    quiet = await alice.chat.create_room("quiet")
    for i in range(5):
        await alice.chat.send(busy.id, f"busy {i}")
    await alice.chat.send(quiet.id, "the latest message")
    assert [r.name for r in await alice.chat.rooms()] == ["quiet", "busy"]


async def test_search_is_scoped_to_your_rooms(
    alice: CoopeClient, bob: CoopeClient, carol: CoopeClient, team: RoomOut
) -> None:
    ours = await alice.chat.send(team.id, "the pineapple plan")
    private = await carol.chat.create_room("carol alone")
    theirs = await carol.chat.send(private.id, "pineapple secrets")
    removed = await bob.chat.send(team.id, "pineapple gone")
    await bob.chat.delete(removed.id)
    edited = await bob.chat.send(team.id, "a pineapple typo")
    await bob.chat.edit(edited.id, "a mango fixed")

    assert [m.id for m in await alice.chat.search("pineapple")] == [ours.id]
    assert [m.id for m in await alice.chat.search("PINEAPPLE plan")] == [ours.id]
    assert [m.id for m in await alice.chat.search("mango")] == [edited.id]
    assert {m.id for m in await carol.chat.search("pineapple")} == {ours.id, theirs.id}
    assert [m.id for m in await carol.chat.search("pineapple", room_id=private.id)] == [theirs.id]
    assert await alice.chat.search("secrets") == []
    assert await alice.chat.search("gone") == []
    assert await alice.chat.search("typo") == []


async def test_search_text_is_searched_for_not_obeyed(alice: CoopeClient, team: RoomOut) -> None:
    salt = await alice.chat.send(team.id, "salt and pepper")
    await alice.chat.send(team.id, "pepperoni pizza")
    assert [m.id for m in await alice.chat.search("AND")] == [salt.id]  # a word, not an operator
    assert [m.id for m in await alice.chat.search("salt OR pizza")] == []
    for query in ['"', '"salt', "*", "pep*", "NEAR(salt pepper)", "body:salt", "-salt", "(", "^"]:
        found = await alice.chat.search(query)
        assert all(m.room_id == team.id for m in found), query
    assert await alice.chat.search("*") == []
    assert [m.id for m in await alice.chat.search('"salt')] == [salt.id]
    for query in ["", "   "]:
        with pytest.raises(InvalidInput):
            await alice.chat.search(query)


# --- the websocket --------------------------------------------------------------------------


async def test_typing_reaches_the_other_members_and_is_not_stored(
    alice: CoopeClient, bob: CoopeClient, carol: CoopeClient, team: RoomOut
) -> None:
    async with (
        alice.events() as alice_events,
        bob.events() as bob_events,
        carol.events() as carol_events,
    ):
        await alice_events.send({"type": "typing", "room_id": team.id})
        for events in (bob_events, carol_events):
            event = await next_event(events, "typing")
            assert event.data == TypingData(room_id=team.id, user="alice")
        await ping(alice_events)
        await assert_none_within(alice_events, of_type("typing"))
    assert (await alice.chat.history(team.id)).messages == []
    assert (await bob.chat.room(team.id)).last_seq == 0


async def test_bad_websocket_messages_get_errors(alice: CoopeClient, team: RoomOut) -> None:
    async with alice.events() as events:
        for bad in (
            {"type": "typing"},
            {"type": "typing", "room_id": "1"},
            {"type": "message.send", "room_id": team.id},
            {"type": "message.send", "body": "hi"},
            {"type": "message.send", "room_id": team.id, "body": "hi", "client_id": ""},
        ):
            await events.send(bad)
            assert (await next_event(events, "error")).data.code == "bad_request", bad
    assert (await alice.chat.history(team.id)).messages == []


async def test_message_send_over_the_websocket(
    alice: CoopeClient, bob: CoopeClient, team: RoomOut
) -> None:
    question = await bob.chat.send(team.id, "ready?")
    async with alice.events() as alice_events, bob.events() as bob_events:
        await alice_events.send(
            {
                "type": "message.send",
                "room_id": team.id,
                "body": "ready!",
                "client_id": "ws-1",
                "reply_to": question.id,
            }
        )
        sent = await next_event(alice_events, "message.sent")
        assert sent.data.client_id == "ws-1"
        message = sent.data.message
        assert (message.body, message.author, message.reply_to, message.client_id) == (
            "ready!",
            "alice",
            question.id,
            "ws-1",
        )
        event = await created(bob_events, message.id)
        assert (event.seq, event.data.seq, event.data.body) == (
            message.seq,
            message.seq,
            "ready!",
        )
    (_, stored) = (await bob.chat.history(team.id)).messages
    assert stored == message


# --- resuming and ordering ------------------------------------------------------------------


async def test_a_reconnecting_client_resumes_without_missing_anything(
    alice: CoopeClient, bob: CoopeClient, carol: CoopeClient, team: RoomOut
) -> None:
    async with bob.events() as bob_events:
        seen = [await alice.chat.send(team.id, f"m{i}") for i in range(3)]
        last_seen = 0
        for message in seen:
            last_seen = max(last_seen, (await created(bob_events, message.id)).seq or 0)
    assert last_seen == seen[-1].rev

    # While bob is away: new messages, edits, reactions, a deletion, and no-op changes.
    latest: dict[int, MessageOut] = {}
    for result in [
        await alice.chat.send(team.id, "m3"),
        await alice.chat.edit(seen[0].id, "m0, edited"),
        await carol.chat.react(seen[1].id, "👍"),
        await carol.chat.send(team.id, "m4"),
        await alice.chat.delete(seen[2].id),
        await carol.chat.react(seen[1].id, "🎉"),
        await carol.chat.react(seen[1].id, "🎉"),  # no change
    ]:
        latest[result.id] = result
    newest = [m for m in latest.values() if m.body in ("m3", "m4")]
    latest[newest[0].id] = await alice.chat.edit(newest[0].id, "m3, edited")

    async with bob.events() as bob_events:
        page = await bob.chat.changes(team.id, after=last_seen)
        assert page.has_more is False
        revs = [m.rev for m in page.messages]
        assert revs == sorted(set(revs)) and revs[0] > last_seen
        assert [m.id for m in page.messages] == [
            m.id for m in sorted(latest.values(), key=lambda m: m.rev)
        ]
        assert {m.id: (m.body, m.deleted, m.reactions) for m in page.messages} == {
            seen[0].id: ("m0, edited", False, {}),
            seen[1].id: (seen[1].body, False, {"👍": ["carol"], "🎉": ["carol"]}),
            seen[2].id: ("", True, {}),
            newest[0].id: ("m3, edited", False, {}),
            newest[1].id: ("m4", False, {}),
        }
        # The next resume point is the highest rev; live events continue after it.
        resume = revs[-1]
        assert (await bob.chat.changes(team.id, after=resume)).messages == []
        later = await alice.chat.send(team.id, "m5")
        assert (await created(bob_events, later.id)).seq == resume + 1
    # Paging through changes visits each change once too.
    first = await bob.chat.changes(team.id, after=last_seen, limit=2)
    rest = await bob.chat.changes(team.id, after=first.messages[-1].rev)
    assert first.has_more and not rest.has_more
    assert [m.id for m in first.messages + rest.messages] == [m.id for m in page.messages] + [
        later.id
    ]


async def test_concurrent_senders_are_seen_in_one_order_by_everyone(
    alice: CoopeClient, bob: CoopeClient, carol: CoopeClient, team: RoomOut
) -> None:
    per_sender = 8
    async with (
        alice.events() as alice_events,
        bob.events() as bob_events,
        carol.events() as carol_events,
    ):
        streams = (alice_events, bob_events, carol_events)

        async def over_websocket(i: int) -> int:
            await carol_events.send(
                {"type": "message.send", "room_id": team.id, "body": f"c{i}", "client_id": f"c{i}"}
            )
            return i

        results = await asyncio.gather(
            *(alice.chat.send(team.id, f"a{i}") for i in range(per_sender)),
            *(bob.chat.send(team.id, f"b{i}") for i in range(per_sender)),
            *(over_websocket(i) for i in range(per_sender)),
        )
        rest_ids = {m.id for m in results if isinstance(m, MessageOut)}
        orders: list[list[tuple[int, int | None]]] = []
        for events in streams:
            seen = []
            while len(seen) < 3 * per_sender:
                event = await next_event(events, "message.created")
                seen.append((event.data.seq, event.seq))
            orders.append(seen)
    assert orders[0] == orders[1] == orders[2]
    seqs = [seq for seq, _ in orders[0]]
    assert seqs == list(range(1, 3 * per_sender + 1))
    assert all(seq == event_seq for seq, event_seq in orders[0])
    history = (await alice.chat.history(team.id)).messages
    assert [m.seq for m in history] == seqs
    assert rest_ids <= {m.id for m in history}
    assert sorted(m.body for m in history) == sorted(
        f"{who}{i}" for who in "abc" for i in range(per_sender)
    )


async def test_a_message_is_found_by_its_number_in_the_room_and_replies_carry_it(
    alice: CoopeClient, team: RoomOut
) -> None:
    first = await alice.chat.send(team.id, "first")
    await alice.chat.edit(first.id, "first, edited")  # a change takes a number too
    second = await alice.chat.send(team.id, "second", reply_to=first.id)
    assert (second.reply_to, second.reply_to_seq) == (first.id, first.seq)
    assert second.seq > first.seq + 1, "numbers have gaps where changes took one"
    assert (await alice.chat.message_at(team.id, second.seq)).id == second.id
    assert (await alice.chat.message_at(team.id, first.seq)).body == "first, edited"
    page = await alice.chat.history(team.id)
    assert [(m.seq, m.reply_to_seq) for m in page.messages] == [
        (first.seq, None),
        (second.seq, first.seq),
    ]
    for missing in (first.seq + 1, 0, -1, 10**30):
        with pytest.raises(NotFound, match=f"no message {missing}"):
            await alice.chat.message_at(team.id, missing)
