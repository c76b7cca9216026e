"""Typed websocket events: what the daemon sends on `/api/v1/ws`, and what clients send it.

An event on the wire is one JSON object, `{"type": ..., "data": {...}, "seq": N | null,
"ts": "..."}`. Each type has a class here (`message.created` -> `MessageCreated`, one-word types
with an `Event` suffix: `ready` -> `ReadyEvent`) whose `data` is a model with the wire's field
names; `AnyEvent` is their union, discriminated on `type`. The daemon builds these classes and
publishes them; clients read them with `parse_event`, which never fails on an event merely newer
than this code: an unknown type, or a known one whose data no longer fits, becomes a
`GenericEvent` holding the raw data, and fields added to a known event are ignored.

What clients send is typed too (`AnyClientMessage`): flat objects with a `type`, no envelope.

Events are values: frozen once built, and their JSON text is made once however many sockets it
fans out to.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cached_property
from types import MappingProxyType
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from coope.core.models import AuthKind, WorkspaceRole
from coope.core.schemas import UserOut
from coope.core.social_schemas import (
    MessageOut,
    PresenceOut,
    ReadOut,
    RoomInviteOut,
    RoomOut,
    UserRef,
)

__all__ = [
    "ANY_EVENT",
    "EVENT_TYPES",
    "AnyEvent",
    "AuthRevoked",
    "AuthRevokedData",
    "CallAnswer",
    "CallAnswerData",
    "CallConnected",
    "CallConnectedData",
    "CallEnded",
    "CallJoined",
    "CallJoinedData",
    "CallKicked",
    "CallKickedData",
    "CallLeft",
    "CallParticipantJoined",
    "CallParticipantJoinedData",
    "CallParticipantLeft",
    "CallParticipantLeftData",
    "CallRecording",
    "CallRecordingData",
    "CallRenegotiate",
    "CallRenegotiateData",
    "CallSpeaking",
    "CallSpeakingData",
    "CallStarted",
    "CallTrack",
    "CallTracks",
    "CallTracksData",
    "ErrorData",
    "ErrorEvent",
    "Event",
    "EventData",
    "FriendAccepted",
    "FriendCancelled",
    "FriendData",
    "FriendDeclined",
    "FriendRemoved",
    "FriendRequest",
    "GenericEvent",
    "IceServer",
    "MessageCreated",
    "MessageDeleted",
    "MessageSent",
    "MessageSentData",
    "MessageUpdated",
    "PagesArchived",
    "PagesData",
    "PagesRestored",
    "PongData",
    "PongEvent",
    "PresenceEvent",
    "ReadyData",
    "ReadyEvent",
    "RoomIdData",
    "RoomInvited",
    "RoomJoined",
    "RoomLeft",
    "RoomRead",
    "RoomUninvited",
    "RoomUpdated",
    "TypingData",
    "TypingEvent",
    "UserUpdated",
    "WorkspaceAccess",
    "WorkspaceAccessData",
    "event_json_schema",
    "parse_event",
]


def _now() -> datetime:
    return datetime.now(UTC)


def _none(value: Any) -> bool:
    return value is None


class Event(BaseModel):
    """One server -> client event. `seq` is set where the event belongs to an ordered stream
    (a room's messages: their `rev`), so a reconnecting client asks for what it missed.

    The concrete classes below narrow `type` to one literal and `data` to a model.
    """

    # Extra fields are refused when the daemon builds an event (a typo is a bug); parsing
    # ignores them (`parse_event`), as a newer daemon may add some.
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    data: Any
    seq: int | None = None
    ts: datetime = Field(default_factory=_now)

    @cached_property
    def json_text(self) -> str:
        """The JSON text, made once however many sockets it fans out to (events are never
        changed after they are published)."""
        return self.model_dump_json()


class GenericEvent(Event):
    """An event of a type this version does not know (or whose data it cannot read): kept as
    the raw JSON object, for a client to pass on or ignore."""

    type: str
    data: dict[str, Any] = Field(default_factory=dict)


class EventData(BaseModel):
    """The `data` of an event that has no REST schema of its own."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --- chat -----------------------------------------------------------------------------------


class MessageCreated(Event):
    """A message was posted in one of your rooms (`seq` is its `rev`)."""

    type: Literal["message.created"] = "message.created"
    data: MessageOut


class MessageUpdated(Event):
    """A message was edited, or its reactions changed (`seq` is its new `rev`)."""

    type: Literal["message.updated"] = "message.updated"
    data: MessageOut


class MessageDeleted(Event):
    """A message was deleted: its body is empty from now on (`seq` is its new `rev`)."""

    type: Literal["message.deleted"] = "message.deleted"
    data: MessageOut


class MessageSentData(EventData):
    client_id: str = Field(description="The client_id of the `message.send` answered")
    message: MessageOut


class MessageSent(Event):
    """The answer to your `message.send`: the stored message."""

    type: Literal["message.sent"] = "message.sent"
    data: MessageSentData


class RoomIdData(EventData):
    room_id: int


class RoomJoined(Event):
    """You are in a room now (created, added, an invitation accepted, a first direct message)."""

    type: Literal["room.joined"] = "room.joined"
    data: RoomOut


class RoomUpdated(Event):
    """A room you are in changed: its name, members or invited people."""

    type: Literal["room.updated"] = "room.updated"
    data: RoomOut


class RoomInvited(Event):
    """You were invited into a group room."""

    type: Literal["room.invited"] = "room.invited"
    data: RoomInviteOut


class RoomUninvited(Event):
    """An invitation to you ended: declined (on any device), withdrawn, or its inviter left."""

    type: Literal["room.uninvited"] = "room.uninvited"
    data: RoomIdData


class RoomLeft(Event):
    """You are no longer in a room: you left it (on any device) or were removed."""

    type: Literal["room.left"] = "room.left"
    data: RoomIdData


class RoomRead(Event):
    """You marked a room read (on any device): its unread count now."""

    type: Literal["room.read"] = "room.read"
    data: ReadOut


class TypingData(EventData):
    room_id: int
    user: str = Field(description="Who is typing (a username)")


class TypingEvent(Event):
    """Someone is typing in one of your rooms; never stored."""

    type: Literal["typing"] = "typing"
    data: TypingData


# --- friends and presence -------------------------------------------------------------------


class FriendData(EventData):
    user: UserRef = Field(description="The other person")


class FriendRequest(Event):
    """Someone asked to be your friend."""

    type: Literal["friend.request"] = "friend.request"
    data: FriendData


class FriendAccepted(Event):
    """You and someone are friends now (either of you accepted)."""

    type: Literal["friend.accepted"] = "friend.accepted"
    data: FriendData


class FriendDeclined(Event):
    """Someone declined your friend request."""

    type: Literal["friend.declined"] = "friend.declined"
    data: FriendData


class FriendCancelled(Event):
    """Someone withdrew their friend request to you."""

    type: Literal["friend.cancelled"] = "friend.cancelled"
    data: FriendData


class FriendRemoved(Event):
    """A friendship ended (either side removed or blocked the other)."""

    type: Literal["friend.removed"] = "friend.removed"
    data: FriendData


class PresenceEvent(Event):
    """A friend's (or your own) presence changed: a status chosen, cleared or ended, or the
    connection (online, idle, offline). A request alone sends none: `last_active_at` moves
    without an event."""

    type: Literal["presence"] = "presence"
    data: PresenceOut


# --- accounts and access --------------------------------------------------------------------


class UserUpdated(Event):
    """Your account changed (its role, or it was disabled or enabled)."""

    type: Literal["user.updated"] = "user.updated"
    data: UserOut


class AuthRevokedData(EventData):
    credential_id: str | None = Field(
        description="The credential that stopped working; null: every credential of the user"
    )
    reason: str = Field(description='Why, for people: "logout", "token revoked"...')


class AuthRevoked(Event):
    """A credential stopped working; sockets using it are closed (4401) right after."""

    type: Literal["auth.revoked"] = "auth.revoked"
    data: AuthRevokedData


class WorkspaceAccessData(EventData):
    workspace_id: int
    role: WorkspaceRole | None = Field(description="Your role now; null: you are not in it")


class WorkspaceAccess(Event):
    """Your standing in a workspace changed (a role, removed, the workspace deleted)."""

    type: Literal["workspace.access"] = "workspace.access"
    data: WorkspaceAccessData


class PagesData(EventData):
    workspace_id: int
    page_id: int = Field(description="The root of the subtree")


class PagesArchived(Event):
    """A subtree of pages moved to the trash (read-only there)."""

    type: Literal["pages.archived"] = "pages.archived"
    data: PagesData


class PagesRestored(Event):
    """A subtree of pages came back from the trash."""

    type: Literal["pages.restored"] = "pages.restored"
    data: PagesData


# --- calls ----------------------------------------------------------------------------------


class IceServer(EventData):
    """A STUN or TURN server, in the RTCIceServer shape browsers take."""

    urls: str
    # Absent, not null, when not set: a browser would read null as the text "null".
    username: str | None = Field(default=None, exclude_if=_none)
    credential: str | None = Field(default=None, exclude_if=_none)


class CallTrack(EventData):
    """What one of your receive-only m-lines carries."""

    user: str
    kind: Literal["audio", "video"]
    source: str = Field(description="microphone, camera or screen")


class CallJoinedData(EventData):
    room_id: int
    participants: list[str]
    recording: list[str] = Field(description="Participants who record the call")
    ice_servers: list[IceServer]


class CallJoined(Event):
    """The answer to your `call.join`: you are in the call."""

    type: Literal["call.joined"] = "call.joined"
    data: CallJoinedData


class CallAnswerData(EventData):
    room_id: int
    sdp: str
    tracks: dict[str, CallTrack] = Field(description="mid -> what it carries")


class CallAnswer(Event):
    """The daemon's SDP answer to your `call.offer`."""

    type: Literal["call.answer"] = "call.answer"
    data: CallAnswerData


class CallTracksData(EventData):
    room_id: int
    tracks: dict[str, CallTrack] = Field(description="mid -> what it carries")


class CallTracks(Event):
    """What your receive-only m-lines carry changed (someone published, stopped or left)."""

    type: Literal["call.tracks"] = "call.tracks"
    data: CallTracksData


class CallRenegotiateData(EventData):
    room_id: int
    audio: int = Field(description="Receive-only audio m-lines to add")
    video: int = Field(description="Receive-only video m-lines to add")


class CallRenegotiate(Event):
    """Offer again with more receive-only m-lines: others publish more than you have slots."""

    type: Literal["call.renegotiate"] = "call.renegotiate"
    data: CallRenegotiateData


class CallKickedData(EventData):
    room_id: int
    reason: str = Field(description="social_schemas.KICKED_TAKEN_OVER or KICKED_REMOVED")


class CallKicked(Event):
    """You are out of the call without asking (joined elsewhere, removed from the room)."""

    type: Literal["call.kicked"] = "call.kicked"
    data: CallKickedData


class CallLeft(Event):
    """The answer to your `call.leave`."""

    type: Literal["call.left"] = "call.left"
    data: RoomIdData


class CallStarted(Event):
    """A call began in one of your rooms."""

    type: Literal["call.started"] = "call.started"
    data: RoomIdData


class CallEnded(Event):
    """The call in one of your rooms ended (its last participant left)."""

    type: Literal["call.ended"] = "call.ended"
    data: RoomIdData


class CallParticipantJoinedData(EventData):
    room_id: int
    user: str
    recording: bool


class CallParticipantJoined(Event):
    type: Literal["call.participant_joined"] = "call.participant_joined"
    data: CallParticipantJoinedData


class CallParticipantLeftData(EventData):
    room_id: int
    user: str
    reason: str = Field(description="left, disconnected, taken over, removed from the room...")


class CallParticipantLeft(Event):
    type: Literal["call.participant_left"] = "call.participant_left"
    data: CallParticipantLeftData


class CallRecordingData(EventData):
    room_id: int
    user: str
    active: bool = Field(description="True: they started recording; false: they stopped")


class CallRecording(Event):
    """A participant that records the call (a meeting-notes bot) joined or left."""

    type: Literal["call.recording"] = "call.recording"
    data: CallRecordingData


class CallConnectedData(EventData):
    room_id: int
    user: str
    recording: bool = False


class CallConnected(Event):
    """Reported by `coope call join --json` (and `coope notes record --json`) once the call's
    media flows; the daemon never sends it."""

    type: Literal["call.connected"] = "call.connected"
    data: CallConnectedData


class CallSpeakingData(EventData):
    room_id: int
    user: str
    speaking: bool
    level: float = Field(description="RMS audio level, 0 to 1")


class CallSpeaking(Event):
    """Reported by `coope call join --json` when someone starts or stops speaking; the daemon
    never sends it."""

    type: Literal["call.speaking"] = "call.speaking"
    data: CallSpeakingData


# --- the socket itself ----------------------------------------------------------------------


class ReadyData(EventData):
    user: UserOut
    auth: AuthKind


class ReadyEvent(Event):
    """The first event on an authenticated socket: who you are and how you proved it."""

    type: Literal["ready"] = "ready"
    data: ReadyData


class ErrorData(EventData):
    code: str = Field(description="A stable machine-readable code, as in REST error bodies")
    message: str
    client_id: str | None = Field(
        default=None, description="The client_id of the message refused, when it had one"
    )


class ErrorEvent(Event):
    """A message you sent was refused (or failed); the connection goes on."""

    type: Literal["error"] = "error"
    data: ErrorData


class PongData(EventData):
    id: str | int | None = Field(default=None, description="The id of the ping, as it came")


class PongEvent(Event):
    """The answer to a `ping`."""

    type: Literal["pong"] = "pong"
    data: PongData


# --- the union ------------------------------------------------------------------------------

AnyEvent = Annotated[
    MessageCreated
    | MessageUpdated
    | MessageDeleted
    | MessageSent
    | RoomJoined
    | RoomUpdated
    | RoomInvited
    | RoomUninvited
    | RoomLeft
    | RoomRead
    | TypingEvent
    | FriendRequest
    | FriendAccepted
    | FriendDeclined
    | FriendCancelled
    | FriendRemoved
    | PresenceEvent
    | UserUpdated
    | AuthRevoked
    | WorkspaceAccess
    | PagesArchived
    | PagesRestored
    | CallJoined
    | CallAnswer
    | CallTracks
    | CallRenegotiate
    | CallKicked
    | CallLeft
    | CallStarted
    | CallEnded
    | CallParticipantJoined
    | CallParticipantLeft
    | CallRecording
    | CallConnected
    | CallSpeaking
    | ReadyEvent
    | ErrorEvent
    | PongEvent,
    Field(discriminator="type"),
]
"""Every event type this version knows."""

ANY_EVENT: TypeAdapter[Event] = TypeAdapter(AnyEvent)
"""`AnyEvent` as a TypeAdapter, built once: for validating and for its JSON Schema."""


def _classes_by_type() -> dict[str, type[Event]]:
    union = get_args(AnyEvent)[0]
    return {cls.model_fields["type"].default: cls for cls in get_args(union)}


EVENT_TYPES: Mapping[str, type[Event]] = MappingProxyType(_classes_by_type())
"""Each known type's class: `EVENT_TYPES["message.created"] is MessageCreated`."""

# Left to right: the typed union first, and only what it refuses becomes a GenericEvent, in
# one pass over the text.
_PARSER: TypeAdapter[Event] = TypeAdapter(
    Annotated[AnyEvent | GenericEvent, Field(union_mode="left_to_right")],
    # Keys repeat in every event; values (bodies, times) hardly ever do: caching them only
    # kept about a megabyte of old messages' strings alive in a long-running front end.
    config=ConfigDict(cache_strings="keys"),
)


def parse_event(raw: str | bytes | bytearray | Mapping[str, Any]) -> Event:
    """Read one event from the socket (its JSON text, or the object already decoded).

    A known type becomes its class, ignoring fields a newer daemon added. An unknown type, or a
    known one whose data does not fit, becomes a `GenericEvent`. Raises `ValueError` only for
    what is not an event at all: not a JSON object, or one without a string `type` (or with a
    `data` that is not an object, a `seq` that is not an integer, a `ts` that is not a time).
    """
    try:
        if isinstance(raw, str | bytes | bytearray):
            return _PARSER.validate_json(raw, extra="ignore")
        if isinstance(raw, Mapping):
            return _PARSER.validate_python(dict(raw), extra="ignore")
    except ValidationError as exc:
        # The first error only: a huge input would make a huge message.
        first = exc.errors(include_url=False, include_input=False)[0]
        raise ValueError(f"not an event: {first['msg']}") from None
    except RecursionError:
        raise ValueError("not an event: nested too deeply") from None
    raise ValueError(f"not an event: a {type(raw).__name__}")


def event_json_schema() -> dict[str, Any]:
    """The JSON Schema of every event this version knows (`AnyEvent`), as sent."""
    schema: dict[str, Any] = _open(ANY_EVENT.json_schema(mode="serialization"))
    schema["title"] = "CoopeEvent"
    schema["description"] = (
        "One event on the coope websocket (/api/v1/ws), discriminated by its type. A type not"
        " listed here comes from a newer daemon: read it as {type, data, seq, ts}."
    )
    return schema


def _open(schema: Any) -> Any:
    """The schema without `additionalProperties: false`: a newer daemon may add fields to an
    event, and a reader that refused them would break on every upgrade."""
    if isinstance(schema, dict):
        return {
            key: _open(value)
            for key, value in schema.items()
            if not (key == "additionalProperties" and value is False)
        }
    if isinstance(schema, list):
        return [_open(item) for item in schema]
    return schema
