"""`client.live`: the one connection to the daemon's event socket that everything shares.

    async with CoopeClient(server, token) as client:
        async for kind, message in client.live.room(room_id, after=last_seq): ...
        async for event in client.live.events("presence", "typing"): ...
        handle = client.live.on("friend.request", callback); handle.unsubscribe()

Every subscription (rooms, typed events, callbacks, call signalling) rides on one websocket to
`/api/v1/ws`, opened on first use (or by `connect()`). When it drops, the connection comes back
by itself after an exponential backoff with full jitter (`Backoff`), and every room follower
fetches what it missed from its last sequence number (see `coope.client.follow`): nothing lost,
nothing twice. A close the daemon means for good (4401: the credential was revoked; any other
44xx) ends every subscription with that error instead; a close that says "try again" (1013: too
far behind) is a drop that never starts the backoff over. `state` says where the connection
stands, for a status line:

    closed --connect()--> connecting --> connected --drop--> reconnecting --> connected ...
        ^                     |                                   |
        +-- aclose(), or a refusal (or a first attempt that fails) +

Events are handed out in the order the daemon sent them. A consumer too slow to keep up loses
the oldest events of its own iterator (a room follower loses nothing: it fetches instead). The
pieces that know nothing of the connection (feeds, inboxes, backoff, matching) are in
`coope.client.feeds`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, overload

from coope.client.events import CLOSE_TRY_AGAIN_LATER, EventSocket, event_or_none
from coope.client.feeds import (
    Backoff,
    EventKind,
    Feed,
    Handle,
    Inbox,
    PendingRequest,
    as_kinds,
    call_safely,
    discard,
    matcher,
    names_its_message,
)
from coope.client.follow import RESYNC, Change, ChangeKind, FetchChanges, Resync, follow
from coope.client.transport import Transport
from coope.core.errors import (
    CoopeError,
    DaemonUnreachable,
    InternalError,
    InvalidInput,
    NotFound,
    Unavailable,
)
from coope.core.events import (
    Event,
    MessageCreated,
    MessageDeleted,
    MessageUpdated,
    ReadyEvent,
    RoomLeft,
)
from coope.core.schemas import UserOut
from coope.core.social_schemas import CLIENT_ID_MAX

# Callers name these from here (a subscription's feed, a callback's handle, the backoff).
__all__ = ["Backoff", "ConnectionState", "EventKind", "Feed", "Handle", "Live", "LiveStats"]

log = logging.getLogger(__name__)

ConnectionState = Literal["connecting", "connected", "reconnecting", "closed"]
ServerEvent = Event
"""Every event is one of the typed classes of `coope.core.events`, or a `GenericEvent`."""
E = TypeVar("E", bound=ServerEvent)

_CHANGE_KINDS: dict[type[Event], ChangeKind] = {
    MessageCreated: "created",
    MessageUpdated: "updated",
    MessageDeleted: "deleted",
}
DEFAULT_REPLY_TIMEOUT_S = 10.0


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


class _RoomInbox(Inbox[Change | Resync]):
    """A room follower's inbox (`coope.client.follow.RoomInbox`): when full, it is replaced by
    one `Resync`, so the follower fetches what it would have read."""

    def __init__(self, live: Live) -> None:
        super().__init__(resync=RESYNC)
        self._live = live

    @property
    def connected(self) -> bool:
        return self._live.state == "connected"

    async def pause(self, attempt: int) -> None:
        await self._live.backoff.wait(attempt)


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
        self._rooms: dict[int, list[_RoomInbox]] = {}
        self._feeds: list[tuple[Callable[[ServerEvent], bool], Inbox[ServerEvent]]] = []
        self._listeners: list[_Listener] = []
        self._requests: list[PendingRequest] = []
        self._turns: dict[str, asyncio.Lock] = {}  # per message type, see `request`
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
        """Call `callback(state)` on every change of `state` (from the connection's task),
        across reconnects and new connections, until `aclose()`. "closed" is how `on()`
        callers learn that their callbacks ended (`error` says why)."""
        self._state_listeners.append(callback)
        return Handle(lambda: discard(self._state_listeners, callback))

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
            call_safely(callback, state)

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
                ever_connected, up_since = True, self.backoff.clock()
                await self._serve(socket, ready)
                if self._state == "closed":  # refused for good
                    return
                # Only a connection that lasted starts the count over: a daemon that drops
                # every client at once (a crash right after `ready`) or sheds load (1013)
                # must not have them all back within `base_s`, time after time.
                if socket.close_code != CLOSE_TRY_AGAIN_LATER and self.backoff.lasted(up_since):
                    attempt = 0
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
        """The end of this connection for good: every subscription ends with `error`, and
        every `on()` callback with it (the state callbacks hear "closed"); a connection made
        later serves only what is subscribed then."""
        self.error = error
        self._fail_requests(error or InternalError("the live connection is closed"))
        for inboxes in self._rooms.values():
            for inbox in inboxes:
                inbox.end(error)
        for _, feed in self._feeds:
            feed.end(error)
        self._rooms.clear()
        self._feeds.clear()
        self._listeners.clear()
        self._set_state("closed")

    async def aclose(self) -> None:
        """Close the connection: every iterator ends (cleanly), every callback is dropped,
        state callbacks too. A subscription made afterwards opens a new connection, as a
        request opens a new HTTP session."""
        self._closing = True
        try:
            if self._task is not None:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            self._finish(None)
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
                call_safely(listener.callback, event)

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
        inbox = _RoomInbox(self)
        self._rooms.setdefault(room_id, []).append(inbox)
        if self._state == "connected":
            inbox.put(RESYNC)  # what came after `after` until now, before anything live
        self._start_if_possible()

        def unsubscribe() -> None:
            inboxes = self._rooms.get(room_id, [])
            discard(inboxes, inbox)
            if not inboxes:
                self._rooms.pop(room_id, None)

        return Feed.of_generator(follow(inbox, self._fetch, room_id, after), unsubscribe)

    @overload
    def events(self, kind: type[E], /) -> Feed[E]: ...
    @overload
    def events(self, *kinds: EventKind) -> Feed[ServerEvent]: ...
    def events(self, *kinds: EventKind) -> Feed[Any]:
        """Every event of these kinds (all, with none) from now on, in order."""
        inbox: Inbox[ServerEvent] = Inbox(on_drop=self._dropped)
        entry = (matcher(kinds), inbox)
        self._feeds.append(entry)
        self._start_if_possible()
        return Feed(inbox.get, lambda: discard(self._feeds, entry))

    def _dropped(self) -> None:
        self.stats.dropped_events += 1

    def on(self, kinds: EventKind | Iterable[EventKind], callback: Callable[[Any], None]) -> Handle:
        """Call `callback(event)` for every event of `kinds` (a kind or several), in order,
        from the connection's task: it must not block. An exception it raises is logged.

        The callback lasts as long as this connection: once it ends for good (`aclose()`, a
        refusal such as a revoked credential), the callback is dropped, as every feed ends.
        `on_state` hears that end ("closed"), and `error` holds why.
        """
        listener = _Listener(matcher(as_kinds(kinds)), callback)
        self._listeners.append(listener)
        self._start_if_possible()
        return Handle(lambda: discard(self._listeners, listener))

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

        Answers that do not say which message they answer (`call.joined`, `pong`) cannot be
        told apart: requests of the same message type then go one at a time, each sent once
        the one before has its answer (or failed). Only a `reply` kind whose every answer
        names its message (`message.sent`) lets them overlap. A predicate that checks what it
        can (the room of a `call.joined`) keeps a late answer to a request that timed out
        from being taken for the next one's.

        Args:
            message: The message; a `client_id` of the caller's own (a message's idempotency
                key) is kept, else one is made.
            reply: What answers it.
            timeout_s: How long to wait for the answer once the message is sent.

        Raises:
            InvalidInput: `client_id` is not a string of 1 to `CLIENT_ID_MAX` characters (the
                daemon could not name it in an error).
            Unavailable: No answer within `timeout_s`.
            DaemonUnreachable: The connection dropped before the answer came.
        """
        client_id = _client_id_of(message)
        kind = str(message.get("type"))[:64]
        if isinstance(reply, str | type):
            is_reply = matcher((reply,))
            serial = not names_its_message(reply)
        else:
            is_reply, serial = reply, True
        turn = self._turns.setdefault(kind, asyncio.Lock()) if serial else contextlib.nullcontext()
        async with turn:
            request = PendingRequest(client_id, is_reply)
            self._requests.append(request)
            try:
                socket = await self._connected_socket()
                await socket.send({**message, "client_id": client_id})
                async with asyncio.timeout(timeout_s):
                    return await request.future
            except TimeoutError:
                raise Unavailable(
                    f"the daemon did not answer {kind} within {timeout_s:g} s"
                ) from None
            finally:
                discard(self._requests, request)

    def _fail_requests(self, error: CoopeError) -> None:
        for request in self._requests:
            request.fail(error)


def _client_id_of(message: dict[str, Any]) -> str:
    """The client_id the daemon names in its answer and in an error about `message`: the
    caller's own, or a new one. One the daemon would not echo (too long) is refused here, or
    its error would never find its request."""
    client_id = message.get("client_id")
    if client_id is None:
        return uuid.uuid4().hex
    if not isinstance(client_id, str) or not 1 <= len(client_id) <= CLIENT_ID_MAX:
        raise InvalidInput(f"'client_id' must be a string of 1 to {CLIENT_ID_MAX} characters")
    return client_id


def _is_refusal(error: CoopeError) -> bool:
    """A refusal no new attempt can change (bad credential, no right): not worth retrying."""
    return 400 <= error.status < 500 and not error.retryable
