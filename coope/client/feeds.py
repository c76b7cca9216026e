"""What `client.live` is built of, none of which knows the connection itself.

- `Backoff`: the delays between reconnect attempts.
- `Inbox` and `Feed`: one subscription's bounded queue, and the async iterator a caller reads.
- `Handle`: what a callback subscription returns, to stop it.
- `EventKind` and `matcher`: which events a subscription or a request's answer is.
- `PendingRequest`: a message sent, waiting for the event that answers it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Generic, TypeVar

from coope.core.errors import CoopeError, error_from_body
from coope.core.events import EVENT_TYPES, ErrorEvent, Event

log = logging.getLogger(__name__)

T = TypeVar("T")
EventKind = str | type[Event]
"""A type string (`"presence"`; `"call.*"` for every type under `call.`) or an event class."""

INBOX_CAPACITY = 1000


@dataclass(frozen=True)
class Backoff:
    """How long to wait before reconnect attempt `n` (0, 1, 2...): a uniform random time in
    [0, min(cap_s, base_s * 2**n)], "full jitter", so that clients cut off together do not all
    come back at the same moment.

    The count goes on across connections that do not last: a daemon that takes every
    connection and drops it at once would otherwise have every client back within `base_s`,
    over and over. It starts over once a connection has stayed up `cap_s` (`lasted`).

    `rng` (values in [0, 1)), `sleep` and `clock` (seconds) are there to be replaced in tests.
    """

    base_s: float = 0.25
    cap_s: float = 15.0
    rng: Callable[[], float] = random.random
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    clock: Callable[[], float] = time.monotonic

    def delay(self, attempt: int) -> float:
        return self.rng() * min(self.cap_s, self.base_s * 2.0 ** min(attempt, 64))

    async def wait(self, attempt: int) -> None:
        await self.sleep(self.delay(attempt))

    def lasted(self, up_since: float) -> bool:
        """Whether a connection up since `up_since` (a `clock()` reading) stayed long enough
        to start the count over: as long as the longest wait."""
        return self.clock() - up_since >= self.cap_s


class Handle:
    """What `on()` and `on_state()` return: `unsubscribe()` stops the callback (idempotent)."""

    def __init__(self, remove: Callable[[], None]) -> None:
        self._remove: Callable[[], None] | None = remove

    def unsubscribe(self) -> None:
        if self._remove is not None:
            self._remove()
            self._remove = None


class Inbox(Generic[T]):
    """One subscription's queue: the connection puts, one consumer gets.

    Bounded (`INBOX_CAPACITY`): when full, an inbox with a `resync` item is emptied for that
    one item (its reader fetches what it would have read); any other drops its oldest item and
    calls `on_drop`.
    """

    def __init__(self, *, resync: T | None = None, on_drop: Callable[[], None] | None = None):
        self._items: deque[T] = deque()
        self._resync = resync
        self._on_drop = on_drop
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
                if self._on_drop is not None:
                    self._on_drop()
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


def matcher(kinds: Iterable[EventKind]) -> Callable[[Event], bool]:
    """Whether an event is of one of `kinds` (of any kind, with none).

    A known type string stands for its class: an event of that type whose data this version
    cannot read arrives as a `GenericEvent`, which a reader of the typed class could not use.
    Such events reach only readers of every event, or of a wildcard (`"call.*"`).
    """
    kinds = tuple(kinds)
    if not kinds:
        return lambda event: True
    strings = [k for k in kinds if isinstance(k, str)]
    classes = tuple(k for k in kinds if isinstance(k, type))
    classes += tuple(EVENT_TYPES[k] for k in strings if k in EVENT_TYPES)
    names = {k for k in strings if k not in EVENT_TYPES and not k.endswith(".*")}
    prefixes = tuple(k[:-1] for k in strings if k.endswith(".*"))
    return lambda event: (
        isinstance(event, classes) or event.type in names or event.type.startswith(prefixes)
    )


def as_kinds(kinds: EventKind | Iterable[EventKind]) -> tuple[EventKind, ...]:
    if isinstance(kinds, str | type):
        return (kinds,)
    return tuple(kinds)


def names_its_message(reply: EventKind) -> bool:
    """Whether every answer of this kind names the client_id of the message it answers (as
    `message.sent` does), so that each of several requests waiting at once can tell its own."""
    event_class = EVENT_TYPES.get(reply) if isinstance(reply, str) else reply
    if event_class is None:
        return False
    data_fields = getattr(event_class.model_fields["data"].annotation, "model_fields", {})
    client_id = data_fields.get("client_id")
    return client_id is not None and client_id.is_required()


@dataclass(eq=False)
class PendingRequest:
    """A message sent with `client_id`, waiting for the first event that `is_reply` matches
    and that names no other message, or for the `error` about it."""

    client_id: str
    is_reply: Callable[[Event], bool]
    future: asyncio.Future[Event] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    def offer(self, event: Event) -> None:
        if self.future.done():
            return
        answers = getattr(event.data, "client_id", None)
        if isinstance(event, ErrorEvent):
            if answers == self.client_id:
                self.future.set_exception(error_from_body({"error": event.data.model_dump()}, 0))
        elif answers in (None, self.client_id) and self.is_reply(event):
            # A reply that names the message it answers is nobody else's.
            self.future.set_result(event)

    def fail(self, error: CoopeError) -> None:
        if not self.future.done():
            self.future.set_exception(error)


def call_safely(callback: Callable[[Any], None], value: object) -> None:
    """Run a subscriber's callback; what it raises is logged, and the caller goes on."""
    try:
        callback(value)
    except Exception:
        log.exception("a live connection callback failed")


def discard(items: list[Any], item: object) -> None:
    with contextlib.suppress(ValueError):
        items.remove(item)
