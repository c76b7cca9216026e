"""Every event the daemon sends is one its typed events describe.

Several people drive every feature over plain HTTP and read their event sockets straight off
the wire (no client library in between): each event received must parse into its own class,
never into `GenericEvent`, and together they must cover every class of the union.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp
import pytest
from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack

from coope.core.events import (
    EVENT_TYPES,
    AuthRevoked,
    CallAnswer,
    CallConnected,
    CallEnded,
    CallJoined,
    CallKicked,
    CallLeft,
    CallParticipantJoined,
    CallParticipantLeft,
    CallRecording,
    CallRenegotiate,
    CallSpeaking,
    CallStarted,
    CallTracks,
    ErrorEvent,
    Event,
    FriendAccepted,
    FriendCancelled,
    FriendDeclined,
    FriendRemoved,
    FriendRequest,
    GenericEvent,
    MessageCreated,
    MessageDeleted,
    MessageSent,
    MessageUpdated,
    PagesArchived,
    PagesRestored,
    PongEvent,
    PresenceEvent,
    ReadyEvent,
    RoomInvited,
    RoomJoined,
    RoomLeft,
    RoomRead,
    RoomUninvited,
    RoomUpdated,
    TypingEvent,
    UserUpdated,
    WorkspaceAccess,
    parse_event,
)
from coope.core.models import AuthKind
from coope.core.social_schemas import KICKED_TAKEN_OVER
from tests.conftest import DaemonFactory
from tests.daemon.sweep_world import Api
from tests.helpers import PATIENCE_S, RunningDaemon, assert_eventually

# A real call (ICE on loopback) among everything else.
pytestmark = pytest.mark.timeout(120)

# Reported by the CLI in its --json output (`coope call join`, `coope notes record`); the
# daemon never sends them, so no action here can make it.
NOT_FROM_THE_DAEMON = {CallConnected, CallSpeaking}

V1 = "/api/v1"
E = TypeVar("E", bound=Event)


@dataclass
class Listener:
    """One event socket, read straight off the wire: every text is parsed as it arrives."""

    name: str
    ws: aiohttp.ClientWebSocketResponse
    events: list[Event] = field(default_factory=list)
    _claimed: set[int] = field(default_factory=set)
    _reader: asyncio.Task[None] | None = None
    ready: ReadyEvent | None = None

    def start(self) -> None:
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        async for msg in self.ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                self.events.append(parse_event(msg.data))

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send_json(message)

    async def expect(self, cls: type[E], where: Callable[[E], bool] = lambda e: True) -> E:
        """The first event of the class (for which `where` holds) not returned before."""

        match: E | None = None

        def found() -> bool:
            nonlocal match
            for i, event in enumerate(self.events):
                if i not in self._claimed and isinstance(event, cls) and where(event):
                    self._claimed.add(i)
                    match = event
                    return True
            return False

        await assert_eventually(found, what=f"{cls.__name__} on {self.name}'s socket")
        assert match is not None
        return match

    async def closed(self) -> int | None:
        assert self._reader is not None
        await asyncio.wait_for(asyncio.shield(self._reader), PATIENCE_S)
        return self.ws.close_code

    async def aclose(self) -> None:
        await self.ws.close()
        if self._reader is not None:
            await self._reader


@dataclass
class Person:
    name: str
    token: str
    socket: Listener


class World:
    def __init__(self, http: aiohttp.ClientSession, daemon: RunningDaemon) -> None:
        self.http = http
        self.api = Api(http, daemon.url)
        self.ws_url = daemon.url.replace("http", "ws", 1) + V1 + "/ws"
        self.listeners: list[Listener] = []

    async def listen(self, name: str, token: str) -> Listener:
        ws = await self.http.ws_connect(self.ws_url, headers={"Authorization": f"Bearer {token}"})
        listener = Listener(name, ws)
        listener.start()
        self.listeners.append(listener)
        listener.ready = await listener.expect(ReadyEvent)
        return listener

    async def person(self, name: str) -> Person:
        token = await self.api.signup(name)
        return Person(name, token, await self.listen(name, token))

    async def do(self, who: Person, method: str, path: str, body: Any = None) -> Any:
        return await self.api.ok(method, V1 + path, who.token, json_body=body)

    def seen(self) -> list[Event]:
        return [e for listener in self.listeners for e in listener.events]

    async def aclose(self) -> None:
        for listener in self.listeners:
            await listener.aclose()


@pytest.fixture
async def world(start_daemon: DaemonFactory) -> AsyncIterator[World]:
    daemon = await start_daemon(ice_hosts=("127.0.0.1",))
    async with aiohttp.ClientSession() as http:
        world = World(http, daemon)
        try:
            yield world
        finally:
            await world.aclose()


class Caller:
    """A call participant's media end: a real aiortc peer that publishes a microphone."""

    def __init__(self, socket: Listener, room_id: int) -> None:
        self.socket = socket
        self.room_id = room_id
        self.pc = RTCPeerConnection(RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))

    async def offer(self, *, audio_slots: int) -> CallAnswer:
        self.pc.addTransceiver(AudioStreamTrack(), direction="sendonly")
        for _ in range(audio_slots):
            self.pc.addTransceiver("audio", direction="recvonly")
        await self.pc.setLocalDescription(await self.pc.createOffer())
        sources = {t.mid: "microphone" for t in self.pc.getTransceivers()[:1]}
        await self.socket.send(
            {
                "type": "call.offer",
                "room_id": self.room_id,
                "sdp": self.pc.localDescription.sdp,
                "sources": sources,
            }
        )
        answer = await self.socket.expect(CallAnswer)
        await self.pc.setRemoteDescription(RTCSessionDescription(answer.data.sdp, "answer"))
        # Connected before anything else happens: aioice leaves a consent task running when a
        # connection closes while its ICE checks are still in progress.
        await assert_eventually(
            lambda: self.pc.connectionState == "connected", what="the call's media connected"
        )
        return answer

    async def aclose(self) -> None:
        await self.pc.close()


