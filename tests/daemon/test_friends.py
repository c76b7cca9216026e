"""Friends through `client.friends`: requests, accepting, declining, removal and blocking."""

from __future__ import annotations

import contextlib

import pytest

from coope.client import CoopeClient
from coope.core.errors import Forbidden, InvalidInput, NotFound
from coope.core.social_schemas import FriendRequestsOut
from tests.daemon.social_helpers import (
    assert_none_within,
    befriend,
    next_presence,
    of_type,
    ping,
    presence_of,
)
from tests.helpers import next_event


def pending(requests: FriendRequestsOut) -> tuple[list[str], list[str]]:
    """(incoming, outgoing) usernames."""
    return (
        [r.user.username for r in requests.incoming],
        [r.user.username for r in requests.outgoing],
    )


async def friend_names(client: CoopeClient) -> list[str]:
    return [f.user.username for f in await client.friends.list()]


async def test_request_is_listed_on_both_sides_until_accepted(
    alice: CoopeClient, bob: CoopeClient
) -> None:
    sent = await alice.friends.request("bob")
    assert (sent.outcome, sent.user.username) == ("requested", "bob")
    assert pending(await alice.friends.requests()) == ([], ["bob"])
    assert pending(await bob.friends.requests()) == (["alice"], [])
    assert await friend_names(alice) == []
    assert await friend_names(bob) == []

    accepted = await bob.friends.accept("alice")
    assert accepted.username == "alice"
    assert await friend_names(alice) == ["bob"]
    assert await friend_names(bob) == ["alice"]
    assert pending(await alice.friends.requests()) == ([], [])
    assert pending(await bob.friends.requests()) == ([], [])
    # The request is used up.
    with pytest.raises(NotFound):
        await bob.friends.accept("alice")


async def test_only_the_target_can_accept(alice: CoopeClient, bob: CoopeClient) -> None:
    await alice.friends.request("bob")
    with pytest.raises(NotFound):
        await alice.friends.accept("bob")
    assert await friend_names(alice) == []
    assert pending(await bob.friends.requests()) == (["alice"], [])


async def test_decline(alice: CoopeClient, bob: CoopeClient) -> None:
    await alice.friends.request("bob")
    async with alice.events() as alice_events:
        assert (await bob.friends.decline("alice")).username == "alice"
        declined = await next_event(alice_events, "friend.declined")
        assert declined.data.user.username == "bob"
    assert pending(await alice.friends.requests()) == ([], [])
    assert pending(await bob.friends.requests()) == ([], [])
    assert await friend_names(alice) == []
    with pytest.raises(NotFound):
        await bob.friends.accept("alice")
    with pytest.raises(NotFound):
        await bob.friends.decline("alice")
    # Declining is not blocking: alice may ask again.
    assert (await alice.friends.request("bob")).outcome == "requested"


async def test_cancel(alice: CoopeClient, bob: CoopeClient) -> None:
    await alice.friends.request("bob")
    async with bob.events() as bob_events:
        assert (await alice.friends.cancel("bob")).username == "bob"
        cancelled = await next_event(bob_events, "friend.cancelled")
        assert cancelled.data.user.username == "alice"
    assert pending(await alice.friends.requests()) == ([], [])
    assert pending(await bob.friends.requests()) == ([], [])
    with pytest.raises(NotFound):
        await bob.friends.accept("alice")
    with pytest.raises(NotFound):
        await alice.friends.cancel("bob")
    # Only the sender can cancel: the target has nothing of theirs to cancel.
    await alice.friends.request("bob")
    with pytest.raises(NotFound):
        await bob.friends.cancel("alice")
    assert pending(await bob.friends.requests()) == (["alice"], [])


async def test_crossing_requests_become_a_friendship(alice: CoopeClient, bob: CoopeClient) -> None:
    assert (await alice.friends.request("bob")).outcome == "requested"
    async with alice.events() as alice_events, bob.events() as bob_events:
        crossed = await bob.friends.request("alice")
        assert (crossed.outcome, crossed.user.username) == ("friends", "alice")
        assert (await next_event(alice_events, "friend.accepted")).data.user.username == "bob"
        assert (await next_event(bob_events, "friend.accepted")).data.user.username == "alice"
    assert await friend_names(alice) == ["bob"]
    assert await friend_names(bob) == ["alice"]
    assert pending(await alice.friends.requests()) == ([], [])
    assert pending(await bob.friends.requests()) == ([], [])


async def test_repeated_requests(alice: CoopeClient, bob: CoopeClient) -> None:
    assert (await alice.friends.request("bob")).outcome == "requested"
    again = await alice.friends.request("bob")
    assert (again.outcome, again.user.username) == ("already_requested", "bob")
    assert pending(await bob.friends.requests()) == (["alice"], [])

    await bob.friends.accept("alice")
    assert (await alice.friends.request("bob")).outcome == "already_friends"
    assert (await bob.friends.request("alice")).outcome == "already_friends"
    assert pending(await alice.friends.requests()) == ([], [])
    assert pending(await bob.friends.requests()) == ([], [])
    assert await friend_names(alice) == ["bob"]


