"""The client's end of `/api/v1/ws`: an async iterator of typed events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any

import aiohttp

from coope.client.transport import Transport
from coope.core.errors import DaemonUnreachable, InternalError, Unauthenticated, error_from_body
from coope.core.schemas import Event

CLOSE_UNAUTHENTICATED = 4401


class EventStream:
    """`async with client.events() as events: async for event in events: ...`

    `ready` holds the daemon's greeting once connected. Iteration ends when the daemon closes the
    socket; a close because the credential was revoked raises `Unauthenticated`.
    """

    def __init__(self, transport: Transport, heartbeat_s: float = 20.0) -> None:
        self._t = transport
        self._heartbeat = heartbeat_s
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._close_code: int | None = None
        self.ready: Event | None = None

    async def __aenter__(self) -> EventStream:
        url = self._t.server.replace("http", "ws", 1) + "/api/v1/ws"
        try:
            self._ws = await self._t.session.ws_connect(
                url, headers=self._t.headers(), heartbeat=self._heartbeat
            )
        except aiohttp.WSServerHandshakeError as exc:
            raise error_from_body(None, exc.status) from exc
        except aiohttp.ClientConnectionError as exc:
            raise DaemonUnreachable(f"cannot reach the daemon at {self._t.server}: {exc}") from exc
        first = await self._next()
        if first is None or first.type != "ready":
            await self.aclose()
            message = first.data.get("message") if first else None
            raise Unauthenticated(str(message or "the daemon refused the event stream"))
        self.ready = first
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def __aiter__(self) -> AsyncIterator[Event]:
        while (event := await self._next()) is not None:
            yield event

    async def _next(self) -> Event | None:
        if self._ws is None:
            raise InternalError("the event stream is not connected")
        msg = await self._ws.receive()
        if msg.type is aiohttp.WSMsgType.TEXT:
            return Event.model_validate_json(msg.data)
        if msg.type is aiohttp.WSMsgType.CLOSE:
            # The code of the daemon's close frame: aiohttp's `close_code` may say 1006 when the
            # daemon hangs up right after sending it.
            self._close_code = int(msg.data)
        if self.close_code == CLOSE_UNAUTHENTICATED:
            raise Unauthenticated(f"the daemon ended the event stream: {msg.extra or 'revoked'}")
        return None

    async def send(self, message: dict[str, Any]) -> None:
        if self._ws is None:
            raise InternalError("the event stream is not connected")
        await self._ws.send_json(message)

    @property
    def close_code(self) -> int | None:
        if self._close_code is not None:
            return self._close_code
        return self._ws.close_code if self._ws is not None else None

    async def aclose(self) -> None:
        if self._ws is not None and not self._ws.closed:
            await self._ws.close()
