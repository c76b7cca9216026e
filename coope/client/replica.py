"""A live replica of a page: a local pycrdt `Doc` kept in sync over the page's sync socket.

    async with client.replica(page_id) as page:
        add_block(page.doc, "paragraph", "hello")   # local edits are sent as they happen
        async for _ in page.changes(): ...          # remote edits arrive in page.doc

It speaks the same y-protocols as any Yjs client (sync step 1/2, updates, awareness).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from types import TracebackType
from typing import TYPE_CHECKING, Any

import aiohttp
from pycrdt import (
    Doc,
    YMessageType,
    YSyncMessageType,
    create_sync_message,
    create_update_message,
    handle_sync_message,
)

from coope.core.errors import DaemonUnreachable, error_for_status, error_from_body

if TYPE_CHECKING:
    from coope.client.transport import Transport


class PageReplica:
    def __init__(self, transport: Transport, page_id: int, doc: Doc[Any] | None = None) -> None:
        self._t = transport
        self.page_id = page_id
        # An existing doc (edited while offline) is merged both ways by the sync handshake.
        self.doc: Doc[Any] = doc if doc is not None else Doc()
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._synced = asyncio.Event()
        self._changed = asyncio.Condition()
        self._version = 0
        self._reader: asyncio.Task[None] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._outgoing: asyncio.Queue[bytes] = asyncio.Queue()
        self._subscription: Any = None
        self._applying_remote = False
        self.close_code: int | None = None
        self.close_reason: str = ""

    async def __aenter__(self) -> PageReplica:
        url = self._t.server.replace("http", "ws", 1) + f"/api/v1/sync/{self.page_id}"
        try:
            self._ws = await self._t.session.ws_connect(url, headers=self._t.headers())
        except aiohttp.WSServerHandshakeError as exc:
            raise error_from_body(None, exc.status) from exc
        except aiohttp.ClientConnectionError as exc:
            raise DaemonUnreachable(f"cannot reach the daemon at {self._t.server}: {exc}") from exc
        self._subscription = self.doc.observe(self._on_local_change)
        await self._ws.send_bytes(create_sync_message(self.doc))
        self._reader = asyncio.create_task(self._read(), name=f"replica-read-{self.page_id}")
        self._writer = asyncio.create_task(self._write(), name=f"replica-write-{self.page_id}")
        await asyncio.wait_for(self._synced.wait(), 30)
        if self.close_code is not None and 4400 <= self.close_code < 4500:
            # The daemon accepts the upgrade and refuses with a close code (4000 + the HTTP
            # status), so that standard Yjs clients stop instead of retrying: the same error.
            await self.aclose()
            raise error_for_status(self.close_code - 4000, self.close_reason)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def flush(self) -> None:
        """Wait until every local change so far has been handed to the socket."""
        if self._writer is not None and not self._writer.done():
            await self._outgoing.join()

    async def aclose(self) -> None:
        if self._subscription is not None:
            self.doc.unobserve(self._subscription)
            self._subscription = None
        await self.flush()
        if self._ws is not None:
            await self._ws.close()
        for task in (self._reader, self._writer):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def _on_local_change(self, event: Any) -> None:
        if self._applying_remote or self._ws is None or self._ws.closed:
            return
        # Queued for the writer task: observers run inside pycrdt's transaction and cannot await.
        self._outgoing.put_nowait(create_update_message(event.update))

    async def _write(self) -> None:
        assert self._ws is not None
        while True:
            message = await self._outgoing.get()
            try:
                if not self._ws.closed:
                    await self._ws.send_bytes(message)
            finally:
                self._outgoing.task_done()

    async def _read(self) -> None:
        assert self._ws is not None
        while True:
            msg = await self._ws.receive()
            if msg.type in (
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.CLOSING,
                aiohttp.WSMsgType.CLOSED,
                aiohttp.WSMsgType.ERROR,
            ):
                self.close_reason = str(msg.extra or "")
                if msg.type is aiohttp.WSMsgType.CLOSE:
                    # The code of the daemon's close frame: aiohttp's `close_code` may say 1006
                    # when the daemon hangs up right after sending it.
                    self.close_code = int(msg.data)
                break
            if msg.type is not aiohttp.WSMsgType.BINARY or not msg.data:
                continue
            data: bytes = msg.data
            if data[0] != YMessageType.SYNC:
                continue  # awareness: a terminal replica shows no cursors
            self._applying_remote = True
            try:
                reply = handle_sync_message(data[1:], self.doc)
            finally:
                self._applying_remote = False
            if reply is not None:
                await self._ws.send_bytes(reply)
            if data[1] == YSyncMessageType.SYNC_STEP2:
                self._synced.set()
            async with self._changed:
                self._version += 1
                self._changed.notify_all()
        if self.close_code is None:
            self.close_code = self._ws.close_code
        self._synced.set()
        async with self._changed:
            self._changed.notify_all()

    async def changes(self) -> AsyncIterator[int]:
        """Yields after each batch of remote changes, until the socket closes."""
        seen = self._version
        while self._ws is not None and not self._ws.closed:
            async with self._changed:
                await self._changed.wait_for(
                    lambda seen=seen: self._version != seen or self._ws is None or self._ws.closed  # type: ignore[misc]
                )
            if self._version != seen:
                seen = self._version
                yield seen
