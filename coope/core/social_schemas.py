"""Wire schemas for friends, presence and chat, shared by the daemon and the client."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from pydantic import Field, StrictBool

from coope.core.models import (
    Message,
    PresenceState,
    Room,
    RoomKind,
    RoomMember,
    RoomRole,
    RoomSummary,
    User,
)
from coope.core.names import NAME_MAX
from coope.core.schemas import INT64_MAX, Id, Schema, SingleLine, to_datetime

MESSAGE_MAX = 4000
STATUS_TEXT_MAX = 140
CLIENT_ID_MAX = 64
EMOJI_MAX = 32


class UserRef(Schema):
    username: str
    display_name: str

    @classmethod
    def of(cls, user: User) -> UserRef:
        return cls(username=user.username, display_name=user.display_name)


# --- friends and presence -------------------------------------------------------------------


class FriendRequestOut(Schema):
    outcome: Literal["requested", "already_requested", "friends", "already_friends"]
    user: UserRef


class PendingRequestOut(Schema):
    user: UserRef
    created_at: datetime


class FriendRequestsOut(Schema):
    incoming: list[PendingRequestOut]
    outgoing: list[PendingRequestOut]


# --- presence -------------------------------------------------------------------------------

Availability = Literal["available", "away", "busy", "dnd"]
"""What a person chooses to show, whatever their connection; `available` is having chosen
nothing, `dnd` is do-not-disturb."""

STATUS_FOR_MAX_S = 30 * 86400
"""The longest a chosen status may be set for: one meant to last longer is set with no end."""


class PresenceOut(Schema):
    """A person's presence: their connection and the status they chose. Older clients read
    `state`, `text` and `last_seen_at`, which keep their meaning."""

    username: str
    state: PresenceState = Field(
        description="The connection: online, away (every connection idle, or away chosen),"
        " offline (no live connection)"
    )
    status: Availability = Field(
        default="available", description="The chosen status (available once it has ended)"
    )
    text: str = Field(description="The chosen status text ('' once it has ended)")
    expires_at: datetime | None = Field(
        default=None, description="When the chosen status and text end by themselves"
    )
    online: bool = Field(default=False, description="A live connection of the user is open")
    last_active_at: datetime | None = Field(
        default=None,
        description="The user's last authenticated request or live connection (now while"
        " online); null if they never made one",
    )
    active_ago_s: int | None = Field(
        default=None,
        ge=0,
        description="Seconds from last_active_at to now by the daemon's clock: relative times"
        " that do not depend on the reader's clock",
    )
    last_seen_at: datetime | None = Field(
        default=None, description="The same as last_active_at, for older clients"
    )


class FriendOut(Schema):
    user: UserRef
    presence: PresenceOut


class FriendListOut(Schema):
    friends: list[FriendOut]


class UserRefListOut(Schema):
    users: list[UserRef]


class StatusIn(Schema):
    """A change of your chosen status; what is omitted stays as it is. A status set without
    `for_s` or `until` lasts until changed; with one of them, status and text end by themselves
    (`for_s` or `until` alone sets an end for the status you have)."""

    status: Availability | None = Field(default=None, description="omit to keep")
    state: Literal["online", "away"] | None = Field(
        default=None, description="The older form of `status`: online is available"
    )
    text: SingleLine | None = Field(
        default=None, max_length=STATUS_TEXT_MAX, description="omit to keep; '' clears it"
    )
    for_s: int | None = Field(
        default=None,
        ge=1,
        le=STATUS_FOR_MAX_S,
        description="End the status and text after this many seconds (at most 30 days)",
    )
    until: datetime | None = Field(
        default=None,
        description="End the status and text at this time: with its time zone, in the future,"
        " at most 30 days ahead",
    )


# --- rooms ----------------------------------------------------------------------------------


class RoomCreateIn(Schema):
    """Group room names are unique on the daemon, compared without case after Unicode
    normalisation."""

    name: SingleLine = Field(min_length=1, max_length=NAME_MAX)
    members: list[SingleLine] = Field(default_factory=list, max_length=200)
    exist_ok: StrictBool = Field(
        default=False,
        description="If the name is taken by a room you are in, answer that room as it is (200,"
        " `created: false`; `members` are not added) instead of 409",
    )


class RoomRenameIn(Schema):
    name: SingleLine = Field(min_length=1, max_length=NAME_MAX)


class MemberOut(Schema):
    username: str
    role: RoomRole
    last_read_seq: int

    @classmethod
    def of(cls, member: RoomMember) -> MemberOut:
        return cls(username=member.username, role=member.role, last_read_seq=member.last_read_seq)


class RoomOut(Schema):
    id: int
    kind: RoomKind
    name: str = Field(description="For direct rooms: the other person's username")
    members: list[MemberOut]
    last_seq: int
    unread: int
    last_read_seq: int
    invited: list[str] = Field(
        default_factory=list, description="People invited who have not accepted yet"
    )

    @classmethod
    def of(cls, summary: RoomSummary, viewer: str, invited: Sequence[str] = ()) -> RoomOut:
        room = summary.room
        name = room.name
        if room.kind is RoomKind.DM:
            others = [m.username for m in summary.members if m.username != viewer]
            name = others[0] if others else viewer
        return cls(
            id=room.id,
            kind=room.kind,
            name=name,
            members=[MemberOut.of(m) for m in summary.members],
            last_seq=room.last_seq,
            unread=summary.unread,
            last_read_seq=summary.last_read_seq,
            invited=list(invited),
        )


class RoomCreatedOut(RoomOut):
    created: bool = Field(description="False when `exist_ok` found it already there")


class RoomListOut(Schema):
    rooms: list[RoomOut]


class RoomInviteOut(Schema):
    """An invitation into a group room, waiting for the invited person to accept or decline."""

    room_id: int
    room_name: str
    user: UserRef = Field(description="Who is invited")
    invited_by: UserRef
    created_at: datetime

    @classmethod
    def of(cls, room: Room, user: User, invited_by: User, created_at: float) -> RoomInviteOut:
        return cls(
            room_id=room.id,
            room_name=room.name,
            user=UserRef.of(user),
            invited_by=UserRef.of(invited_by),
            created_at=to_datetime(created_at),
        )


class RoomInvitesOut(Schema):
    incoming: list[RoomInviteOut] = Field(description="Invitations to you")
    outgoing: list[RoomInviteOut] = Field(description="Invitations you made, not yet answered")


# --- messages -------------------------------------------------------------------------------


class MessageIn(Schema):
    body: str = Field(min_length=1, max_length=MESSAGE_MAX)
    client_id: SingleLine | None = Field(
        default=None,
        min_length=1,
        max_length=CLIENT_ID_MAX,
        description="Your id for this message: sending it again stores nothing new",
    )
    reply_to: Id | None = Field(default=None, description="Id of the message answered")


class MessageEditIn(Schema):
    body: str = Field(min_length=1, max_length=MESSAGE_MAX)


class MessageOut(Schema):
    id: int
    room_id: int
    seq: int = Field(description="Place in the room")
    rev: int = Field(description="Room sequence number of the latest change")
    author: str
    client_id: str
    body: str = Field(description="Empty once deleted")
    reply_to: int | None
    created_at: datetime
    edited_at: datetime | None
    deleted: bool
    reactions: dict[str, list[str]] = Field(description="emoji -> usernames")
    reply_to_seq: int | None = Field(
        default=None, description="The `seq` of the message answered: its number in the room"
    )

    @classmethod
    def of(cls, m: Message) -> MessageOut:
        return cls(
            id=m.id,
            room_id=m.room_id,
            seq=m.seq,
            rev=m.rev,
            author=m.author,
            client_id=m.client_id,
            body=m.body,
            reply_to=m.reply_to,
            created_at=to_datetime(m.created_at),
            edited_at=to_datetime(m.edited_at),
            deleted=m.deleted,
            reactions=m.reactions,
            reply_to_seq=m.reply_to_seq,
        )


class MessagePageOut(Schema):
    messages: list[MessageOut]
    has_more: bool = Field(description="More exist beyond this page in the direction asked")


class HistoryQuery(Schema):
    before: int | None = Field(
        default=None, ge=0, le=INT64_MAX, description="Only messages with seq below"
    )
    after: int | None = Field(
        default=None, ge=0, le=INT64_MAX, description="Only messages with seq above"
    )
    limit: int = Field(default=50, ge=1, le=500)


class ChangesQuery(Schema):
    after: int = Field(ge=0, le=INT64_MAX, description="The last room sequence number you saw")
    limit: int = Field(default=500, ge=1, le=1000)


class ReadIn(Schema):
    seq: int = Field(ge=0, le=INT64_MAX)


class ReadOut(Schema):
    room_id: int
    last_read_seq: int
    unread: int


class SearchQuery(Schema):
    q: SingleLine = Field(min_length=1, max_length=200)
    room: Id | None = None
    limit: int = Field(default=20, ge=1, le=100)


class SearchOut(Schema):
    messages: list[MessageOut]


# --- calls ----------------------------------------------------------------------------------

# The reasons of `call.kicked`, which clients tell apart (the browser page mirrors them in
# call.js): the account joined the call from another device, or is no longer in the room.
KICKED_TAKEN_OVER = "taken over"
KICKED_REMOVED = "removed from the room"
# The daemon that ran the call is gone (or lost its hold on it): join again, it starts anew.
KICKED_MOVED = "moved"


class CallOut(Schema):
    """A call going on in one of your rooms."""

    room_id: int
    participants: list[str]
    recording: list[str] = []  # participants who record the call (meeting-notes bots)


class CallListOut(Schema):
    calls: list[CallOut]
