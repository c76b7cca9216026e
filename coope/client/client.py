"""`CoopeClient`: the one typed async client of the daemon."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import TracebackType
from typing import TYPE_CHECKING, Any

from coope.client.accounts import AdminApi, AuthApi, TokensApi
from coope.client.docs import PagesApi, WorkspacesApi
from coope.client.events import EventStream
from coope.client.follow import ChangeKind, follow_room
from coope.client.social import ChatApi, FriendsApi, PresenceApi
from coope.client.transport import DEFAULT_SERVER, Transport
from coope.core.schemas import HealthOut
from coope.core.social_schemas import MessageOut

if TYPE_CHECKING:
    from pycrdt import Doc

    from coope.client.calls import CallSession
    from coope.client.replica import PageReplica


class CoopeClient:
    """`async with CoopeClient(server, token) as client: await client.auth.whoami()`

    One aiohttp session for everything; one attribute per area of the API. Errors are the same
    `CoopeError` classes the daemon raised.
    """

    def __init__(
        self, server: str = DEFAULT_SERVER, token: str | None = None, *, timeout_s: float = 30.0
    ) -> None:
        self._transport = Transport(server, token, timeout_s)
        self.auth = AuthApi(self._transport)
        self.tokens = TokensApi(self._transport)
        self.admin = AdminApi(self._transport)
        self.friends = FriendsApi(self._transport)
        self.presence = PresenceApi(self._transport)
        self.chat = ChatApi(self._transport)
        self.workspaces = WorkspacesApi(self._transport)
        self.pages = PagesApi(self._transport)

    @property
    def server(self) -> str:
        return self._transport.server

    @property
    def token(self) -> str | None:
        return self._transport.token

    async def health(self) -> HealthOut:
        result: HealthOut = await self._transport.call("GET", "/api/v1/health", HealthOut)
        return result

    def follow_room(self, room_id: int, after: int) -> AsyncIterator[tuple[ChangeKind, MessageOut]]:
        """Every change in a room after sequence number `after`, live and in order; reconnects
        and catches up by itself (see `coope.client.follow`)."""
        return follow_room(self, room_id, after)

    def replica(self, page_id: int, doc: Doc[Any] | None = None) -> PageReplica:
        """A live copy of a page's content; use as `async with client.replica(page_id)`.
        Pass the `doc` of an earlier replica to bring back edits made while offline."""
        # pycrdt costs ~0.1 s to import: only commands that touch page content pay for it.
        from coope.client.replica import PageReplica

        return PageReplica(self._transport, page_id, doc)

    def call(self, room_id: int, **options: Any) -> CallSession:
        """A call in a room: `async with client.call(room_id, audio=track) as call`. Options are
        those of `coope.client.calls.CallSession` (takeover, audio, video, on_audio...)."""
        from coope.client.calls import CallSession  # aiortc loads only when a call is made

        return CallSession(self, room_id, **options)

    def events(self) -> EventStream:
        """The live event stream; use as `async with client.events() as events`."""
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
        await self._transport.aclose()
