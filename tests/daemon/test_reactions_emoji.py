"""Reactions are one emoji each; taking back one never given is an error, not a quiet no-op."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import aiohttp
import pytest

from coope.client import CoopeClient
from coope.core.errors import InvalidInput, NotFound
from coope.core.events import MessageUpdated
from coope.core.social_schemas import MessageOut, RoomOut
from tests.daemon.social_helpers import group_room, next_matching, ping
from tests.helpers import RunningDaemon


@pytest.fixture
async def team(alice: CoopeClient, bob: CoopeClient, carol: CoopeClient) -> RoomOut:
    return await group_room(alice, "team", [bob, carol])


@pytest.fixture
async def message(alice: CoopeClient, team: RoomOut) -> MessageOut:
    return await alice.chat.send(team.id, "lunch?")


async def put_reaction(
    daemon: RunningDaemon, client: CoopeClient, message_id: int, emoji: str
) -> tuple[int, Any]:
    """PUT the reaction over plain HTTP: what any client, not only ours, gets back."""
    url = f"{daemon.url}/api/v1/messages/{message_id}/reactions/{quote(emoji, safe='')}"
    headers = {"Authorization": f"Bearer {client.token}"}
    async with aiohttp.ClientSession() as http, http.put(url, headers=headers) as reply:
        return reply.status, await reply.json()


ONE_EMOJI = ["👍", "❤️", "👍🏿", "👩‍💻", "🏳️‍🌈", "🧑🏽‍🤝‍🧑🏿", "🇯🇵", "1️⃣", "🫠"]
NOT_EMOJI = ["lol", "wave", ":thumbsup:", "👍👍", "x" * 200, "👍\x1b[2J", "\x07", "🇯"]


async def test_one_emoji_is_a_reaction_whatever_its_parts(
    daemon: RunningDaemon, bob: CoopeClient, message: MessageOut
) -> None:
    for emoji in ONE_EMOJI:
        status, body = await put_reaction(daemon, bob, message.id, emoji)
        assert status == 200, (emoji, body)
    final = (await bob.chat.history(message.room_id)).messages[-1]
    assert final.reactions == {emoji: ["bob"] for emoji in ONE_EMOJI}


async def test_anything_but_one_emoji_is_refused_and_nothing_changes(
    daemon: RunningDaemon, bob: CoopeClient, message: MessageOut
) -> None:
    for text in NOT_EMOJI:
        status, body = await put_reaction(daemon, bob, message.id, text)
        assert (status, body["error"]["code"]) == (422, "invalid_input"), text
        assert "emoji" in body["error"]["message"]  # control characters: the path's rule
    unchanged = (await bob.chat.history(message.room_id)).messages[-1]
    assert (unchanged.rev, unchanged.reactions) == (message.rev, {})


async def test_the_client_turns_short_codes_into_emoji(
    bob: CoopeClient, message: MessageOut
) -> None:
    reacted = await bob.chat.react(message.id, ":tada:")
    assert reacted.reactions == {"🎉": ["bob"]}
    taken_back = await bob.chat.react(message.id, ":TADA:", remove=True)
    assert taken_back.reactions == {}
    with pytest.raises(InvalidInput, match="unknown short code"):
        await bob.chat.react(message.id, ":no_such_code:")


async def test_a_stranger_learns_nothing_from_a_bad_reaction(
    daemon: RunningDaemon, dave: CoopeClient, message: MessageOut
) -> None:
    """Who may see the message is checked before what the reaction is."""
    status, body = await put_reaction(daemon, dave, message.id, "lol")
    assert (status, body["error"]["code"]) == (404, "not_found")


async def test_taking_back_a_reaction_never_given_says_so_and_changes_nothing(
    alice: CoopeClient, bob: CoopeClient, carol: CoopeClient, message: MessageOut
) -> None:
    await carol.chat.react(message.id, "👍")
    async with alice.events() as events:
        await ping(events)
        with pytest.raises(NotFound) as refused:
            await bob.chat.react(message.id, "👍", remove=True)  # carol's, not bob's
        assert refused.value.message == (
            f"you have not reacted with 👍 to message {message.seq}: nothing to take back"
        )
        with pytest.raises(NotFound):
            await bob.chat.react(message.id, "🙃", remove=True)
        # The next change anyone hears of is the next real one: the refusals told nobody.
        await carol.chat.react(message.id, "🎉")
        heard = await next_matching(events, lambda e: isinstance(e, MessageUpdated))
    assert heard.data.reactions == {"👍": ["carol"], "🎉": ["carol"]}


async def test_a_reaction_from_before_the_rule_can_still_be_taken_back(
    daemon: RunningDaemon, bob: CoopeClient, message: MessageOut
) -> None:
    # Reactions were once any short text; the rule is for new ones.
    await daemon.sql(
        "INSERT INTO reactions (message_id, user_id, emoji, created_at)"
        " SELECT ?, id, ?, 0 FROM users WHERE username = 'bob'",
        message.id,
        "lol",
    )
    assert (await bob.chat.history(message.room_id)).messages[-1].reactions == {"lol": ["bob"]}
    assert (await bob.chat.react(message.id, "lol", remove=True)).reactions == {}


async def test_a_deleted_message_takes_no_reaction_of_any_kind(
    daemon: RunningDaemon, alice: CoopeClient, bob: CoopeClient, message: MessageOut
) -> None:
    await alice.chat.delete(message.id)
    for text in ("👍", "lol"):
        status, body = await put_reaction(daemon, bob, message.id, text)
        assert (status, body["error"]["code"]) == (409, "conflict"), text


async def test_the_heart_bare_and_with_its_selector_is_one_reaction(
    daemon: RunningDaemon, bob: CoopeClient, carol: CoopeClient, message: MessageOut
) -> None:
    status, body = await put_reaction(daemon, bob, message.id, "\u2764")
    assert status == 200, body
    await carol.chat.react(message.id, "\u2764\ufe0f")
    both = (await bob.chat.history(message.room_id)).messages[-1]
    assert both.reactions == {"\u2764\ufe0f": ["bob", "carol"]}
    taken = await bob.chat.react(message.id, "\u2764\ufe0f", remove=True)
    assert taken.reactions == {"\u2764\ufe0f": ["carol"]}
    status, body = await put_reaction(daemon, bob, message.id, "©")
    assert (status, body["error"]["code"]) == (422, "invalid_input")


async def test_an_unknown_short_code_stored_before_is_taken_back_as_typed(
    daemon: RunningDaemon, bob: CoopeClient, message: MessageOut
) -> None:
    await daemon.sql(
        "INSERT INTO reactions (message_id, user_id, emoji, created_at)"
        " SELECT ?, id, ?, 0 FROM users WHERE username = 'bob'",
        message.id,
        ":partyparrot:",
    )
    assert (await bob.chat.react(message.id, ":partyparrot:", remove=True)).reactions == {}
    with pytest.raises(InvalidInput, match="unknown short code"):
        await bob.chat.react(message.id, ":partyparrot:")  # added anew, it is no emoji
