"""`client.live`: one websocket shared by every subscription, against an in-process daemon."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
from aiohttp import WSCloseCode, web

from coope.client import Backoff, ConnectionState, CoopeClient
from coope.client import feeds as feeds_module
from coope.client.feeds import Feed
from coope.core.errors import (
    DaemonUnreachable,
    Forbidden,
    InvalidInput,
    NotFound,
    Unauthenticated,
)
from coope.core.events import (
    AuthRevoked,
    CallJoined,
    CallLeft,
    Event,
    GenericEvent,
    MessageCreated,
    MessageSent,
    PongEvent,
    PresenceEvent,
    TypingEvent,
)
from coope.core.models import PresenceState
from coope.core.social_schemas import CLIENT_ID_MAX, PresenceOut
from coope.daemon.app import create_app
from coope.daemon.config import DaemonConfig
from coope.daemon.http.keys import WEBSOCKETS
from tests.conftest import DaemonFactory
from tests.daemon.social_helpers import group_room
from tests.helpers import PASSWORD, PATIENCE_S, RunningDaemon, assert_eventually
from tests.tools import redis_bus

T = TypeVar("T")


@pytest.fixture(params=["in-process", "redis"])
async def daemon(request: pytest.FixtureRequest, start_daemon: DaemonFactory) -> RunningDaemon:
    """Every test here on both buses: the daemon's live paths on Redis as on its own."""
    return await start_daemon(bus=await redis_bus() if request.param == "redis" else None)


@pytest.fixture
async def bob(daemon: RunningDaemon, alice: CoopeClient) -> AsyncIterator[CoopeClient]:
    async with await daemon.user("bob") as client:
        yield client


async def take(feed: Feed[T], count: int) -> list[T]:
    """The next `count` items of a feed."""
    return [await asyncio.wait_for(anext(feed), PATIENCE_S) for _ in range(count)]


async def test_twenty_rooms_presence_and_typing_share_one_socket(
    daemon: RunningDaemon, alice: CoopeClient, bob: CoopeClient
) -> None:
    rooms = [await group_room(alice, f"room{i}", [bob]) for i in range(20)]
    feeds = [alice.live.room(room.id, after=0) for room in rooms]
    presence = alice.live.events(PresenceEvent)
    typing = alice.live.events("typing")
    typed_rooms: list[int] = []
    handle = alice.live.on(TypingEvent, lambda event: typed_rooms.append(event.data.room_id))
    await alice.live.connect()

    await bob.live.connect()  # alice hears her friend come online
    online = await first_where(presence, lambda e: e.data.username == "bob")
    assert online.data.state == "online"
    for room in rooms:
        await bob.chat.send(room.id, f"hello {room.name}")
        await bob.chat.send(room.id, f"bye {room.name}")
    for room in rooms[:-1]:  # the last room is typed in later (one notice per room at a time)
        await bob.live.send({"type": "typing", "room_id": room.id})

    for room, feed in zip(rooms, feeds, strict=True):
        changes = await take(feed, 2)
        assert [(kind, m.room_id, m.body) for kind, m in changes] == [
            ("created", room.id, f"hello {room.name}"),
            ("created", room.id, f"bye {room.name}"),
        ]
    typing_events = await take(typing, 19)
    assert [e.data.room_id for e in typing_events] == [room.id for room in rooms[:-1]]
    assert all(isinstance(e, TypingEvent) and e.data.user == "bob" for e in typing_events)
    assert typed_rooms == [room.id for room in rooms[:-1]]

    handle.unsubscribe()
    await bob.live.send({"type": "typing", "room_id": rooms[-1].id})
    [last] = await take(typing, 1)  # dispatched: a callback still there would have run by now
    assert isinstance(last, TypingEvent) and last.data.room_id == rooms[-1].id
    assert len(typed_rooms) == 19

    # One socket each at the daemon, for everything alice and bob subscribed to.
    assert len(daemon.app[WEBSOCKETS]) == 2
    assert (alice.live.stats.connects, alice.live.stats.most_open_sockets) == (1, 1)
    for feed in feeds:
        await feed.aclose()
    await presence.aclose()
    await typing.aclose()


async def first_where(feed: Feed[T], found: Callable[[T], bool]) -> T:
    """The first item of `feed` for which `found` holds, skipping the others."""
    while not found(item := await asyncio.wait_for(anext(feed), PATIENCE_S)):
        pass
    return item


