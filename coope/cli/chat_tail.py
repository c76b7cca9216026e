"""`coope chat tail --follow`: the changes of one room or of all of yours, as update lines.

The daemon sends a changed message whole (`message.updated`); what changed is found by
comparing it with the version shown before (`Seen`): an edit, each reaction added or taken
back and by whom, a deletion. A message never seen before that comes changed is shown whole.

With `--all`, every room you are in is followed, and rooms you join while tailing too (a new
direct room from its first message on); their lines are marked with the room (`#team`,
`@bob`). Every message shown marks its room read, as showing a room does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from coope.cli import output
from coope.cli.chat_render import Update, render_update, with_room
from coope.client.names import room_label
from coope.core.errors import CoopeError, DaemonUnreachable, NotFound, Unavailable
from coope.core.models import RoomKind

if TYPE_CHECKING:
    from collections.abc import Callable

    from coope.client import CoopeClient
    from coope.client.follow import ChangeKind
    from coope.core.social_schemas import MessageOut, RoomOut

# Enough to tell what changed in the messages people still react to; older ones are shown whole.
SEEN_MAX = 5000


@dataclass
class Seen:
    """The latest version shown of each message (the newest `SEEN_MAX`), and how far each room
    was shown: what a change is compared with."""

    messages: OrderedDict[int, MessageOut] = field(default_factory=OrderedDict)
    last_seq: dict[int, int] = field(default_factory=dict)

    def remember(self, message: MessageOut) -> None:
        self.messages[message.id] = message
        self.messages.move_to_end(message.id)
        while len(self.messages) > SEEN_MAX:
            self.messages.popitem(last=False)
        room = message.room_id
        self.last_seq[room] = max(self.last_seq.get(room, 0), message.seq)

    def shown_up_to(self, room_id: int, seq: int) -> None:
        """The room was shown up to `seq` (where following it starts): a message up to there
        coming changed is an old one changed, not a new one, even if it was never fetched."""
        self.last_seq[room_id] = max(self.last_seq.get(room_id, 0), seq)

    def updates(self, change: ChangeKind, message: MessageOut) -> list[Update]:
        """What a person is told of this version of `message`; it is remembered."""
        before = self.messages.get(message.id)
        if before is not None and before.rev >= message.rev:
            return []  # shown already (fetched, and then received live too)
        is_new = message.seq > self.last_seq.get(message.room_id, 0)
        self.remember(message)
        if before is None and (is_new or change == "created"):
            return [] if message.deleted else [Update("created", message)]
        if message.deleted:
            return [Update("deleted", message)]
        if before is None:
            return [Update("updated", message)]
        return _differences(before, message)


def _differences(before: MessageOut, after: MessageOut) -> list[Update]:
    found = []
    if after.body != before.body or after.edited_at != before.edited_at:
        found.append(Update("edited", after))
    for emoji in {**before.reactions, **after.reactions}:
        was, now = before.reactions.get(emoji, []), after.reactions.get(emoji, [])
        found += [Update("reaction_added", after, emoji, who) for who in now if who not in was]
        found += [Update("reaction_removed", after, emoji, who) for who in was if who not in now]
    return found


@dataclass
class Printer:
    """Prints updates: Rich lines for people, one JSON object per line for scripts."""

    json: bool
    me: str | None = None
    labels: dict[int, str] = field(default_factory=dict)  # room id -> mark, for marked rooms

    def show(self, update: Update) -> None:
        label = self.labels.get(update.message.room_id)
        if self.json:
            line = update.to_json()
            if label is not None:
                line["room"] = label
            sys.stdout.write(json.dumps(line) + "\n")
            sys.stdout.flush()
        else:
            output.info(with_room(render_update(update, self.me), label))


class ConnectionNotice:
    """A lost connection and its return, on stderr (the messages stay alone on stdout)."""

    def __init__(self) -> None:
        self._lost = False

    def __call__(self, state: str) -> None:
        if state == "reconnecting" and not self._lost:
            self._lost = True
            output.warning("lost the daemon: reconnecting (no message will be missed)")
        elif state == "connected" and self._lost:
            self._lost = False
            output.note("reconnected")


async def mark_read_if_reachable(client: CoopeClient, room_id: int, seq: int) -> None:
    """The read marker follows what was shown, when the daemon can be told: while it is away
    the follow goes on (and catches up when it is back), and the next message marks again."""
    with contextlib.suppress(DaemonUnreachable, Unavailable):
        await client.chat.mark_read(room_id, seq)


async def follow_room(
    client: CoopeClient, seen: Seen, printer: Printer, room_id: int, after: int
) -> None:
    """Print every change in the room after `after` until the follow ends."""
    seen.shown_up_to(room_id, after)
    async for change, message in client.follow_room(room_id, after=after):
        updates = seen.updates(change, message)
        for update in updates:
            printer.show(update)
        if any(u.kind == "created" for u in updates):
            await mark_read_if_reachable(client, room_id, message.seq)


async def follow_all(
    client: CoopeClient, seen: Seen, printer: Printer, main: RoomOut | None
) -> None:
    """Follow `main` (unmarked) and every other room you are in or join (marked), until one
    of them fails for a reason other than you leaving it."""
    from coope.core.events import RoomJoined

    joined = client.live.events(RoomJoined)  # before listing: a room joined meanwhile is seen
    followed: set[int] = set()
    try:
        async with asyncio.TaskGroup() as group:

            def left(room_id: int) -> None:
                # Joined again later, the room is followed again.
                followed.discard(room_id)
                printer.labels.pop(room_id, None)

            def start(room: RoomOut, after: int) -> None:
                if room.id in followed:
                    return
                followed.add(room.id)
                if main is None or room.id != main.id:
                    printer.labels[room.id] = room_label(room)
                group.create_task(
                    _follow_marked(client, seen, printer, room, after, main, on_left=left)
                )

            if main is not None:
                start(main, main.last_seq)
            for room in await client.chat.rooms():
                start(room, room.last_seq)
            # From here on nothing is missed: each room goes on from where it was listed.
            output.note(f"following {_rooms(len(followed))} and any you join (Ctrl-C ends)")
            async for event in joined:
                # A direct room is made by its first message, already in it when we hear.
                start(event.data, 0 if event.data.kind is RoomKind.DM else event.data.last_seq)
    except* CoopeError as failed:
        raise _first(failed.exceptions) from None
    finally:
        await joined.aclose()


def _rooms(count: int) -> str:
    return f"{count} room" if count == 1 else f"{count} rooms"


def _first(errors: tuple[BaseException, ...]) -> BaseException:
    error = errors[0]
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error


async def _follow_marked(
    client: CoopeClient,
    seen: Seen,
    printer: Printer,
    room: RoomOut,
    after: int,
    main: RoomOut | None,
    *,
    on_left: Callable[[int], None],
) -> None:
    try:
        await follow_room(client, seen, printer, room.id, after)
    except NotFound:
        if main is not None and room.id == main.id:
            raise
        # Leaving (or being removed from) one of the other rooms ends only its part.
        on_left(room.id)
        output.note(f"no longer following {room_label(room)}: you are not in it")
