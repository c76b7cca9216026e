"""A bare page sync socket for tests: raw y-protocols messages, and the server's close."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from pycrdt import Doc, Map, Text, create_sync_message, create_update_message

from coope.core.blocks import blocks_of
from tests.helpers import RunningDaemon

STEP2 = b"\x00\x01"
TIMEOUT_S = 5.0


class SyncSocket:
    """One `/api/v1/sync/{page_id}` connection, driven message by message."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws

    async def send_update(self, update: bytes) -> None:
        await self.ws.send_bytes(create_update_message(update))

    async def confirm(self) -> bool:
        """Ask for the page (sync step 1) and wait for the answer: True once everything sent
        before was handled (the socket handles its messages in order), False if it closed."""
        await self.ws.send_bytes(create_sync_message(Doc()))
        while (msg := await self.ws.receive(timeout=TIMEOUT_S)).type is aiohttp.WSMsgType.BINARY:
            if msg.data[:2] == STEP2:
                return True
        return False

    async def closed(self) -> tuple[int | None, str]:
        """Wait for the server to close the socket: (code, reason)."""
        while (msg := await self.ws.receive(timeout=TIMEOUT_S)).type is aiohttp.WSMsgType.BINARY:
            pass
        # The code the server's close frame carries: aiohttp's own close_code turns into 1006
        # when the server (closing from another task than the reader) hangs up before our reply.
        if msg.type is aiohttp.WSMsgType.CLOSE:
            return int(msg.data), str(msg.extra or "")
        return self.ws.close_code, str(msg.extra or "")


def sync_url(daemon: RunningDaemon, page: int | str, token: str | None) -> str:
    base = f"{daemon.url.replace('http', 'ws', 1)}/api/v1/sync/{page}"
    return base if token is None else f"{base}?token={token}"


@asynccontextmanager
async def sync_socket(
    daemon: RunningDaemon, page: int | str, token: str | None
) -> AsyncIterator[SyncSocket]:
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(sync_url(daemon, page, token)) as ws,
    ):
        yield SyncSocket(ws)


def replica_of(state: bytes, client_id: int | None = None) -> Doc[Any]:
    """A pycrdt copy of a page from its state (`pages.state`), with a chosen client id."""
    doc: Doc[Any] = Doc(client_id=client_id)
    doc.apply_update(state)
    return doc


def add_block_update(doc: Doc[Any], block_id: str, kind: str, text: str) -> bytes:
    """Add a block to `doc`; the update that does it."""
    before = doc.get_state()
    blocks_of(doc)[block_id] = Map({"type": kind, "text": Text(text), "checked": False, "pos": "z"})
    return doc.get_update(before)


def set_type_update(doc: Doc[Any], block_id: str, kind: str) -> bytes:
    """Change a block's type in `doc`; the update that does it."""
    before = doc.get_state()
    blocks_of(doc)[block_id]["type"] = kind
    return doc.get_update(before)