async def test_a_revoked_credential_ends_every_subscription_without_retrying(
    daemon: RunningDaemon, alice: CoopeClient, bob: CoopeClient
) -> None:
    room = await group_room(alice, "ops", [bob])
    created = await alice.tokens.create("bot")
    async with daemon.client(created.token) as bot:
        feed = bot.live.room(room.id, after=0)
        events = bot.live.events()
        await bot.live.connect()
        await bob.chat.send(room.id, "before")
        [(_, before)] = await take(feed, 1)
        assert before.body == "before"

        await alice.tokens.revoke(created.info.id)
        seen = []
        with pytest.raises(Unauthenticated, match="revoked"):
            async for event in events:
                seen.append(event)
        assert any(isinstance(e, AuthRevoked) for e in seen)
        with pytest.raises(Unauthenticated):
            await anext(feed)
        assert bot.live.state == "closed"
        assert isinstance(bot.live.error, Unauthenticated)
        assert bot.live.stats.connects == 1  # and nothing tries again
        with pytest.raises(Unauthenticated):
            await bot.live.connect()  # a new attempt is refused at the door


async def test_a_first_attempt_that_fails_says_why_at_once(
    daemon: RunningDaemon, alice: CoopeClient
) -> None:
    async with daemon.client() as anonymous:
        with pytest.raises(Unauthenticated, match="log in first"):
            await anonymous.live.connect()
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()  # nothing listens there any more
    async with CoopeClient(f"http://127.0.0.1:{port}", alice.token) as nowhere:
        feed = nowhere.live.room(1, after=0)
        with pytest.raises(DaemonUnreachable):
            await anext(feed)
        assert nowhere.live.state == "closed"


async def test_leaving_a_room_ends_its_feed_and_no_other(
    alice: CoopeClient, bob: CoopeClient
) -> None:
    kept, left = await group_room(alice, "kept", [bob]), await group_room(alice, "left", [bob])
    kept_feed, left_feed = bob.live.room(kept.id, after=0), bob.live.room(left.id, after=0)
    await alice.chat.send(left.id, "last words")
    [(_, message)] = await take(left_feed, 1)
    assert message.body == "last words"
    await bob.chat.leave(left.id)
    with pytest.raises(NotFound, match=f"no longer in room {left.id}"):
        await anext(left_feed)
    await alice.chat.send(kept.id, "still here")
    [(_, message)] = await take(kept_feed, 1)
    assert message.body == "still here"
    await kept_feed.aclose()


async def test_requests_get_their_own_answers_or_errors(
    alice: CoopeClient, bob: CoopeClient
) -> None:
    room = await group_room(alice, "chat", [bob])
    pong = await alice.live.request({"type": "ping", "id": 7}, PongEvent)
    assert isinstance(pong, PongEvent) and pong.data.id == 7
    good = alice.live.request(
        {"type": "message.send", "room_id": room.id, "body": "hi"}, MessageSent
    )
    bad = alice.live.request(
        {"type": "message.send", "room_id": room.id + 1000, "body": "hi"}, MessageSent
    )
    sent, refused = await asyncio.gather(good, bad, return_exceptions=True)
    assert isinstance(sent, MessageSent) and sent.data.message.body == "hi"
    assert isinstance(refused, NotFound)


async def test_a_client_id_the_daemon_would_not_name_is_refused_at_once(
    alice: CoopeClient, bob: CoopeClient
) -> None:
    room = await group_room(alice, "ids", [bob])
    nowhere = {"type": "message.send", "room_id": room.id + 1000, "body": "hi"}
    # The daemon drops a client_id this long from its error, which would find no request.
    for client_id in ("x" * (CLIENT_ID_MAX + 1), "", 7):
        with pytest.raises(InvalidInput, match="client_id"):
            await alice.live.request({**nowhere, "client_id": client_id}, MessageSent)
    with pytest.raises(NotFound):  # the longest it names: its error comes back
        await alice.live.request({**nowhere, "client_id": "x" * CLIENT_ID_MAX}, MessageSent)


async def test_requests_whose_answers_do_not_name_them_each_get_their_own(
    alice: CoopeClient, bob: CoopeClient
) -> None:
    pongs = await asyncio.gather(
        *(alice.live.request({"type": "ping", "id": n}, "pong") for n in range(5))
    )
    assert [pong.data.id for pong in pongs] == list(range(5))

    rooms = [await group_room(alice, f"call{i}", [bob]) for i in range(2)]
    joined = await asyncio.gather(
        *(
            alice.live.request(
                {"type": "call.join", "room_id": room.id, "receive_video": False}, CallJoined
            )
            for room in rooms
        )
    )
    assert [event.data.room_id for event in joined] == [room.id for room in rooms]
    for room in rooms:
        await alice.live.request({"type": "call.leave", "room_id": room.id}, CallLeft)


