"""`CoopeClient`: the one typed async client of the daemon."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import cached_property
from importlib import import_module
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from coope.client.profiles import DEFAULT_SERVER
from coope.client.transport import Transport
from coope.core.schemas import HealthOut

if TYPE_CHECKING:
    import aiohttp
    from pycrdt import Doc

    from coope.client.accounts import AdminApi, AuthApi, TokensApi
    from coope.client.calls import CallsApi
    from coope.client.docs import PagesApi, WorkspacesApi
    from coope.client.events import EventStream
    from coope.client.feeds import Backoff
    from coope.client.follow import Change
    from coope.client.live import Live
    from coope.client.replica import PageReplica
    from coope.client.social import ChatApi, FriendsApi, PresenceApi

Area = TypeVar("Area")


class _Area(Generic[Area]):
    """An area of the API (`client.chat`), made on first use from `module:Class`: its module
    and the schemas it reads are imported then, so `coope whoami` loads none of chat's."""

    def __init__(self, where: str) -> None:
        self._where = where
        self._name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    def __get__(self, client: CoopeClient | None, owner: type | None = None) -> Area:
        if client is None:
            raise AttributeError(self._name)
        module, name = self._where.split(":")
        area: Area = getattr(import_module(module), name)(client._transport)
        client.__dict__[self._name] = area  # kept: the next lookup finds it, not this
        return area


class CoopeClient:
    """`async with CoopeClient(server, token) as client: await client.auth.whoami()`

    Kept-alive connections for requests and one live connection (`live`) for every
    subscription; one attribute per area of the API. Errors are the same `CoopeError` classes
    the daemon raised.

    Args:
        server: The daemon's address, e.g. `http://127.0.0.1:8765`.
        token: A session or API token (or none, to sign up or log in first).
        session: An aiohttp session for the client's websockets instead of one of its own; it
            stays the caller's, open after the client is closed. (Requests do not use aiohttp,
            so that a one-shot command does not wait for it to load.)
        timeout: For each request, and each websocket's handshake: seconds in all.
        reconnect: The delays between the live connection's reconnect attempts.
    """

    def __init__(
        self,
        server: str = DEFAULT_SERVER,
        token: str | None = None,
        *,
        session: aiohttp.ClientSession | None = None,
        timeout: float = 30.0,
        reconnect: Backoff | None = None,
    ) -> None:
        self._transport = Transport(server, token, timeout, session)
        self._reconnect = reconnect

    auth: _Area[AuthApi] = _Area("coope.client.accounts:AuthApi")
    tokens: _Area[TokensApi] = _Area("coope.client.accounts:TokensApi")
    admin: _Area[AdminApi] = _Area("coope.client.accounts:AdminApi")
    friends: _Area[FriendsApi] = _Area("coope.client.social:FriendsApi")
    presence: _Area[PresenceApi] = _Area("coope.client.social:PresenceApi")
    chat: _Area[ChatApi] = _Area("coope.client.social:ChatApi")
    workspaces: _Area[WorkspacesApi] = _Area("coope.client.docs:WorkspacesApi")
    pages: _Area[PagesApi] = _Area("coope.client.docs:PagesApi")

    # `live` and `calls` are made on first use: the typed events they parse cost ~40 ms to load,
    # which a one-shot command (`coope chat send`) would pay for nothing.
    @cached_property
    def live(self) -> Live:
        """The one live connection: every subscription of this client rides on it."""
        from coope.client.live import Live

        return Live(self._transport, self.chat.changes, backoff=self._reconnect)

    @cached_property
    def calls(self) -> CallsApi:
        from coope.client.calls import CallsApi

        return CallsApi(self, self._transport)

    @property
    def server(self) -> str:
        return self._transport.server

    @property
    def token(self) -> str | None:
        return self._transport.token

    async def health(self) -> HealthOut:
        result: HealthOut = await self._transport.call("GET", "/api/v1/health", HealthOut)
        return result

    def follow_room(self, room_id: int, after: int) -> AsyncIterator[Change]:
        """Every change in a room after sequence number `after`, live and in order, across
        reconnects (`live.room`)."""
        return self.live.room(room_id, after)

    def replica(self, page_id: int, doc: Doc[Any] | None = None) -> PageReplica:
        """A live copy of a page's content; use as `async with client.replica(page_id)`.
        Pass the `doc` of an earlier replica to bring back edits made while offline."""
        # pycrdt costs ~0.1 s to import: only commands that touch page content pay for it.
        from coope.client.replica import PageReplica

        return PageReplica(self._transport, page_id, doc)

    def events(self) -> EventStream:
        """A socket of its own read as plain events (`async with client.events() as events`),
        for tools and tests; front ends share `live` instead."""
        from coope.client.events import EventStream

        return EventStream(self._transport)

    async def __aenter__(self) -> CoopeClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the live connection (every subscription ends) and the client's own session."""
        live: Live | None = self.__dict__.get("live")  # closed only if it was ever made
        if live is not None:
            await live.aclose()
        await self._transport.aclose()