async def test_every_event_sent_parses_into_its_typed_class(world: World) -> None:
    root = await world.person("root")  # the first account: the admin
    alice, bob, carol, dave = [await world.person(n) for n in ("alice", "bob", "carol", "dave")]
    assert alice.socket.ready is not None and alice.socket.ready.data.user.username == "alice"
    await alice.socket.expect(PresenceEvent, lambda e: e.data.username == "alice")

    # The socket itself.
    await alice.socket.send({"type": "ping", "id": "p-1"})
    assert (await alice.socket.expect(PongEvent)).data.id == "p-1"
    await alice.socket.send({"type": "frobnicate", "client_id": "c-0"})
    error = await alice.socket.expect(ErrorEvent)
    assert (error.data.code, error.data.client_id) == ("bad_request", "c-0")

    # Friends.
    for friend in (bob, carol):
        await world.do(alice, "POST", "/friends/requests", {"username": friend.name})
        await friend.socket.expect(FriendRequest, lambda e: e.data.user.username == "alice")
        await world.do(friend, "POST", "/friends/requests/alice/accept")
        await alice.socket.expect(
            FriendAccepted, lambda e, f=friend: e.data.user.username == f.name
        )
        await alice.socket.expect(PresenceEvent, lambda e, f=friend: e.data.username == f.name)
    await world.do(alice, "POST", "/friends/requests", {"username": "dave"})
    await world.do(dave, "POST", "/friends/requests/alice/decline")
    await alice.socket.expect(FriendDeclined, lambda e: e.data.user.username == "dave")
    await world.do(root, "POST", "/friends/requests", {"username": "dave"})
    await world.do(root, "DELETE", "/friends/requests/dave")
    await dave.socket.expect(FriendCancelled, lambda e: e.data.user.username == "root")
    await world.do(bob, "POST", "/friends/requests", {"username": "carol"})
    await world.do(carol, "POST", "/friends/requests/bob/accept")
    await world.do(bob, "DELETE", "/friends/carol")
    await carol.socket.expect(FriendRemoved, lambda e: e.data.user.username == "bob")

    # Rooms and messages.
    room = await world.do(alice, "POST", "/rooms", {"name": "standup", "members": ["bob", "carol"]})
    room_id = room["id"]
    for person in (alice, bob, carol):
        await person.socket.expect(RoomJoined, lambda e: e.data.id == room_id)
    await world.do(alice, "POST", f"/rooms/{room_id}/members", {"username": "dave"})
    assert (await dave.socket.expect(RoomInvited)).data.invited_by.username == "alice"
    await world.do(dave, "POST", f"/room-invites/{room_id}/decline")
    await dave.socket.expect(RoomUninvited, lambda e: e.data.room_id == room_id)
    await world.do(alice, "POST", f"/rooms/{room_id}/name", {"name": "daily"})
    await bob.socket.expect(RoomUpdated, lambda e: e.data.name == "daily")

    await alice.socket.send(
        {"type": "message.send", "room_id": room_id, "body": "hello", "client_id": "m-1"}
    )
    sent = await alice.socket.expect(MessageSent)
    message_id = sent.data.message.id
    created = await bob.socket.expect(MessageCreated)
    assert (created.data.id, created.seq) == (message_id, created.data.rev)
    await bob.socket.send({"type": "typing", "room_id": room_id})
    assert (await carol.socket.expect(TypingEvent)).data.user == "bob"
    await world.do(alice, "PATCH", f"/messages/{message_id}", {"body": "hello all"})
    await bob.socket.expect(MessageUpdated, lambda e: e.data.body == "hello all")
    await world.do(bob, "PUT", f"/messages/{message_id}/reactions/👋")
    await alice.socket.expect(MessageUpdated, lambda e: e.data.reactions == {"👋": ["bob"]})
    await world.do(bob, "POST", f"/rooms/{room_id}/read", {"seq": created.data.seq})
    assert (await bob.socket.expect(RoomRead)).data.unread == 0
    await world.do(alice, "DELETE", f"/messages/{message_id}")
    assert (await carol.socket.expect(MessageDeleted)).data.deleted

    # Accounts, workspaces and pages.
    await world.do(root, "POST", "/admin/users/carol/role", {"role": "admin"})
    assert (await carol.socket.expect(UserUpdated)).data.role == "admin"
    workspace = await world.do(alice, "POST", "/workspaces", {"name": "Team"})
    ws_id = workspace["id"]
    await world.do(
        alice, "PUT", f"/workspaces/{ws_id}/members", {"username": "bob", "role": "editor"}
    )
    access = await bob.socket.expect(WorkspaceAccess)
    assert (access.data.workspace_id, access.data.role) == (ws_id, "editor")
    page = await world.do(alice, "POST", f"/workspaces/{ws_id}/pages", {"title": "Plans"})
    await world.do(alice, "POST", f"/pages/{page['id']}/archive")
    assert (await bob.socket.expect(PagesArchived)).data.page_id == page["id"]
    await world.do(alice, "POST", f"/pages/{page['id']}/restore")
    await bob.socket.expect(PagesRestored)

    # A call: joined, published, taken over on another device, left and ended.
    callers: list[Caller] = []
    try:
        await alice.socket.send({"type": "call.join", "room_id": room_id})
        joined = await alice.socket.expect(CallJoined)
        assert joined.data.participants == ["alice"]
        await carol.socket.expect(CallStarted)
        await carol.socket.expect(CallParticipantJoined, lambda e: e.data.user == "alice")
        await bob.socket.send({"type": "call.join", "room_id": room_id, "recording": True})
        await bob.socket.expect(CallJoined)
        assert (await carol.socket.expect(CallRecording)).data.active

        callers.append(bob_media := Caller(bob.socket, room_id))
        await bob_media.offer(audio_slots=1)
        # Bob publishes and Alice, who offered nothing yet, has no slot for it.
        assert (await alice.socket.expect(CallRenegotiate)).data.audio == 1
        callers.append(alice_media := Caller(alice.socket, room_id))
        answer = await alice_media.offer(audio_slots=1)
        assert [t.user for t in answer.data.tracks.values()] == ["bob"]
        tracks = await bob.socket.expect(CallTracks)
        assert [(t.user, t.kind) for t in tracks.data.tracks.values()] == [("alice", "audio")]

        alice_phone = await world.listen("alice's phone", alice.token)
        await alice_phone.send({"type": "call.join", "room_id": room_id, "takeover": True})
        await alice_phone.expect(CallJoined)
        assert (await alice.socket.expect(CallKicked)).data.reason == KICKED_TAKEN_OVER
        await bob.socket.send({"type": "call.leave", "room_id": room_id})
        await bob.socket.expect(CallLeft)
        await carol.socket.expect(CallRecording, lambda e: not e.data.active)
        await carol.socket.expect(CallParticipantLeft, lambda e: e.data.user == "bob")
        await alice_phone.send({"type": "call.leave", "room_id": room_id})
        await carol.socket.expect(CallEnded)
    finally:
        for caller in callers:
            await caller.aclose()

    # Leaving the room, and a credential revoked while its socket is open.
    await world.do(carol, "POST", f"/rooms/{room_id}/leave")
    await carol.socket.expect(RoomLeft, lambda e: e.data.room_id == room_id)
    created_token = await world.do(alice, "POST", "/tokens", {"name": "bot"})
    bot = await world.listen("alice's bot", created_token["token"])
    assert bot.ready is not None and bot.ready.data.auth is AuthKind.API_TOKEN
    await world.do(alice, "DELETE", f"/tokens/{created_token['info']['id']}")
    await bot.expect(AuthRevoked, lambda e: e.data.reason == "token revoked")
    assert await bot.closed() == 4401

    seen = world.seen()
    unknown = [e for e in seen if isinstance(e, GenericEvent)]
    assert not unknown, f"events that fit no typed class: {unknown}"
    missing = set(EVENT_TYPES.values()) - NOT_FROM_THE_DAEMON - {type(e) for e in seen}
    assert not missing, f"never sent here: {sorted(c.__name__ for c in missing)}"
