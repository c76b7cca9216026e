"""The event bus: services publish events to topics, websocket connections subscribe.

The embedded backend fans out in-process; `bus_redis.RedisBus` carries events between the daemons
of one service. Both deliver to this process's subscriptions through one `LocalFanout`. The
interface is deliberately small (publish, subscribe, an async-iterator subscription).
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterable
from typing import ClassVar

from coope.core.events import Event

log = logging.getLogger(__name__)


def user_topic(user_id: int) -> str:
    return f"user:{user_id}"


def user_topics(user_ids: Iterable[int]) -> list[str]:
    return [user_topic(user_id) for user_id in user_ids]


def connection_topic(connection_id: str) -> str:
    """One event socket's own topic: replies to it travel in order with its other events."""
    return f"connection:{connection_id}"


class Subscription(ABC):
    """Events for a set of topics as an async iterator, in publish order across all of them.

    The order across topics matters: a reply on a connection's own topic must not overtake the
    events its request caused on the user's topic. A multi-node backend keeps it by delivering
    one connection's topics through one ordered stream.
    """

    @abstractmethod
    def __aiter__(self) -> AsyncIterator[Event]: ...

    @abstractmethod
    async def aclose(self) -> None: ...


class EventBus(ABC):
    # What carries the events ("in-process", "redis"), as health reports it.
    kind: ClassVar[str]

    @abstractmethod
    async def start(self) -> None:
        """Connect to what carries the events, if anything: before the first subscription."""

    @abstractmethod
    async def check(self) -> None:
        """Return once what carries the events answers; raise `Unavailable` if it cannot be
        reached."""

    @abstractmethod
    async def publish(self, topics: Iterable[str], event: Event) -> None:
        """`event` to every topic of `topics`, in that order: one call, however many (a
        multi-node bus sends them in one round trip). Raises `Unavailable` if what carries the
        events cannot be reached."""

    @abstractmethod
    async def subscribe(self, topics: Iterable[str]) -> Subscription:
        """Events of `topics` from now on: once this returns, nothing published is missed.
        Raises `Unavailable` if what carries the events cannot be reached."""

    @abstractmethod
    async def aclose(self) -> None: ...


class _LocalSubscription(Subscription):
    def __init__(self, fanout: LocalFanout, topics: set[str], max_pending: int) -> None:
        self._fanout = fanout
        self.topics = topics
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue(max_pending)
        self.overflowed = False

    def deliver(self, event: Event) -> None:
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            # A consumer this far behind is gone in practice: end its stream so it reconnects
            # and resumes, instead of letting memory grow without bound.
            self.overflowed = True
            log.warning(
                "subscription overflowed; closing it", extra={"topics": sorted(self.topics)}
            )
            self.end()

    def end(self) -> None:
        """Stop at once: the iterator ends after what it already holds."""
        self._fanout.remove(self)
        while True:
            try:
                self._queue.put_nowait(None)
                return
            except asyncio.QueueFull:
                self._queue.get_nowait()

    async def __aiter__(self) -> AsyncIterator[Event]:
        while (event := await self._queue.get()) is not None:
            yield event

    async def aclose(self) -> None:
        self.end()


class LocalFanout:
    """This process's subscriptions by topic, each fed in the order events are handed in.

    `on_unused` hears of the topics that lost their last subscription (a bus that subscribed
    to them elsewhere lets them go).
    """

    def __init__(
        self, max_pending: int = 1000, on_unused: Callable[[list[str]], None] | None = None
    ) -> None:
        self._max_pending = max_pending
        self._subscribers: dict[str, set[_LocalSubscription]] = {}
        self._on_unused = on_unused

    def add(self, topics: Iterable[str]) -> _LocalSubscription:
        sub = _LocalSubscription(self, set(topics), self._max_pending)
        for topic in sub.topics:
            self._subscribers.setdefault(topic, set()).add(sub)
        return sub

    def has(self, topic: str) -> bool:
        return topic in self._subscribers

    def deliver(self, topic: str, event: Event) -> None:
        for sub in list(self._subscribers.get(topic, ())):
            sub.deliver(event)

    def remove(self, sub: _LocalSubscription) -> None:
        unused = []
        for topic in sub.topics:
            subs = self._subscribers.get(topic)
            if subs is not None and sub in subs:
                subs.discard(sub)
                if not subs:
                    del self._subscribers[topic]
                    unused.append(topic)
        if unused and self._on_unused is not None:
            self._on_unused(unused)

    def end_all(self) -> None:
        """End every subscription: their readers reconnect and resume from what they hold."""
        for subs in list(self._subscribers.values()):
            for sub in list(subs):
                sub.end()


class InProcessBus(EventBus):
    kind = "in-process"

    async def check(self) -> None:
        """Within one process there is nothing to reach."""

    def __init__(self, max_pending: int = 1000) -> None:
        self._fanout = LocalFanout(max_pending)

    async def start(self) -> None:
        pass  # nothing to connect to: the events stay in this process

    async def publish(self, topics: Iterable[str], event: Event) -> None:
        for topic in topics:
            self._fanout.deliver(topic, event)

    async def subscribe(self, topics: Iterable[str]) -> Subscription:
        return self._fanout.add(topics)

    async def aclose(self) -> None:
        self._fanout.end_all()
