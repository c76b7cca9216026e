"""What the TUI knows of rooms, friends and one room's messages: plain data, no Textual.

The session feeds these from the client (first a fetch, then live events); widgets are handed
them to draw. Keeping them free of Textual makes the rules (what raises a badge, which version
of a message wins) testable as values in, values out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from coope.core.models import PresenceState
from coope.core.social_schemas import FriendOut, MessageOut, PresenceOut, ReadOut, RoomOut


@dataclass
class Rooms:
    """The rooms we are in, each with its unread count, in the daemon's order (latest first)."""

    by_id: dict[int, RoomOut] = field(default_factory=dict)
    shown: int | None = None  # the room on screen: its new messages are read, not unread

    def replace(self, rooms: list[RoomOut]) -> None:
        self.by_id = {room.id: room for room in rooms}

    def put(self, room: RoomOut) -> None:
        self.by_id[room.id] = room

    def remove(self, room_id: int) -> None:
        self.by_id.pop(room_id, None)

    def read(self, read: ReadOut) -> None:
        room = self.by_id.get(read.room_id)
        if room is not None:
            update = {"unread": read.unread, "last_read_seq": read.last_read_seq}
            self.by_id[room.id] = room.model_copy(update=update)

    def message_created(self, message: MessageOut, me: str) -> bool:
        """Count a new message; True when the room's badge changed."""
        room = self.by_id.get(message.room_id)
        if room is None:
            return False
        update: dict[str, object] = {"last_seq": max(room.last_seq, message.seq)}
        counts = message.author != me and message.room_id != self.shown
        if counts:
            update["unread"] = room.unread + 1
        self.by_id[room.id] = room.model_copy(update=update)
        return counts

    def ordered(self) -> list[RoomOut]:
        return list(self.by_id.values())


PRESENCE_ORDER = {PresenceState.ONLINE: 0, PresenceState.AWAY: 1, PresenceState.OFFLINE: 2}


@dataclass
class Friends:
    """Our friends and their presence."""

    by_name: dict[str, FriendOut] = field(default_factory=dict)

    def replace(self, friends: list[FriendOut]) -> None:
        self.by_name = {f.user.username: f for f in friends}

    def presence(self, presence: PresenceOut) -> bool:
        """Take a presence event; True when it was a friend's."""
        friend = self.by_name.get(presence.username)
        if friend is None:
            return False
        self.by_name[presence.username] = friend.model_copy(update={"presence": presence})
        return True

    def ordered(self) -> list[FriendOut]:
        """Online first, then away, then offline; by name within each."""
        return sorted(
            self.by_name.values(),
            key=lambda f: (PRESENCE_ORDER.get(f.presence.state, 3), f.user.username),
        )


WINDOW = 500
"""At most this many messages of a room are held (and drawn); the rest is fetched again."""


def _window() -> int:
    return WINDOW  # read when a timeline is made, so that tests can make it small


@dataclass
class Timeline:
    """A window of one room's messages, by sequence number, each in its latest version.

    It holds at most `window` messages; `has_older` and `has_newer` say whether the room has
    messages before or after it (to fetch when the person scrolls that way). A change to a
    message outside the window is not kept: the window gets the latest version when it moves
    there.
    """

    messages: dict[int, MessageOut] = field(default_factory=dict)
    has_older: bool = False
    has_newer: bool = False
    window: int = field(default_factory=_window)

    def put(self, message: MessageOut) -> bool:
        """Keep `message` unless it is outside the window or a later version of it is here
        already; True if kept."""
        if self.messages and (
            (self.has_older and message.seq < min(self.messages))
            or (self.has_newer and message.seq > max(self.messages))
        ):
            return False
        return self._keep(message)

    def add_older(self, messages: list[MessageOut], has_more: bool) -> None:
        """A page fetched before the oldest: kept, then the newest beyond the window dropped."""
        for message in messages:
            self._keep(message)
        self.has_older = has_more
        if self.full:
            self.drop_newest()

    def add_newer(self, messages: list[MessageOut], has_more: bool) -> None:
        """A page fetched after the newest: kept, then the oldest beyond the window dropped."""
        for message in messages:
            self._keep(message)
        self.has_newer = has_more
        if self.full:
            self.drop_oldest()

    @property
    def full(self) -> bool:
        """More than the window holds: time to drop some at one end."""
        return len(self.messages) > self.window

    def drop_oldest(self) -> None:
        """Once full: down to the window (a tenth under it, so that drops come in batches)."""
        if not self.full:
            return
        for seq in self.ordered_seqs()[: len(self.messages) - self._after_drop]:
            del self.messages[seq]
            self.has_older = True

    def drop_newest(self) -> None:
        if not self.full:
            return
        for seq in self.ordered_seqs()[self._after_drop :]:
            del self.messages[seq]
            self.has_newer = True

    @property
    def _after_drop(self) -> int:
        return max(1, self.window - self.window // 10)

    def _keep(self, message: MessageOut) -> bool:
        known = self.messages.get(message.seq)
        if known is not None and known.rev > message.rev:
            return False
        self.messages[message.seq] = message
        return True

    def by_id(self, message_id: int) -> MessageOut | None:
        return next((m for m in self.messages.values() if m.id == message_id), None)

    @property
    def oldest_seq(self) -> int | None:
        return min(self.messages, default=None)

    @property
    def newest_seq(self) -> int | None:
        return max(self.messages, default=None)

    def ordered_seqs(self) -> list[int]:
        return sorted(self.messages)

    def ordered(self) -> list[MessageOut]:
        return [self.messages[seq] for seq in sorted(self.messages)]