async def test_usernames_are_matched_like_logins(alice: CoopeClient, bob: CoopeClient) -> None:
    sent = await alice.friends.request("@BOB")
    assert (sent.outcome, sent.user.username) == ("requested", "bob")
    assert (await bob.friends.accept(" Alice ")).username == "alice"
    assert await friend_names(bob) == ["alice"]


async def test_remove_a_friend(alice: CoopeClient, bob: CoopeClient) -> None:
    await befriend(alice, bob)
    async with alice.events() as alice_events, bob.events() as bob_events:
        assert (await alice.friends.remove("bob")).username == "bob"
        assert (await next_event(alice_events, "friend.removed")).data.user.username == "bob"
        assert (await next_event(bob_events, "friend.removed")).data.user.username == "alice"
    assert await friend_names(alice) == []
    assert await friend_names(bob) == []
    with pytest.raises(NotFound):
        await bob.friends.remove("alice")
    # Friends again only through a new request.
    assert (await bob.friends.request("alice")).outcome == "requested"


async def test_requesting_yourself_is_invalid(alice: CoopeClient) -> None:
    for name in ("alice", "@Alice"):
        with pytest.raises(InvalidInput):
            await alice.friends.request(name)
    assert pending(await alice.friends.requests()) == ([], [])


async def test_unknown_users_are_not_found(alice: CoopeClient) -> None:
    with pytest.raises(NotFound, match="nobody"):
        await alice.friends.request("nobody")
    for call in (
        alice.friends.accept("nobody"),
        alice.friends.decline("nobody"),
        alice.friends.cancel("nobody"),
        alice.friends.remove("nobody"),
        alice.friends.block("nobody"),
        alice.friends.unblock("nobody"),
    ):
        with pytest.raises(NotFound):
            await call


async def test_disabled_users_cannot_be_requested(
    admin: CoopeClient, alice: CoopeClient, bob: CoopeClient
) -> None:
    await admin.admin.disable("bob")
    with pytest.raises(NotFound):
        await alice.friends.request("bob")


async def test_friend_request_arrives_live(alice: CoopeClient, bob: CoopeClient) -> None:
    async with bob.events() as bob_events:
        await alice.friends.request("bob")
        event = await next_event(bob_events, "friend.request")
        assert event.data.user.username == "alice"
        assert pending(await bob.friends.requests()) == (["alice"], [])


async def test_friend_accepted_arrives_on_both_sides_with_presence(
    alice: CoopeClient, bob: CoopeClient
) -> None:
    await alice.friends.request("bob")
    async with alice.events() as alice_events, bob.events() as bob_events:
        await ping(alice_events)
        await ping(bob_events)
        await bob.friends.accept("alice")
        assert (await next_event(alice_events, "friend.accepted")).data.user.username == "bob"
        assert (await next_event(bob_events, "friend.accepted")).data.user.username == "alice"
        # Each sees the other's presence straight away: both are connected, so online.
        assert (await next_presence(alice_events, "bob")).data.state == "online"
        assert (await next_presence(bob_events, "alice")).data.state == "online"


# --- blocking -------------------------------------------------------------------------------


async def test_a_blocked_user_cannot_request_in_either_direction(
    alice: CoopeClient, bob: CoopeClient
) -> None:
    assert (await alice.friends.block("bob")).username == "bob"
    with pytest.raises(Forbidden):
        await bob.friends.request("alice")
    with pytest.raises(Forbidden):
        await alice.friends.request("bob")
    assert pending(await alice.friends.requests()) == ([], [])
    assert pending(await bob.friends.requests()) == ([], [])


async def test_blocking_ends_a_friendship(alice: CoopeClient, bob: CoopeClient) -> None:
    await befriend(alice, bob)
    async with alice.events() as alice_events, bob.events() as bob_events:
        await alice.friends.block("bob")
        assert (await next_event(alice_events, "friend.removed")).data.user.username == "bob"
        assert (await next_event(bob_events, "friend.removed")).data.user.username == "alice"
    assert await friend_names(alice) == []
    assert await friend_names(bob) == []


@pytest.mark.parametrize("requester", ["blocker", "blocked"])
async def test_blocking_ends_pending_requests(
    alice: CoopeClient, bob: CoopeClient, requester: str
) -> None:
    if requester == "blocker":
        await alice.friends.request("bob")
    else:
        await bob.friends.request("alice")
    await alice.friends.block("bob")
    assert pending(await alice.friends.requests()) == ([], [])
    assert pending(await bob.friends.requests()) == ([], [])
    with pytest.raises(NotFound):
        await alice.friends.accept("bob")
    with pytest.raises(NotFound):
        await bob.friends.accept("alice")


