"""`RedisBus`: the event bus of several daemons that serve as one, over Redis pub/sub.

Each daemon keeps one pub/sub connection, subscribed to the topics its own sockets listen to and
no others, and hands what arrives to its `LocalFanout`. Everything a daemon receives comes down
that one connection in the order Redis took the PUBLISHes, so the events of one socket's topics
keep their order across topics, as the interface promises. Publishing is one PUBLISH of the
event's JSON text (made once per event, however many read it).

Pub/sub keeps nothing for a subscriber that is away: when the connection to Redis drops or stops
answering (a PING every few seconds finds out), every subscription of this daemon ends, so that
each reader reconnects and resumes from the sequence numbers it holds, as after an overflow. The
bus then connects again by itself. A publish that Redis does not take after a few retries ends
them too, and raises `Unavailable` (503): the change is stored, its announcement is not.

Publishes go down one connection, one at a time, so that Redis takes them in the order they were
made, as the in-process bus delivers them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Iterable
from typing import Any

import redis.asyncio as redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from coope.core.errors import Unavailable
from coope.core.events import Event, parse_event
from coope.daemon.bus import EventBus, LocalFanout, Subscription

log = logging.getLogger(__name__)

RECONNECT_S = (0.1, 0.5, 1.0, 2.0)  # waits between attempts to reach Redis again; then the last
QUIET_S = 5.0  # with nothing to read for this long, the reader PINGs Redis


class RedisBus(EventBus):
    """Events over Redis at `url`; `prefix` keeps apart services that share one Redis."""

    kind = "redis"

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "coope:",
        max_pending: int = 1000,
        dead_after_s: float = 3 * QUIET_S,
    ) -> None:
        """`dead_after_s`: how long Redis may stay silent (no answer to a PING, a subscription
        or a publish) before it is taken for lost."""
        # What this daemon's connections are called in Redis (CLIENT LIST), and its channel:
        # the pub/sub connection always has that one subscription, so reading never stops.
        self.name = f"{prefix}node:{uuid.uuid4().hex}"
        timeouts: dict[str, Any] = {
            "client_name": self.name,
            "socket_connect_timeout": dead_after_s,
            "socket_keepalive": True,
        }
        self._redis = redis.from_url(url, **timeouts)
        self._publisher = redis.from_url(
            url,
            single_connection_client=True,
            socket_timeout=dead_after_s,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 3),
            retry_on_error=[RedisConnectionError, RedisTimeoutError],
            **timeouts,
        )
        self._publishing = asyncio.Lock()
        self._prefix = prefix
        self._dead_after_s = dead_after_s
        self._quiet_s = min(QUIET_S, dead_after_s / 3)
        self._fanout = LocalFanout(max_pending, on_unused=self._let_go)
        self._own = self.name
        self._pubsub: PubSub | None = None
        self._subscribed: dict[str, asyncio.Future[None]] = {}  # channel -> confirmed
        self._leaving: dict[str, asyncio.Future[None]] = {}  # channel -> unsubscribe confirmed
        self._changes = asyncio.Lock()  # one change of the subscriptions at a time
        self._reader: asyncio.Task[None] | None = None
        self._unsubscribing: set[asyncio.Task[None]] = set()
        self._last_read: tuple[bytes | str, Event] | None = None
        self._closed = False

    async def start(self) -> None:
        """Connect, or raise `RedisError` (or `OSError`) if Redis cannot be reached."""
        await self._connect()
        self._reader = asyncio.create_task(self._read_forever(), name="redis-bus")

    async def check(self) -> None:
        try:
            async with asyncio.timeout(self._dead_after_s):
                await self._publisher.ping()
        except (RedisError, OSError, TimeoutError) as exc:
            raise Unavailable(f"the event bus (Redis) cannot be reached: {exc}") from exc

    async def publish(self, topics: Iterable[str], event: Event) -> None:
        channels = [self._prefix + topic for topic in topics]
        try:
            # One at a time: the publisher is one connection, which a pipeline would otherwise
            # ask its pool for a second time while another publish holds it.
            async with self._publishing:
                if len(channels) == 1:
                    await self._publisher.publish(channels[0], event.json_text)
                elif channels:
                    async with self._publisher.pipeline(transaction=False) as pipe:
                        for channel in channels:
                            pipe.publish(channel, event.json_text)
                        await pipe.execute()
        except (RedisError, OSError) as exc:
            # Readers here may have missed it: they resume. Those of other daemons resume when
            # their own link to Redis fails, which is what usually makes this one fail.
            log.warning("event bus could not publish: %s", exc)
            self._fanout.end_all()
            raise Unavailable("the event bus (Redis) cannot be reached; try again") from exc

    async def subscribe(self, topics: Iterable[str]) -> Subscription:
        sub = self._fanout.add(topics)
        try:
            await self._ensure([self._prefix + topic for topic in sub.topics])
        except (RedisError, OSError) as exc:
            await sub.aclose()
            raise Unavailable("the event bus (Redis) cannot be reached; try again") from exc
        except BaseException:
            await sub.aclose()
            raise
        return sub

    async def aclose(self) -> None:
        self._closed = True
        self._fanout.end_all()
        for task in [self._reader, *self._unsubscribing]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self._drop_connection()
        await self._redis.aclose()
        await self._publisher.aclose()

    async def _connect(self) -> None:
        # Under the lock, and the connection is made known only once it is up: a subscription
        # sent meanwhile would open a second connection that nobody reads.
        async with self._changes:
            pubsub = self._redis.pubsub()
            confirmed = asyncio.get_running_loop().create_future()
            self._subscribed = {self._own: confirmed}
            try:
                async with asyncio.timeout(self._dead_after_s):
                    await pubsub.subscribe(self._own)
                    while not confirmed.done():  # read here: the reader does not read yet
                        message = await pubsub.get_message(timeout=None)
                        if message is not None:
                            self._handle(message)
            except TimeoutError:
                await _quietly_close(pubsub)
                raise RedisTimeoutError("Redis did not confirm the subscription") from None
            except BaseException:
                await _quietly_close(pubsub)
                raise
            self._pubsub = pubsub

    async def _ensure(self, channels: list[str]) -> None:
        """Subscribe to the channels not yet subscribed, and wait until Redis confirms all."""
        async with self._changes:
            pubsub = self._pubsub
            if pubsub is None:
                raise RedisError("the event bus is not connected to Redis")
            # The futures are held here: a lost connection replaces the map while we wait.
            new, waiting = [], []
            for channel in channels:
                confirmed = self._subscribed.get(channel)
                if confirmed is None:
                    confirmed = asyncio.get_running_loop().create_future()
                    self._subscribed[channel] = confirmed
                    new.append(channel)
                waiting.append(confirmed)
            if new:
                await pubsub.subscribe(*new)
        try:
            async with asyncio.timeout(self._dead_after_s):
                await asyncio.gather(*waiting)
        except TimeoutError:
            raise RedisTimeoutError("Redis did not confirm the subscription") from None

    def _let_go(self, topics: list[str]) -> None:
        """Topics no socket here listens to any more: unsubscribed from Redis, unless one
        listens again by the time it is done."""
        if self._closed or self._pubsub is None:
            return  # nothing to let go: the connection is gone or going
        task = asyncio.get_running_loop().create_task(self._unsubscribe(topics))
        self._unsubscribing.add(task)
        task.add_done_callback(self._unsubscribing.discard)

    async def _unsubscribe(self, topics: list[str]) -> None:
        async with self._changes:
            pubsub = self._pubsub
            unused = [
                self._prefix + topic
                for topic in topics
                if not self._fanout.has(topic) and self._prefix + topic in self._subscribed
            ]
            if pubsub is None or not unused:
                return
            loop = asyncio.get_running_loop()
            for channel in unused:
                del self._subscribed[channel]
                self._leaving[channel] = loop.create_future()
            # Under the lock until Redis confirms: a subscription to the same channel sent
            # earlier would otherwise take this one's confirmation for its own.
            with contextlib.suppress(RedisError, OSError, TimeoutError):
                await pubsub.unsubscribe(*unused)
                async with asyncio.timeout(self._dead_after_s):
                    await asyncio.gather(*(self._leaving[channel] for channel in unused))
            for channel in unused:
                self._leaving.pop(channel, None)

    async def _read_forever(self) -> None:
        attempt = 0
        while not self._closed:
            try:
                if self._pubsub is None:
                    await self._connect()
                    log.info("event bus connected to Redis again")
                attempt = 0
                await self._read(self._pubsub)
            except Exception as exc:  # whatever it was, readers resume and the link is made anew
                log.warning("event bus lost Redis: %s", exc, exc_info=not _expected(exc))
                self._fanout.end_all()  # every reader resumes from what it holds
                await self._drop_connection()
                await asyncio.sleep(RECONNECT_S[min(attempt, len(RECONNECT_S) - 1)])
                attempt += 1

    async def _read(self, pubsub: PubSub | None) -> None:
        assert pubsub is not None
        loop = asyncio.get_running_loop()
        heard = loop.time()
        while True:
            message = await pubsub.get_message(timeout=self._quiet_s)
            if message is not None:
                heard = loop.time()
                self._handle(message)
            elif loop.time() - heard > self._dead_after_s:
                raise RedisTimeoutError(f"Redis did not answer for {self._dead_after_s:g} s")
            else:
                await pubsub.ping()  # its answer is read as a message: Redis is there

    def _handle(self, message: dict[str, object]) -> None:
        kind, channel = message.get("type"), as_text(message.get("channel"))
        if kind in ("subscribe", "unsubscribe"):
            waiting = (self._subscribed if kind == "subscribe" else self._leaving).get(channel)
            if waiting is not None and not waiting.done():
                waiting.set_result(None)
        elif kind == "message" and channel.startswith(self._prefix):
            data = message.get("data")
            if not isinstance(data, bytes | str):
                return
            # One event published to many topics arrives once per topic, one after another:
            # it is read once (and delivered as one object, as the in-process bus does).
            last = self._last_read
            if last is None or data != last[0]:
                try:
                    last = self._last_read = (data, parse_event(data))
                except ValueError:
                    log.warning("not an event on %s; dropped", channel)
                    return
            self._fanout.deliver(channel.removeprefix(self._prefix), last[1])

    async def _drop_connection(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        for waiting in [*self._subscribed.values(), *self._leaving.values()]:
            if not waiting.done():
                waiting.set_exception(RedisError("the connection to Redis was lost"))
                waiting.exception()  # retrieved: nobody may be waiting for it
        self._subscribed, self._leaving = {}, {}
        if pubsub is not None:
            await _quietly_close(pubsub)


async def _quietly_close(pubsub: PubSub) -> None:
    with contextlib.suppress(RedisError, OSError):
        await pubsub.aclose()


def _expected(exc: Exception) -> bool:
    """Whether `exc` is how a lost or silent Redis shows (no traceback needed in the log)."""
    return isinstance(exc, RedisError | OSError)


def as_text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
