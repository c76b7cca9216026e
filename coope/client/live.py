"""`client.live`: the one connection to the daemon's event socket that everything shares.

    async with CoopeClient(server, token) as client:
        async for kind, message in client.live.room(room_id, after=last_seq): ...
        async for event in client.live.events("presence", "typing"): ...
        handle = client.live.on("friend.request", callback); handle.unsubscribe()

Every subscription (rooms, typed events, callbacks, call signalling) rides on one websocket to
`/api/v1/ws`, opened on first use (or by `connect()`). When it drops, the connection comes back
by itself after an exponential backoff with full jitter, and every room follower fetches what
it missed from its last sequence number (see `coope.client.follow`): nothing lost, nothing twice.
A close the daemon means for good (4401: the credential was revoked; any other 44xx) ends every
subscription with that error instead; a close that says "try again" (1013: too far behind) is
just a drop. `state` says where the connection stands, for a status line:

    closed --connect()--> connecting --> connected --drop--> reconnecting --> connected ...
        ^                     |                                   |
        +-- aclose(), or a refusal (or a first attempt that fails) +

Events are handed out in the order the daemon sent them. A consumer too slow to keep up loses
the oldest events of its own iterator (a room follower loses nothing: it fetches instead).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Generic, Literal, TypeVar, overload

from coope.client.events import EventSocket, event_or_none
from coope.client.follow import RESYNC, Change, ChangeKind, FetchChanges, Resync, follow
from coope.client.transport import Transport
from coope.core.errors import (
    CoopeError,
    DaemonUnreachable,
    InternalError,
    NotFound,
    Unavailable,
    error_from_body,
)
from coope.core.events import (
    ErrorEvent,
    Event,
    MessageCreated,
    MessageDeleted,
    MessageUpdated,
    ReadyEvent,
    RoomLeft,
)
from coope.core.schemas import UserOut

log = logging.getLogger(__name__)

ConnectionState = Literal["connecting", "connected", "reconnecting", "closed"]
ServerEvent = Event
"""Every event is one of the typed classes of `coope.core.events`, or a `GenericEvent`."""
E = TypeVar("E", bound=ServerEvent)
T = TypeVar("T")
EventKind = str | type[ServerEvent]
"""A type string (`"presence"`; `"call.*"` for every type under `call.`) or an event class."""

_CHANGE_KINDS: dict[type[Event], ChangeKind] = {
    MessageCreated: "created",
    MessageUpdated: "updated",
    MessageDeleted: "deleted",
}
INBOX_CAPACITY = 1000
DEFAULT_REPLY_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Backoff:
    """How long to wait before reconnect attempt `n` (0, 1, 2... since the last connection):
    a uniform random time in [0, min(cap_s, base_s * 2**n)], "full jitter", so that clients
    cut off together do not all come back at the same moment.

    `rng` (values in [0, 1)) and `sleep` are there to be replaced in tests.
    """

    base_s: float = 0.25
    cap_s: float = 15.0
    rng: Callable[[], float] = random.random
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    def delay(self, attempt: int) -> float:
        return self.rng() * min(self.cap_s, self.base_s * 2.0 ** min(attempt, 64))

    async def wait(self, attempt: int) -> None:
        await self.sleep(self.delay(attempt))


class Handle:
    """What `on()` and `on_state()` return: `unsubscribe()` stops the callback (idempotent)."""

    def __init__(self, remove: Callable[[], None]) -> None:
        self._remove: Callable[[], None] | None = remove

    def unsubscribe(self) -> None:
        if self._remove is not None:
            self._remove()
            self._remove = None


class _Inbox(Generic[T]):
    """One subscription's queue: the connection puts, one consumer gets.

    Bounded: when full, a room's inbox is replaced by one `Resync` (the follower fetches what
    it would have read); any other drops its oldest item (counted in `LiveStats`).
    """

    def __init__(self, live: Live, resync: T | None = None) -> None:
        self._live = live
        self._items: deque[T] = deque()
        self._resync = resync
        self._wakeup = asyncio.Event()
        self._ended = False
        self._error: CoopeError | None = None

    def put(self, item: T) -> None:
        if self._ended:
            return
        if len(self._items) >= INBOX_CAPACITY:
            if self._resync is not None:
                self._items.clear()
                item = self._resync
            else:
                self._items.popleft()
                self._live.stats.dropped_events += 1
        self._items.append(item)
        self._wakeup.set()

    def end(self, error: CoopeError | None) -> None:
        """Nothing comes after what is queued; then `get()` returns None or raises `error`."""
        if not self._ended:
            self._ended, self._error = True, error
            self._wakeup.set()

    async def get(self) -> T | None:
        while not self._items:
            if self._ended:
                if self._error is not None:
                    raise self._error
                return None
            self._wakeup.clear()
            await self._wakeup.wait()
        return self._items.popleft()

    # What a room follower also asks of its inbox (coope.client.follow.RoomInbox).

    @property
    def connected(self) -> bool:
        return self._live.state == "connected"

    async def pause(self, attempt: int) -> None:
        await self._live.backoff.wait(attempt)


class Feed(Generic[T]):
    """An async iterator over one subscription, registered from the moment it is made (nothing
    is missed between making it and starting to read). `aclose()`, `async with`, or reading to
    the end unsubscribes it.

    Cancelling a read of an event feed loses nothing (`asyncio.wait_for(anext(feed), 5)` is
    fine); a room feed is a generator, which a cancelled read ends: it is closed then.
    """

    def __init__(
        self,
        next_item: Callable[[], Awaitable[T | None]],
        unsubscribe: Callable[[], None],
        generator: AsyncGenerator[T, None] | None = None,
    ) -> None:
        self._next = next_item
        self._unsubscribe: Callable[[], None] | None = unsubscribe
        self._generator = generator

    @classmethod
    def of_generator(
        cls, items: AsyncGenerator[T, None], unsubscribe: Callable[[], None]
    ) -> Feed[T]:
        return cls(lambda: anext(items, None), unsubscribe, items)

    def __aiter__(self) -> Feed[T]:
        return self

    async def __anext__(self) -> T:
        if self._unsubscribe is None:
            raise StopAsyncIteration
        try:
            item = await self._next()
        except asyncio.CancelledError:
            if self._generator is not None:
                await self.aclose()
            raise
        except BaseException:
            await self.aclose()
            raise
        if item is None:
            await self.aclose()
            raise StopAsyncIteration
        return item

    async def aclose(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
            if self._generator is not None:
                await self._generator.aclose()

    async def __aenter__(self) -> Feed[T]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


@dataclass
class LiveStats:
    """Counters for a status line or a test: how often the connection came up, how many
    sockets were ever open at once (one, unless something is badly wrong), and how many events
    readers too slow to keep up lost."""

    connects: int = 0
    open_sockets: int = 0
    most_open_sockets: int = 0
    dropped_events: int = 0


@dataclass(eq=False)
class _Listener:
    matches: Callable[[ServerEvent], bool]
    callback: Callable[[Any], None]


@dataclass(eq=False)
class _Request:
    client_id: str
    is_reply: Callable[[ServerEvent], bool]
    future: asyncio.Future[ServerEvent] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    def offer(self, event: ServerEvent) -> None:
        if self.future.done():
            return
        answers = getattr(event.data, "client_id", None)
        if isinstance(event, ErrorEvent):
            if answers == self.client_id:
                self.future.set_exception(error_from_body({"error": event.data.model_dump()}, 0))
        elif answers in (None, self.client_id) and self.is_reply(event):
            # A reply that names the message it answers is nobody else's.
            self.future.set_result(event)


class Live:
    """The client's live connection; made by `CoopeClient` as `client.live`.

    Args:
        transport: The client's transport (server, credential, aiohttp session).
        fetch_changes: `chat.changes`, for room followers to fetch what they missed.
        backoff: The delays between reconnect attempts.
        heartbeat_s: How often to ping the daemon, so a dead connection is noticed.
    """

    def __init__(
        self,
        transport: Transport,
        fetch_changes: FetchChanges,
        *,
        backoff: Backoff | None = None,
        heartbeat_s: float = 20.0,
    ) -> None:
        self._t = transport
        self._fetch = fetch_changes
        self.backoff = backoff or Backoff()
        self._heartbeat = heartbeat_s
        self._state: ConnectionState = "closed"
        self._state_changed = asyncio.Event()
        self._state_listeners: list[Callable[[ConnectionState], None]] = []
        self._task: asyncio.Task[None] | None = None
        self._socket: EventSocket | None = None
        self._rooms: dict[int, list[_Inbox[Change | Resync]]] = {}
        self._feeds: list[tuple[Callable[[ServerEvent], bool], _Inbox[ServerEvent]]] = []
        self._listeners: list[_Listener] = []
        self._requests: list[_Request] = []
        self._closing = False
        self.ready: ReadyEvent | None = None
        self.error: CoopeError | None = None
        self.stats = LiveStats()

    # --- state -------------------------------------------------------------------------------

    @property
    def state(self) -> ConnectionState:
        return self._state

    @property
    def user(self) -> UserOut | None:
        """Who the daemon says we are, once connected."""
        return None if self.ready is None else self.ready.data.user

    def on_state(self, callback: Callable[[ConnectionState], None]) -> Handle:
        """Call `callback(state)` on every change of `state` (from the connection's task)."""
        self._state_listeners.append(callback)
        return Handle(lambda: _discard(self._state_listeners, callback))

    async def wait_for_state(self, *states: ConnectionState) -> ConnectionState:
        """Until `state` is one of `states`; returns it."""
        while self._state not in states:
            changed = self._state_changed
            await changed.wait()
        return self._state

    def _set_state(self, state: ConnectionState) -> None:
        if state == self._state:
            return
        self._state = state
        changed, self._state_changed = self._state_changed, asyncio.Event()
        changed.set()
        for callback in list(self._state_listeners):
            _call_safely(callback, state)

    # --- connecting --------------------------------------------------------------------------

    async def connect(self) -> None:
        """Open the connection (if no subscription did yet) and wait until it is up.

        Raises:
            Unauthenticated: No credential, or the daemon refused it.
            DaemonUnreachable: The first attempt found no daemon, or the connection is down
                and being made again (`wait_for_state("connected")` waits for that).
        """
        await self._connected_socket()

    async def _connected_socket(self) -> EventSocket:
        """The open socket; waits while the first connection is being made. While the
        connection is being made again, there is none: sending now would only hang."""
        self._start()
        state = await self.wait_for_state("connected", "reconnecting", "closed")
        if state == "connected" and self._socket is not None:
            return self._socket
        if state == "closed":
            raise self.error or InternalError("the live connection is closed")
        raise DaemonUnreachable("the connection to the daemon dropped; it is being made again")

    def _start(self) -> None:
        if self._task is None or self._task.done():
            self.error = None
            self._set_state("connecting")
            self._task = asyncio.create_task(self._run(), name="coope-live")

    def _start_if_possible(self) -> None:
        """Start connecting when called inside a running loop (subscriptions made before one
        runs are served once something awaits)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        self._start()

    async def _run(self) -> None:
        attempt, ever_connected = 0, False
        try:
            while True:
                socket = EventSocket(self._t, self._heartbeat)
                try:
                    ready = await socket.open()
                except asyncio.CancelledError:
                    await socket.aclose()  # closed while the handshake was under way
                    raise
                except CoopeError as exc:
                    await socket.aclose()
                    # The first attempt says what is wrong at once (no daemon there, no
                    # credential); a refusal is final; anything else is a daemon coming back.
                    if not ever_connected or _is_refusal(exc):
                        self._finish(exc)
                        return
                    await self.backoff.wait(attempt)
                    attempt += 1
                    continue
                ever_connected, attempt = True, 0
                await self._serve(socket, ready)
                if self._state == "closed":  # refused for good
                    return
                await self.backoff.wait(attempt)
                attempt += 1
        except Exception as exc:  # a bug of ours: end every subscription rather than hang them
            log.exception("the live connection failed")
            self._finish(InternalError(f"the live connection failed: {exc!r}"))

    async def _serve(self, socket: EventSocket, ready: ReadyEvent) -> None:
        """Read one connection until it closes; then the state says what comes next."""
        self.stats.connects += 1
        self.stats.open_sockets += 1
        self.stats.most_open_sockets = max(self.stats.most_open_sockets, self.stats.open_sockets)
        self._socket, self.ready = socket, ready
        try:
            for inboxes in self._rooms.values():
                for inbox in inboxes:
                    inbox.put(RESYNC)
            self._set_state("connected")
            while (text := await socket.receive()) is not None:
                self._dispatch(text)
        finally:
            # No await until the state is told: nobody may take the closed socket for open.
            self._socket = None
            self.stats.open_sockets -= 1
            refusal = socket.refusal()
            # A reply can only come on the socket its request went out on.
            self._fail_requests(
                refusal or DaemonUnreachable("the connection to the daemon dropped")
            )
            if refusal is not None:
                self._finish(refusal)
            elif not self._closing:
                self._set_state("reconnecting")
            await socket.aclose()

    def _finish(self, error: CoopeError | None) -> None:
        """The end of this connection for good: every subscription ends with `error`."""
        self.error = error
        self._fail_requests(error or InternalError("the live connection is closed"))
        for inboxes in self._rooms.values():
            for inbox in inboxes:
                inbox.end(error)
        for _, feed in self._feeds:
            feed.end(error)
        self._rooms.clear()
        self._feeds.clear()
        self._set_state("closed")

    async def aclose(self) -> None:
        """Close the connection: every iterator ends (cleanly), every callback is dropped.
        A subscription made afterwards opens a new connection, as a request opens a new
        HTTP session."""
        self._closing = True
        try:
            if self._task is not None:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            self._finish(None)
            self._listeners.clear()
            self._state_listeners.clear()
        finally:
            self._closing = False

    # --- incoming ----------------------------------------------------------------------------

    def _dispatch(self, text: str) -> None:
        # A change whose data no longer fits its class arrives as a `GenericEvent` and goes to
        # no room: the next change shows the gap, and the room fetches.
        event = event_or_none(text)
        if event is None:
            return
        for request in list(self._requests):
            request.offer(event)
        if isinstance(event, RoomLeft | MessageCreated | MessageUpdated | MessageDeleted):
            self._to_room(event)
        for matches, feed in list(self._feeds):
            if matches(event):
                feed.put(event)
        for listener in list(self._listeners):
            if listener.matches(event):
                _call_safely(listener.callback, event)

    def _to_room(self, event: RoomLeft | MessageCreated | MessageUpdated | MessageDeleted) -> None:
        room_id = event.data.room_id
        if room_id not in self._rooms:
            return
        if isinstance(event, RoomLeft):
            gone = NotFound(f"you are no longer in room {room_id}")
            for inbox in self._rooms.pop(room_id):
                inbox.end(gone)
            return
        change: Change = (_CHANGE_KINDS[type(event)], event.data)
        for inbox in self._rooms[room_id]:
            inbox.put(change)

    # --- subscriptions -----------------------------------------------------------------------

    def room(self, room_id: int, after: int) -> Feed[Change]:
        """(kind, message) for every change in the room after sequence number `after`, in order
        and each once, across reconnects; ends with `NotFound` when we leave the room."""
        inbox: _Inbox[Change | Resync] = _Inbox(self, RESYNC)
        self._rooms.setdefault(room_id, []).append(inbox)
        if self._state == "connected":
            inbox.put(RESYNC)  # what came after `after` until now, before anything live
        self._start_if_possible()

        def unsubscribe() -> None:
            inboxes = self._rooms.get(room_id, [])
            _discard(inboxes, inbox)
            if not inboxes:
                self._rooms.pop(room_id, None)

        return Feed.of_generator(follow(inbox, self._fetch, room_id, after), unsubscribe)

    @overload
    def events(self, kind: type[E], /) -> Feed[E]: ...
    @overload
    def events(self, *kinds: EventKind) -> Feed[ServerEvent]: ...
    def events(self, *kinds: EventKind) -> Feed[Any]:
        """Every event of these kinds (all, with none) from now on, in order."""
        inbox: _Inbox[ServerEvent] = _Inbox(self)
        entry = (_matcher(kinds), inbox)
        self._feeds.append(entry)
        self._start_if_possible()

        return Feed(inbox.get, lambda: _discard(self._feeds, entry))

    def on(self, kinds: EventKind | Iterable[EventKind], callback: Callable[[Any], None]) -> Handle:
        """Call `callback(event)` for every event of `kinds` (a kind or several), in order,
        from the connection's task: it must not block. An exception it raises is logged."""
        listener = _Listener(_matcher(_as_tuple(kinds)), callback)
        self._listeners.append(listener)
        self._start_if_possible()
        return Handle(lambda: _discard(self._listeners, listener))

    # --- outgoing ----------------------------------------------------------------------------

    async def send(self, message: dict[str, Any]) -> None:
        """Send one message (connecting first if need be)."""
        socket = await self._connected_socket()
        await socket.send(message)

    async def request(
        self,
        message: dict[str, Any],
        reply: EventKind | Callable[[ServerEvent], bool],
        *,
        timeout_s: float = DEFAULT_REPLY_TIMEOUT_S,
    ) -> ServerEvent:
        """Send `message` and wait for its answer: the first event that `reply` matches (a
        kind, or a predicate) and that names no other message's client_id, or the `error` the
        daemon sent about it (raised).

        Raises:
            Unavailable: No answer within `timeout_s`.
            DaemonUnreachable: The connection dropped before the answer came.
        """
        is_reply = _matcher((reply,)) if isinstance(reply, str | type) else reply
        # The daemon names it in an error about the message (and in `message.sent`); a
        # client_id of the caller's own (a message's idempotency key) serves as well.
        client_id = message.get("client_id")
        if not isinstance(client_id, str) or not client_id:
            client_id = uuid.uuid4().hex
        request = _Request(client_id, is_reply)
        self._requests.append(request)
        try:
            socket = await self._connected_socket()
            await socket.send({**message, "client_id": client_id})
            async with asyncio.timeout(timeout_s):
                return await request.future
        except TimeoutError:
            kind = str(message.get("type"))[:64]
            raise Unavailable(f"the daemon did not answer {kind} within {timeout_s:g} s") from None
        finally:
            _discard(self._requests, request)

    def _fail_requests(self, error: CoopeError) -> None:
        for request in self._requests:
            if not request.future.done():
                request.future.set_exception(error)


def _matcher(kinds: tuple[EventKind, ...]) -> Callable[[ServerEvent], bool]:
    if not kinds:
        return lambda event: True
    names = {k for k in kinds if isinstance(k, str) and not k.endswith(".*")}
    prefixes = tuple(k[:-1] for k in kinds if isinstance(k, str) and k.endswith(".*"))
    classes = tuple(k for k in kinds if isinstance(k, type))
    return lambda event: (
        event.type in names or event.type.startswith(prefixes) or isinstance(event, classes)
    )


def _as_tuple(kinds: EventKind | Iterable[EventKind]) -> tuple[EventKind, ...]:
    if isinstance(kinds, str | type):
        return (kinds,)
    return tuple(kinds)


def _is_refusal(error: CoopeError) -> bool:
    """A refusal no new attempt can change (bad credential, no right): not worth retrying."""
    return 400 <= error.status < 500 and not error.retryable


def _call_safely(callback: Callable[[Any], None], value: object) -> None:
    try:
        callback(value)
    except Exception:
        log.exception("a live connection callback failed")


def _discard(items: list[Any], item: object) -> None:
    with contextlib.suppress(ValueError):
        items.remove(item)
