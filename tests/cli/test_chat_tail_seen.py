"""What `chat tail` tells of a changed message, from the version it showed before."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from coope.cli.chat_tail import Seen
from coope.core.social_schemas import MessageOut

AT = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)


def message(seq: int, rev: int | None = None, **changes: Any) -> MessageOut:
    fields: dict[str, Any] = {
        "id": 100 + seq,
        "room_id": 1,
        "seq": seq,
        "rev": seq if rev is None else rev,
        "author": "ann",
        "client_id": f"c{seq}",
        "body": "hello",
        "reply_to": None,
        "created_at": AT,
        "edited_at": None,
        "deleted": False,
        "reactions": {},
    }
    return MessageOut(**(fields | changes))


def told(seen: Seen, change: Any, m: MessageOut) -> list[tuple[str, str | None, str | None]]:
    return [(u.kind, u.emoji, u.by) for u in seen.updates(change, m)]


def test_changes_come_out_as_what_changed_even_when_several_came_at_once() -> None:
    seen = Seen()
    seen.remember(message(1, reactions={"👍": ["bob"]}))
    # Away for a while: an edit, bob's 👍 taken back, two 🎉 added, fetched as one version.
    later = message(1, 9, body="hello all", edited_at=AT, reactions={"🎉": ["cat", "dan"]})
    assert told(seen, "updated", later) == [
        ("edited", None, None),
        ("reaction_removed", "👍", "bob"),
        ("reaction_added", "🎉", "cat"),
        ("reaction_added", "🎉", "dan"),
    ]
    assert told(seen, "updated", later) == []  # the same version again: nothing new
    assert told(seen, "updated", message(1, 5, body="older")) == []  # nor an older one
    assert told(seen, "deleted", message(1, 10, deleted=True, body="")) == [("deleted", None, None)]


def test_a_message_never_seen_is_new_or_shown_whole() -> None:
    seen = Seen()
    seen.remember(message(5))
    # Posted and edited while away: new to the reader, so shown as a message.
    assert told(seen, "updated", message(6, 8, edited_at=AT)) == [("created", None, None)]
    # An old message (older than what was fetched) changed: what changed cannot be told.
    assert told(seen, "updated", message(2, 9, edited_at=AT)) == [("updated", None, None)]
    # Posted and deleted while away: nothing to show.
    assert told(seen, "deleted", message(7, 10, deleted=True, body="")) == []


def test_in_a_room_followed_from_a_point_an_older_message_changed_is_no_new_one() -> None:
    """A room followed without its history fetched (another room of `--all`): a reaction to
    one of its older messages is that message changed, not a message to announce as new."""
    seen = Seen()
    seen.shown_up_to(2, 5)
    reacted = message(3, 6, room_id=2, reactions={"👍": ["bob"]})
    assert told(seen, "updated", reacted) == [("updated", None, None)]
    assert told(seen, "created", message(6, room_id=2)) == [("created", None, None)]
    seen.shown_up_to(2, 1)  # never back: what was shown stays shown
    assert seen.last_seq[2] == 6
