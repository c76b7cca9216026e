"""Typed websocket events: each type has its class, parsing is forgiving of newer daemons and
strict only about what is not an event at all, and the JSON Schema describes what is sent."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

import coope.core.events as events
from coope.core.events import (
    EVENT_TYPES,
    AuthRevoked,
    AuthRevokedData,
    CallAnswer,
    CallAnswerData,
    CallConnected,
    CallConnectedData,
    CallEnded,
    CallJoined,
    CallJoinedData,
    CallKicked,
    CallKickedData,
    CallLeft,
    CallParticipantJoined,
    CallParticipantJoinedData,
    CallParticipantLeft,
    CallParticipantLeftData,
    CallRecording,
    CallRecordingData,
    CallRenegotiate,
    CallRenegotiateData,
    CallSpeaking,
    CallSpeakingData,
    CallStarted,
    CallTrack,
    CallTracks,
    CallTracksData,
    ErrorData,
    ErrorEvent,
    Event,
    FriendAccepted,
    FriendCancelled,
    FriendData,
    FriendDeclined,
    FriendRemoved,
    FriendRequest,
    GenericEvent,
    IceServer,
    MessageCreated,
    MessageDeleted,
    MessageSent,
    MessageSentData,
    MessageUpdated,
    PagesArchived,
    PagesData,
    PagesRestored,
    PongData,
    PongEvent,
    PresenceEvent,
    ReadyData,
    ReadyEvent,
    RoomIdData,
    RoomInvited,
    RoomJoined,
    RoomLeft,
    RoomRead,
    RoomUninvited,
    RoomUpdated,
    TypingData,
    TypingEvent,
    UserUpdated,
    WorkspaceAccess,
    WorkspaceAccessData,
    event_json_schema,
    parse_event,
)
from coope.core.models import AuthKind, PresenceState, Role, RoomKind, RoomRole, WorkspaceRole
from coope.core.schemas import UserOut
from coope.core.social_schemas import (
    MemberOut,
    MessageOut,
    PresenceOut,
    ReadOut,
    RoomInviteOut,
    RoomOut,
    UserRef,
)

WHEN = datetime(2025, 3, 1, 12, 30, tzinfo=UTC)
ALICE = UserRef(username="alice", display_name="Alice")
BOB = UserRef(username="bob", display_name="Bob B.")


def _message(**changes: Any) -> MessageOut:
    fields: dict[str, Any] = {
        "id": 7,
        "room_id": 3,
        "seq": 12,
        "rev": 12,
        "author": "alice",
        "client_id": "c-1",
        "body": "hello ☕",
        "reply_to": None,
        "created_at": WHEN,
        "edited_at": None,
        "deleted": False,
        "reactions": {"👍": ["bob"]},
    }
    return MessageOut(**(fields | changes))


def _room() -> RoomOut:
    return RoomOut(
        id=3,
        kind=RoomKind.GROUP,
        name="standup",
        members=[
            MemberOut(username="alice", role=RoomRole.ADMIN, last_read_seq=12),
            MemberOut(username="bob", role=RoomRole.MEMBER, last_read_seq=0),
        ],
        last_seq=12,
        unread=0,
        last_read_seq=12,
        invited=["carol"],
    )


def _user() -> UserOut:
    return UserOut(
        id=2,
        username="alice",
        display_name="Alice",
        role=Role.USER,
        disabled=False,
        created_at=WHEN,
    )


_TRACKS = {"1": CallTrack(user="bob", kind="audio", source="microphone")}
_ROOM = RoomIdData(room_id=3)

SAMPLES: list[Event] = [
    MessageCreated(data=_message(), seq=12),
    MessageUpdated(data=_message(rev=13, edited_at=WHEN), seq=13),
    MessageDeleted(data=_message(rev=14, body="", deleted=True), seq=14),
    MessageSent(data=MessageSentData(client_id="c-1", message=_message())),
    RoomJoined(data=_room()),
    RoomUpdated(data=_room()),
    RoomInvited(
        data=RoomInviteOut(
            room_id=3, room_name="standup", user=BOB, invited_by=ALICE, created_at=WHEN
        )
    ),
    RoomUninvited(data=_ROOM),
    RoomLeft(data=_ROOM),
    RoomRead(data=ReadOut(room_id=3, last_read_seq=12, unread=0)),
    TypingEvent(data=TypingData(room_id=3, user="bob")),
    FriendRequest(data=FriendData(user=ALICE)),
    FriendAccepted(data=FriendData(user=ALICE)),
    FriendDeclined(data=FriendData(user=BOB)),
    FriendCancelled(data=FriendData(user=BOB)),
    FriendRemoved(data=FriendData(user=BOB)),
    PresenceEvent(
        data=PresenceOut(username="bob", state=PresenceState.AWAY, text="lunch", last_seen_at=WHEN)
    ),
    UserUpdated(data=_user()),
    AuthRevoked(data=AuthRevokedData(credential_id=None, reason="account disabled")),
    WorkspaceAccess(data=WorkspaceAccessData(workspace_id=4, role=WorkspaceRole.VIEWER)),
    PagesArchived(data=PagesData(workspace_id=4, page_id=9)),
    PagesRestored(data=PagesData(workspace_id=4, page_id=9)),
    CallJoined(
        data=CallJoinedData(
            room_id=3,
            participants=["alice", "bob"],
            recording=["bob"],
            ice_servers=[
                IceServer(urls="stun:stun.example.org"),
                IceServer(urls="turn:turn.example.org", username="u", credential="p"),
            ],
        )
    ),
    CallAnswer(data=CallAnswerData(room_id=3, sdp="v=0\r\n", tracks=_TRACKS)),
    CallTracks(data=CallTracksData(room_id=3, tracks=_TRACKS)),
    CallRenegotiate(data=CallRenegotiateData(room_id=3, audio=1, video=0)),
    CallKicked(data=CallKickedData(room_id=3, reason="taken over")),
    CallLeft(data=_ROOM),
    CallStarted(data=_ROOM),
    CallEnded(data=_ROOM),
    CallParticipantJoined(data=CallParticipantJoinedData(room_id=3, user="bob", recording=True)),
    CallParticipantLeft(data=CallParticipantLeftData(room_id=3, user="bob", reason="left")),
    CallRecording(data=CallRecordingData(room_id=3, user="bob", active=False)),
    CallConnected(data=CallConnectedData(room_id=3, user="alice")),
    CallSpeaking(data=CallSpeakingData(room_id=3, user="bob", speaking=True, level=0.25)),
    ReadyEvent(data=ReadyData(user=_user(), auth=AuthKind.API_TOKEN)),
    ErrorEvent(data=ErrorData(code="bad_request", message="send a JSON object")),
    PongEvent(data=PongData(id="p-1")),
]


def _wire(event: Event) -> dict[str, Any]:
    return dict(json.loads(event.json_text))


def test_every_known_type_has_a_sample_here() -> None:
    assert sorted(e.type for e in SAMPLES) == sorted(EVENT_TYPES)


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_each_class_is_named_after_its_type(event_type: str) -> None:
    words = re.split(r"[._]", event_type)
    expected = "".join(w.capitalize() for w in words) + ("Event" if len(words) == 1 else "")
    cls = EVENT_TYPES[event_type]
    assert cls.__name__ == expected
    assert cls(data=next(e.data for e in SAMPLES if e.type == event_type)).type == event_type
    assert cls.__name__ in events.__all__


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.type)
def test_each_event_round_trips_through_its_json(event: Event) -> None:
    for raw in (event.json_text, event.json_text.encode(), _wire(event)):
        parsed = parse_event(raw)
        assert type(parsed) is type(event)
        assert parsed == event
        assert parsed.json_text == event.json_text


def test_the_wire_shape_is_type_data_seq_ts() -> None:
    sent = _wire(SAMPLES[0])
    assert list(sent) == ["type", "data", "seq", "ts"]
    assert sent["seq"] == 12 and sent["ts"].endswith("Z")
    assert sent["data"] == _message().model_dump(mode="json")
    # A missing client_id is null, never left out; an unset ICE credential is left out, as a
    # browser would take null for the text "null".
    assert _wire(ErrorEvent(data=ErrorData(code="x", message="y")))["data"]["client_id"] is None
    joined = _wire(next(e for e in SAMPLES if isinstance(e, CallJoined)))
    assert joined["data"]["ice_servers"][0] == {"urls": "stun:stun.example.org"}


def test_events_are_frozen_and_their_json_is_made_once() -> None:
    event = TypingEvent(data=TypingData(room_id=1, user="bob"))
    assert event.json_text is event.json_text
    with pytest.raises(ValidationError):
        event.seq = 4
    with pytest.raises(ValidationError):
        event.data.room_id = 2


def test_building_an_event_refuses_unknown_fields_and_wrong_data() -> None:
    with pytest.raises(ValidationError):
        TypingEvent(data=TypingData(room_id=1, user="bob"), sequence=3)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        TypingData(room_id=1, user="bob", who="x")  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        RoomLeft(data={"room": 1})
    with pytest.raises(ValidationError):
        RoomLeft(type="room.joined", data=_ROOM)  # type: ignore[arg-type]


def test_an_unknown_type_is_a_generic_event_with_everything_kept() -> None:
    raw = {"type": "poll.created", "data": {"id": 3, "options": ["a", "b"]}, "seq": 5}
    parsed = parse_event(json.dumps(raw))
    assert type(parsed) is GenericEvent
    assert (parsed.type, parsed.data, parsed.seq) == ("poll.created", raw["data"], 5)
    bare = parse_event({"type": "poll.closed"})
    assert (type(bare), bare.type, bare.data, bare.seq) == (GenericEvent, "poll.closed", {}, None)


def test_fields_a_newer_daemon_adds_are_ignored() -> None:
    sent = next(e for e in SAMPLES if isinstance(e, MessageSent))
    wire = _wire(sent)
    wire["region"] = "eu"  # beside the envelope's fields
    wire["data"]["priority"] = "high"  # in an event's own data model
    wire["data"]["message"]["thread"] = {"id": 1}  # in a REST model used by the event
    parsed = parse_event(json.dumps(wire))
    assert type(parsed) is MessageSent
    assert parsed == sent

    room = _wire(next(e for e in SAMPLES if isinstance(e, RoomJoined)))
    room["data"]["members"][0]["muted"] = True  # in a list of models
    assert type(parse_event(room)) is RoomJoined


@pytest.mark.parametrize(
    "data",
    [
        {"room_id": "three"},  # wrong type
        {},  # a field missing
        {"room_id": 3, "sdp": 5, "tracks": {}},  # not the sample's type at all
        None,  # no data
    ],
)
def test_a_known_type_whose_data_does_not_fit_is_a_generic_event(data: Any) -> None:
    raw: dict[str, Any] = {"type": "call.answer", "seq": None}
    if data is not None:
        raw["data"] = data
    parsed = parse_event(json.dumps(raw))
    assert type(parsed) is GenericEvent
    assert (parsed.type, parsed.data) == ("call.answer", data or {})


@pytest.mark.parametrize(
    "raw",
    [
        "[]",
        "3",
        "null",
        '"message.created"',
        "",
        "{not json",
        b"\xff\xfe",
        '{"data": {}}',  # no type
        '{"type": 3, "data": {}}',
        '{"type": "ready", "data": [1, 2]}',  # data that is not an object
        '{"type": "x", "seq": "first"}',
        '{"type": "x", "ts": "yesterday"}',
        ["type", "ready"],
    ],
)
def test_what_is_not_an_event_raises_value_error(raw: Any) -> None:
    with pytest.raises(ValueError, match="not an event"):
        parse_event(raw)


def test_huge_and_deep_input_is_read_or_refused_without_crashing() -> None:
    huge = _message(body="x" * 5_000_000)
    assert parse_event(MessageCreated(data=huge).json_text).data.body == huge.body

    with pytest.raises(ValueError, match="not an event"):
        parse_event("[" * 100_000 + "]" * 100_000)
    deep_text = '{"type": "x", "data": {"a": ' + "[" * 50_000 + "]" * 50_000 + "}}"
    with pytest.raises(ValueError, match="not an event"):
        parse_event(deep_text)

    deep: dict[str, Any] = {}
    node = deep
    for _ in range(20_000):
        node["a"] = {}
        node = node["a"]
    # Data however deep, that fits no data model (or no known type), is kept as it came.
    for event_type in ("call.answer", "poll.created"):
        parsed = parse_event({"type": event_type, "data": deep})
        assert type(parsed) is GenericEvent and parsed.data is not None

    many = json.dumps({"type": "x", "data": {str(i): i for i in range(200_000)}})
    assert len(parse_event(many).data) == 200_000


def test_parsing_builds_no_validator_per_call(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a TypeAdapter built while parsing")

    monkeypatch.setattr(events, "TypeAdapter", refuse)
    monkeypatch.setattr("pydantic.TypeAdapter", refuse)
    assert type(parse_event(SAMPLES[0].json_text)) is MessageCreated
    assert type(parse_event('{"type": "poll.created"}')) is GenericEvent


def test_the_json_schema_is_valid_and_describes_every_event_as_sent() -> None:
    schema = event_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert set(schema["discriminator"]["mapping"]) == set(EVENT_TYPES)
    validator = jsonschema.Draft202012Validator(schema)
    for event in SAMPLES:
        validator.validate(_wire(event))
    # What a newer daemon adds is allowed: readers generated from it skip it, as parse_event does.
    wire = _wire(SAMPLES[0])
    wire["data"]["thread"] = 1
    validator.validate(wire)
    # And what is wrong is not.
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(
            {"type": "room.left", "data": {"room_id": "three"}, "ts": WHEN.isoformat()}
        )
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({"type": "poll.created", "data": {}, "ts": WHEN.isoformat()})