async def test_a_refusal_ends_every_callback_and_the_state_says_so(
    daemon: RunningDaemon, alice: CoopeClient, bob: CoopeClient
) -> None:
    room = await group_room(alice, "watched", [bob])
    heard: list[TypingEvent] = []
    states: list[ConnectionState] = []
    alice.live.on_state(states.append)
    alice.live.on(TypingEvent, heard.append)
    await alice.live.connect()
    [socket] = daemon.app[WEBSOCKETS]  # alice's: nobody else is connected yet
    await socket.close(code=4403, message=b"no longer allowed")
    await alice.live.wait_for_state("closed")
    assert isinstance(alice.live.error, Forbidden)

    # A later subscription opens a new connection, which serves only what is subscribed now.
    typing = alice.live.events(TypingEvent)
    await alice.live.connect()
    await bob.live.send({"type": "typing", "room_id": room.id})
    [event] = await take(typing, 1)  # dispatched: a callback still there would have run
    assert event.data.room_id == room.id
    assert heard == []
    assert states == ["connecting", "connected", "closed", "connecting", "connected"]
    await typing.aclose()


async def test_an_event_of_a_known_type_that_cannot_be_read_reaches_only_untyped_readers(
    daemon: RunningDaemon, alice: CoopeClient
) -> None:
    by_name, by_class = alice.live.events("presence"), alice.live.events(PresenceEvent)
    unknown, everything = alice.live.events("gadget.spun"), alice.live.events()
    called: list[Event] = []
    alice.live.on("presence", called.append)
    await alice.live.connect()
    [socket] = daemon.app[WEBSOCKETS]  # alice's, on the daemon's side
    await socket.send_str(json.dumps({"type": "presence", "data": {"username": 42}}))
    await socket.send_str(json.dumps({"type": "gadget.spun", "data": {"turns": 3}}))
    zed = PresenceOut(username="zed", state=PresenceState.ONLINE, text="", last_seen_at=None)
    await socket.send_str(PresenceEvent(data=zed).json_text)

    def is_zed(event: Event) -> bool:
        return isinstance(event, PresenceEvent) and event.data.username == "zed"

    typed: list[Event] = [
        *await read_until(by_name, is_zed),
        *await read_until(by_class, is_zed),
        *called,
    ]
    assert all(isinstance(event, PresenceEvent) for event in typed), typed
    [gadget] = await take(unknown, 1)
    assert isinstance(gadget, GenericEvent) and gadget.data == {"turns": 3}
    read = await read_until(everything, is_zed)
    generic = [(e.type, e.data) for e in read if isinstance(e, GenericEvent)]
    assert generic == [("presence", {"username": 42}), ("gadget.spun", {"turns": 3})]
    for feed in (by_name, by_class, unknown, everything):
        await feed.aclose()


async def read_until(feed: Feed[T], last: Callable[[T], bool]) -> list[T]:
    """The items of `feed` up to and with the first for which `last` holds."""
    read = [await asyncio.wait_for(anext(feed), PATIENCE_S)]
    while not last(read[-1]):
        read.append(await asyncio.wait_for(anext(feed), PATIENCE_S))
    return read


async def test_closing_the_client_ends_every_iterator_cleanly(
    alice: CoopeClient, bob: CoopeClient
) -> None:
    room = await group_room(alice, "quiet", [bob])
    states: list[ConnectionState] = []
    alice.live.on_state(states.append)

    changes: list[Any] = []
    events: list[Any] = []

    async def read(feed: Feed[Any], into: list[Any]) -> None:
        async for item in feed:
            into.append(item)

    readers = [
        asyncio.create_task(read(alice.live.room(room.id, after=0), changes)),
        asyncio.create_task(read(alice.live.events(MessageCreated), events)),
    ]
    await alice.live.wait_for_state("connected")
    await bob.chat.send(room.id, "one")
    await assert_eventually(lambda: len(changes) == len(events) == 1, what="the message")
    await alice.aclose()
    await asyncio.wait_for(asyncio.gather(*readers), PATIENCE_S)  # ended, and without an error
    assert states == ["connecting", "connected", "closed"]


