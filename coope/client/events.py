"""The client's end of `/api/v1/ws`: one connection (`EventSocket`), and a plain stream over it.

`EventSocket` is one connection and nothing more: the handshake (the daemon's `ready`), raw JSON
texts in, JSON out, and what the daemon's close frame means. `coope.client.live` builds the
shared, reconnecting connection from it; `EventStream` is a single socket of its own, read as
the same typed events, for tools and tests that want exactly one socket.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any

import aiohttp

from coope.client.transport import Transport
from coope.core.errors import (
    CoopeError,
    DaemonUnreachable,
    InternalError,
    RateLimited,
    Unauthenticated,
    error_for_status,
    error_from_body,
)
from coope.core.events import Event, ReadyEvent, parse_event

log = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_TRY_AGAIN_LATER = 1013  # the daemon sheds a reader too far behind: come back later
# 4000 + an HTTP 4xx status: a refusal that reconnecting cannot heal (see the daemon's reasons).
_REFUSALS = range(4400, 4500)


class EventSocket:
    """One authenticated connection to `/api/v1/ws`.

    `open()` connects and reads the daemon's greeting (`ready`); `receive()` returns each text
    the daemon sends, then None once the socket is closed, after which `refusal()` says whether
    the daemon closed it for a reason a new connection would meet again.
    """

    def __init__(self, transport: Transport, heartbeat_s: float = 20.0) -> None:
        self._t = transport
        self._heartbeat = heartbeat_s
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._close_code: int | None = None
        self._close_reason = ""
        self.ready: ReadyEvent | None = None

    async def open(self) -> ReadyEvent:
        """Connect and return the daemon's `ready` event.

        Raises:
            Unauthenticated: No credential, or the daemon refused it.
            DaemonUnreachable: Nothing answered, or the connection broke during the handshake.
            CoopeError: The daemon refused the upgrade for another reason (its HTTP status).
        """
        if not self._t.token:
            raise Unauthenticated("log in first: the event stream needs a credential")
        try:
            self._ws = await self._t.session.ws_connect(
                self._t.ws_url + "/api/v1/ws", headers=self._t.headers(), heartbeat=self._heartbeat
            )
        except aiohttp.WSServerHandshakeError as exc:
            raise error_from_body(None, exc.status) from exc
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise DaemonUnreachable(
                f"cannot reach the daemon at {self._t.server}: {exc or type(exc).__name__}"
            ) from exc
        try:
            # A daemon that took the upgrade sends `ready` at once; one that never does is gone.
            async with asyncio.timeout(self._t.timeout_s):
                first = await self.receive()
        except TimeoutError:
            await self.aclose()
            raise DaemonUnreachable(
                f"the daemon at {self._t.server} never said it was ready"
            ) from None
        ready = event_or_none(first)
        if not isinstance(ready, ReadyEvent):
            await self.aclose()
            refusal = self.refusal()
            if refusal is not None:
                raise refusal
            if first is None:
                raise DaemonUnreachable("the daemon closed the event stream before it was ready")
            raise Unauthenticated("the daemon refused the event stream")
        self.ready = ready
        return ready

    async def receive(self) -> str | None:
        """The next text from the daemon; None once the socket is closed (binary frames,
        which the daemon never sends here, are skipped)."""
        if self._ws is None:
            raise InternalError("the event socket is not connected")
        while True:
            try:
                msg = await self._ws.receive()
            except (aiohttp.ClientError, OSError, TimeoutError):
                return None
            if msg.type is aiohttp.WSMsgType.TEXT:
                return str(msg.data)
            if msg.type is aiohttp.WSMsgType.CLOSE:
                # The code of the daemon's close frame: aiohttp's `close_code` may say 1006 when
                # the daemon hangs up right after sending it.
                self._close_code, self._close_reason = int(msg.data), str(msg.extra or "")
                return None
            if msg.type in (
                aiohttp.WSMsgType.CLOSING,
                aiohttp.WSMsgType.CLOSED,
                aiohttp.WSMsgType.ERROR,
            ):
                return None

    async def send(self, message: dict[str, Any]) -> None:
        if self._ws is None or self._ws.closed:
            raise DaemonUnreachable("the event stream is not connected")
        try:
            await self._ws.send_json(message)
        except (aiohttp.ClientError, OSError) as exc:
            raise DaemonUnreachable(f"the event stream broke: {exc!r}") from exc

    @property
    def close_code(self) -> int | None:
        if self._close_code is not None:
            return self._close_code
        return self._ws.close_code if self._ws is not None else None

    def refusal(self) -> CoopeError | None:
        """Why the daemon closed the socket for good (4401: the credential was revoked; any
        other 44xx: what that HTTP status means); None when a new connection may do."""
        code = self.close_code
        if code is None or code not in _REFUSALS:
            return None
        reason = self._close_reason or "refused"
        if code == CLOSE_UNAUTHENTICATED:
            return Unauthenticated(f"the daemon ended the event stream: {reason}")
        error = error_for_status(code - 4000, f"the daemon ended the event stream: {reason}")
        return None if isinstance(error, RateLimited) else error

    async def aclose(self) -> None:
        if self._ws is not None and not self._ws.closed:
            await self._ws.close()


class EventStream:
    """`async with client.events() as events: async for event in events: ...`

    A socket of its own, read as typed events (front ends share `client.live` instead).
    `ready` holds the daemon's greeting once connected. Iteration ends when the daemon closes
    the socket; a close because the credential was revoked raises `Unauthenticated`.
    """

    def __init__(self, transport: Transport, heartbeat_s: float = 20.0) -> None:
        self._socket = EventSocket(transport, heartbeat_s)

    @property
    def ready(self) -> ReadyEvent | None:
        return self._socket.ready

    async def __aenter__(self) -> EventStream:
        await self._socket.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def __aiter__(self) -> AsyncIterator[Event]:
        while (text := await self._socket.receive()) is not None:
            event = event_or_none(text)
            if event is not None:
                yield event
        refusal = self._socket.refusal()
        if isinstance(refusal, Unauthenticated):
            raise refusal

    async def send(self, message: dict[str, Any]) -> None:
        await self._socket.send(message)

    @property
    def close_code(self) -> int | None:
        return self._socket.close_code

    async def aclose(self) -> None:
        await self._socket.aclose()


def event_or_none(text: str | None) -> Event | None:
    """The typed event in `text` (a `GenericEvent` for a type this version does not know);
    None for what is no event at all, which a newer or broken daemon may send: skipped."""
    if text is None:
        return None
    try:
        return parse_event(text)
    except ValueError:
        log.warning("an event the client cannot read was skipped: %.200s", text)
        return None