async def test_a_blocked_user_cannot_message_directly(alice: CoopeClient, bob: CoopeClient) -> None:
    await befriend(alice, bob)
    room_id = (await bob.chat.send_direct("alice", "hi")).room_id
    await alice.friends.block("bob")
    with pytest.raises(Forbidden):
        await bob.chat.send_direct("alice", "hello?")
    with pytest.raises(Forbidden):
        await bob.chat.send(room_id, "hello?")
    with pytest.raises(Forbidden):  # and the blocker cannot either, while the block stands
        await alice.chat.send_direct("bob", "bye")
    assert [m.body for m in (await alice.chat.history(room_id)).messages] == ["hi"]


async def test_a_blocked_user_gets_no_presence_from_the_blocker(
    alice: CoopeClient, bob: CoopeClient, carol: CoopeClient
) -> None:
    await befriend(alice, bob)
    await befriend(alice, carol)
    await alice.friends.block("bob")
    async with bob.events() as bob_events, carol.events() as carol_events:
        await ping(bob_events)
        await ping(carol_events)
        async with alice.events() as alice_events:
            await alice.presence.set("away", text="gone fishing")
            # carol, still a friend, sees alice come online and go away ...
            assert (await next_presence(carol_events, "alice")).data.state == "online"
            away = await next_presence(carol_events, "alice")
            assert (away.data.state, away.data.text) == ("away", "gone fishing")
            await ping(alice_events)
        assert (await next_presence(carol_events, "alice")).data.state == "offline"
        # ... while bob saw none of it.
        await assert_none_within(bob_events, presence_of("alice"))
    assert await friend_names(bob) == []


async def test_the_blocked_user_is_not_told(alice: CoopeClient, bob: CoopeClient) -> None:
    async with bob.events() as bob_events:
        await alice.friends.block("bob")
        await assert_none_within(bob_events, of_type("friend.removed", "block", "blocked"))
    assert [u.username for u in await alice.friends.blocked()] == ["bob"]
    assert await bob.friends.blocked() == []


async def test_unblock_and_list_of_blocks(
    alice: CoopeClient, bob: CoopeClient, carol: CoopeClient
) -> None:
    assert await alice.friends.blocked() == []
    await alice.friends.block("carol")
    await alice.friends.block("bob")
    await alice.friends.block("bob")  # blocking twice is harmless
    assert [u.username for u in await alice.friends.blocked()] == ["bob", "carol"]

    assert (await alice.friends.unblock("bob")).username == "bob"
    assert [u.username for u in await alice.friends.blocked()] == ["carol"]
    with pytest.raises(NotFound):
        await alice.friends.unblock("bob")
    # Unblocking restores nothing by itself, but requests work again.
    assert await friend_names(alice) == []
    assert (await bob.friends.request("alice")).outcome == "requested"
    with pytest.raises(Forbidden):
        await carol.friends.request("alice")


async def test_only_the_blocker_can_lift_a_block(alice: CoopeClient, bob: CoopeClient) -> None:
    await alice.friends.block("bob")
    with pytest.raises(NotFound):
        await bob.friends.unblock("alice")
    # Blocks in both directions: lifting one leaves the other in force.
    await bob.friends.block("alice")
    await alice.friends.unblock("bob")
    with pytest.raises(Forbidden):
        await alice.friends.request("bob")
    await bob.friends.unblock("alice")
    assert (await alice.friends.request("bob")).outcome == "requested"


async def test_blocking_yourself_is_invalid(alice: CoopeClient) -> None:
    with pytest.raises(InvalidInput):
        await alice.friends.block("alice")
    assert await alice.friends.blocked() == []


async def test_a_blocked_user_cannot_reach_the_blocker_through_the_old_direct_room(
    alice: CoopeClient, bob: CoopeClient
) -> None:
    """Blocking is silent: typing notices, reactions and edits in the old direct room stop too."""
    await befriend(alice, bob)
    hello = await alice.chat.send_direct("bob", "hello")
    answer = await bob.chat.send_direct("alice", "hi")
    await alice.friends.block("bob")
    async with alice.events() as alice_events, bob.events() as bob_events:
        await ping(alice_events)
        await ping(bob_events)
        await bob_events.send({"type": "typing", "room_id": hello.room_id})
        with contextlib.suppress(Forbidden):
            await bob.chat.react(hello.id, "👎")
        with contextlib.suppress(Forbidden):
            await bob.chat.edit(answer.id, "you will regret this")
        await assert_none_within(alice_events, of_type("typing", "message.updated"))
    assert [(m.body, m.reactions) for m in (await alice.chat.history(hello.room_id)).messages] == [
        ("hello", {}),
        ("hi", {}),
    ]