async def test_an_injected_session_stays_open_and_timeouts_apply(daemon: RunningDaemon) -> None:
    async with aiohttp.ClientSession() as http:
        client = CoopeClient(daemon.url, session=http, timeout=10)
        await client.auth.signup("carol", PASSWORD)
        await client.live.connect()
        await client.aclose()
        assert not http.closed
        assert client.live.state == "closed"
        async with http.get(daemon.url + "/api/v1/health") as answer:
            assert answer.status == 200

    held: list[asyncio.StreamWriter] = []
    silent = await asyncio.start_server(lambda r, w: held.append(w), "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    try:
        async with CoopeClient(f"http://127.0.0.1:{port}", timeout=0.2) as client:
            with pytest.raises(DaemonUnreachable):
                await client.health()
    finally:
        for writer in held:
            writer.close()
        silent.close()
        await silent.wait_closed()
    with pytest.raises(ValueError, match="positive"):
        CoopeClient(daemon.url, timeout=0)


def test_backoff_is_exponential_capped_and_fully_jittered() -> None:
    half = Backoff(base_s=1.0, cap_s=8.0, rng=lambda: 0.5)
    assert [half.delay(n) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert Backoff(base_s=1.0, cap_s=8.0, rng=lambda: 0.0).delay(3) == 0.0
    values = iter([0.25, 0.75, 0.1])
    jittered = Backoff(base_s=2.0, cap_s=100.0, rng=lambda: next(values))
    assert [jittered.delay(n) for n in range(3)] == [0.5, 3.0, 0.8]
    assert Backoff(base_s=1.0, cap_s=30.0, rng=lambda: 0.5).delay(10_000) == 15.0


class _Daemon:
    """An in-process daemon that can be stopped and started again on the same port and data."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = 0
        self.app: web.Application | None = None
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        config = DaemonConfig(data_dir=self.data_dir, host="127.0.0.1", port=0, scrypt_log2_n=10)
        self.app = create_app(config)
        self._runner = web.AppRunner(self.app, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        self.port = self._runner.addresses[0][1]
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


async def test_reconnects_back_off_and_start_over_only_after_a_connection_that_lasted(
    tmp_path: Path,
) -> None:
    server = _Daemon(tmp_path / "data")
    delays: list[float] = []
    gate = asyncio.Event()
    now = 0.0  # the backoff's clock: a connection "lasts" once it moves on by cap_s

    async def sleep(delay: float) -> None:
        delays.append(delay)
        if len(delays) == 5:  # the daemon is down: hold the fifth attempt until it is back
            await gate.wait()

    async def drop_every_socket(code: int, reason: bytes) -> None:
        assert server.app is not None
        connects = client.live.stats.connects
        for ws in server.app[WEBSOCKETS].copy():
            await ws.close(code=code, message=reason)
        await assert_eventually(lambda: client.live.stats.connects == connects + 1)

    backoff = Backoff(base_s=1.0, cap_s=4.0, rng=lambda: 0.5, sleep=sleep, clock=lambda: now)
    try:
        url = await server.start()
        async with CoopeClient(url, reconnect=backoff) as client:
            await client.auth.signup("dora", PASSWORD)
            states: list[ConnectionState] = []
            client.live.on_state(states.append)
            await client.live.connect()

            await server.stop()  # the socket closes, and every attempt is refused
            await assert_eventually(lambda: len(delays) == 5, what="five attempts")
            assert delays == [0.5, 1.0, 2.0, 2.0, 2.0]
            assert client.live.state == "reconnecting"
            await server.start()
            gate.set()
            await client.live.wait_for_state("connected")

            # A daemon that takes the connection and drops it at once: the count goes on.
            await drop_every_socket(WSCloseCode.GOING_AWAY, b"restarting")
            assert delays[5:] == [2.0]
            # "Too far behind" goes on counting too, however long the connection lasted.
            now += 60.0
            await drop_every_socket(WSCloseCode.TRY_AGAIN_LATER, b"too far behind")
            assert delays[6:] == [2.0]
            # A connection that stayed up as long as the longest wait starts the count over.
            now += 4.0
            await drop_every_socket(WSCloseCode.GOING_AWAY, b"restarting")
            assert delays[7:] == [0.5]
            await drop_every_socket(WSCloseCode.GOING_AWAY, b"restarting")
            assert delays[8:] == [1.0]

            assert states == ["connecting", "connected"] + ["reconnecting", "connected"] * 5
            assert client.live.stats.most_open_sockets == 1
    finally:
        await server.stop()


async def test_a_reader_that_falls_behind_loses_events_but_never_room_changes(
    alice: CoopeClient, bob: CoopeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feeds_module, "INBOX_CAPACITY", 5)
    room = await group_room(alice, "busy", [bob])
    changes = alice.live.room(room.id, after=0)
    events = alice.live.events(MessageCreated)
    await alice.live.connect()
    bodies = [f"message {i}" for i in range(20)]
    for body in bodies:
        await bob.chat.send(room.id, body)
    await assert_eventually(lambda: alice.live.stats.dropped_events == 15, what="15 dropped")

    assert [m.body for _, m in await take(changes, 20)] == bodies  # fetched in its place
    assert [e.data.body for e in await take(events, 5)] == bodies[-5:]  # the newest kept
    await changes.aclose()
    await events.aclose()
