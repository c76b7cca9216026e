"""The event bus: services publish events to topics, websocket connections subscribe.

The embedded backend fans out in-process. The interface is deliberately small (publish, subscribe,
an async-iterator subscription) so that a Redis pub/sub backend can replace it when several daemons
share the load.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterable

from coope.core.events import Event

log = logging.getLogger(__name__)


def user_topic(user_id: int) -> str:
    return f"user:{user_id}"


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
    @abstractmethod
    async def publish(self, topic: str, event: Event) -> None: ...

    @abstractmethod
    def subscribe(self, topics: Iterable[str]) -> Subscription: ...

    @abstractmethod
    async def aclose(self) -> None: ...


class _LocalSubscription(Subscription):
    def __init__(self, bus: InProcessBus, topics: set[str], max_pending: int) -> None:
        self._bus = bus
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
            self._bus.unsubscribe(self)
            self._close_queue()

    def _close_queue(self) -> None:
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
        self._bus.unsubscribe(self)
        self._close_queue()


class InProcessBus(EventBus):
    def __init__(self, max_pending: int = 1000) -> None:
        self._max_pending = max_pending
        self._subscribers: dict[str, set[_LocalSubscription]] = {}

    async def publish(self, topic: str, event: Event) -> None:
        for sub in list(self._subscribers.get(topic, ())):
            sub.deliver(event)

    def subscribe(self, topics: Iterable[str]) -> Subscription:
        sub = _LocalSubscription(self, set(topics), self._max_pending)
        for topic in sub.topics:
            self._subscribers.setdefault(topic, set()).add(sub)
        return sub

    def unsubscribe(self, sub: _LocalSubscription) -> None:
        for topic in sub.topics:
            subs = self._subscribers.get(topic)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subscribers[topic]

    async def aclose(self) -> None:
        for subs in list(self._subscribers.values()):
            for sub in list(subs):
                await sub.aclose()
