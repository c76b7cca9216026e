"""`/api/v1/sync/{page_id}`: the Yjs sync socket of one page, as y-websocket speaks it.

A standard `WebsocketProvider(url + "/api/v1/sync", String(pageId), doc, {params: {token}})`
connects: the token comes in the `token` query parameter (browsers cannot set headers on a
websocket) or the usual `Authorization` header. Viewers receive everything and may send
awareness; an update from them closes the socket (4403). A malformed message closes it with 4400,
an update that would break the page's structure with 4422, each with the reason.
"""

from __future__ import annotations

import logging

from aiohttp import WSMsgType, web

from coope.core.errors import NotFound
from coope.daemon.http.keys import CONFIG, SERVICES, WEBSOCKETS
from coope.daemon.http.routes import bearer_token
from coope.daemon.services.livedocs import SyncRefused
from coope.daemon.ws.reasons import close_reason

log = logging.getLogger(__name__)


class _SocketPeer:
    def __init__(self, ws: web.WebSocketResponse) -> None:
        self._ws = ws

    async def send(self, data: bytes) -> None:
        if not self._ws.closed:
            await self._ws.send_bytes(data)

    async def close(self, code: int, reason: str) -> None:
        await self._ws.close(code=code, message=close_reason(reason))


async def sync_socket(request: web.Request) -> web.WebSocketResponse:
    services, config = request.app[SERVICES], request.app[CONFIG]
    try:
        page_id = int(request.match_info["page_id"])
    except ValueError:
        raise NotFound("no such page") from None
    token = bearer_token(request) or request.query.get("token")
    principal = await services.auth.authenticate(token)
    # Refused before the upgrade, with an HTTP status and a JSON body, like any request.
    can_edit = await services.pages.sync_access(principal, page_id)

    ws = web.WebSocketResponse(
        heartbeat=config.ws_heartbeat_s, max_msg_size=config.max_doc_update_bytes
    )
    await ws.prepare(request)
    request.app[WEBSOCKETS].add(ws)
    peer = _SocketPeer(ws)
    live = await services.docs.join(page_id, peer)
    try:
        async for msg in ws:
            if msg.type is not WSMsgType.BINARY:
                await peer.close(4400, "the sync protocol is binary")
                break
            try:
                await services.docs.receive(live, peer, msg.data, can_edit)
            except SyncRefused as refused:
                log.info(
                    "sync peer refused",
                    extra={
                        "page": page_id,
                        "user": principal.user.username,
                        "reason": refused.reason,
                    },
                )
                await peer.close(refused.code, refused.reason)
                break
    finally:
        request.app[WEBSOCKETS].discard(ws)
        await services.docs.leave(live, peer)
    return ws
