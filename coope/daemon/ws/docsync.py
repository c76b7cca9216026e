"""`/api/v1/sync/{page_id}`: the Yjs sync socket of one page, as y-websocket speaks it.

A standard `WebsocketProvider(url + "/api/v1/sync", String(pageId), doc, {params: {token}})`
connects: the token comes in the `token` query parameter (browsers cannot set headers on a
websocket) or the usual `Authorization` header. Viewers receive everything and may send
awareness; an update from them closes the socket (4403). A malformed message closes it with 4400,
an update that would break the page's structure with 4422, an update that builds on changes the
page has not received with 1013 (reconnect: the sync handshake sends them first; 4409 when the
same ones come again after reconnecting, as nothing can complete them), each with the reason.

Every refusal comes after the upgrade, as a close code (`reasons.close_code`): a refused upgrade
is only "1006, connection failed" to a websocket client, which y-websocket retries forever, while
it stops for good on 4400-4499. So: 4401 without a valid credential, 4404 for a page id that is
not one, or a page the caller may not see (a workspace someone is not in does not exist for
them, as over REST).

Access follows the user while connected. The socket listens to the user's bus topic: on
`auth.revoked` (a token revoked, a logout, the account disabled), `workspace.access` (a role
changed, removed from the workspace, the workspace deleted) and `pages.archived`/`pages.restored`
(a page in the trash is read-only) it decides again from what is stored,
the way it decided at connect: a credential that stopped working closes the socket with 4401,
lost access with 4403, and a demoted editor becomes a viewer (and a promoted viewer an editor)
for the next message. A credential that expires while connected is decided on at its expiry.
A message waits while such a decision is being made. The event is on its way (queued for this
socket's listener, which runs before the socket's next read) when the call that changed access
is answered, so an update sent after that answer never passes under the old rights.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncGenerator, Callable

from aiohttp import WSMsgType, web

from coope.core.errors import CoopeError, NotFound, Unauthenticated
from coope.core.events import AuthRevoked, Event, PagesArchived, PagesRestored, WorkspaceAccess
from coope.core.models import Principal
from coope.core.schemas import INT64_MAX
from coope.daemon.bus import Subscription, user_topic
from coope.daemon.http.keys import CONFIG, SERVICES, WEBSOCKETS
from coope.daemon.http.routes import bearer_token
from coope.daemon.services import Services
from coope.daemon.services.livedocs import SyncRefused
from coope.daemon.ws.reasons import CLOSE_INTERNAL, CLOSE_TRY_AGAIN, close_code, close_reason

log = logging.getLogger(__name__)

# The events after which what a socket may do is decided again.
ACCESS_EVENTS = (AuthRevoked, WorkspaceAccess, PagesArchived, PagesRestored)
CLOSE_NO_ACCESS = 4403
_PAGE_ID = re.compile(r"[1-9][0-9]{0,18}")


class _SocketPeer:
    def __init__(self, ws: web.WebSocketResponse) -> None:
        self._ws = ws
        self._closing = False

    async def send(self, data: bytes) -> None:
        if not self._closing and not self._ws.closed:
            await self._ws.send_bytes(data)

    async def close(self, code: int, reason: str) -> None:
        # The first reason wins: two at once (the page deleted as access to it is lost) would
        # otherwise race in the closing handshake and the client would see only 1006.
        if self._closing:
            return
        self._closing = True
        await self._ws.close(code=code, message=close_reason(reason))


class _Access:
    """What one socket's credential may do on its page now: checked at connect, and again after
    each event that may have changed it."""

    def __init__(self, services: Services, token: str | None, page_id: int) -> None:
        self._services = services
        self._token = token
        self.page_id = page_id
        self.can_edit = False
        self.closing = False
        self._expires_at: float | None = None
        self._settled = asyncio.Event()
        self._settled.set()

    async def check(self) -> Principal:
        """Decide from what is stored; raises `Unauthenticated` or `NotFound` like REST does."""
        principal = await self._services.auth.authenticate(self._token)
        self.can_edit = await self._services.pages.sync_access(principal, self.page_id)
        self._expires_at = principal.expires_at
        return principal

    def _time_left(self) -> float | None:
        """Seconds until the credential expires (None: it does not)."""
        if self._expires_at is None:
            return None
        return max(0.0, self._expires_at - self._services.clock.now())

    async def settled(self) -> None:
        """Wait until no decision is being made (one started by an event already received)."""
        await self._settled.wait()

    async def follow(self, events: Subscription, peer: _SocketPeer) -> None:
        """Decide again after each access event; close the socket when access is gone."""
        code, reason = await self._until_gone(events)
        self.closing = True  # from here on this task closes the socket: not to be cancelled
        await peer.close(code, reason)

    async def _until_gone(self, events: Subscription) -> tuple[int, str]:
        """Wait for the access event (or the credential's expiry) after which this socket may
        stay open no longer."""
        # Closed on return: its pending read of the subscription ends with it.
        async with contextlib.aclosing(_until_expiry(events, self._time_left)) as stream:
            async for event in stream:
                if event is not None and not isinstance(event, ACCESS_EVENTS):
                    continue
                self._settled.clear()  # before any await: the next message waits for it
                try:
                    await self.check()
                except Unauthenticated as exc:
                    # Say why as the events socket does ("logout", "token revoked"...).
                    reason = event.data.reason if isinstance(event, AuthRevoked) else None
                    return close_code(exc), reason or exc.message
                except NotFound:
                    return CLOSE_NO_ACCESS, "you no longer have access to this page"
                except CoopeError as exc:
                    return close_code(exc), exc.message
                except Exception:
                    log.exception("checking sync access failed", extra={"page": self.page_id})
                    return CLOSE_INTERNAL, "could not check access: reconnect"
                finally:
                    self._settled.set()
        # The bus ended the stream (this socket fell far behind): a new connection starts afresh.
        return CLOSE_TRY_AGAIN, "too far behind: reconnect"


async def _until_expiry(
    events: Subscription, time_left: Callable[[], float | None]
) -> AsyncGenerator[Event | None, None]:
    """The subscription's events, and None each time `time_left()` runs out before the next
    one (the credential expired: decide again). The pending read survives a timeout, so no
    event is lost."""
    iterator = aiter(events)
    pending: asyncio.Future[Event] = asyncio.ensure_future(anext(iterator))
    floor = 0.0
    try:
        while True:
            left = time_left()
            done, _ = await asyncio.wait({pending}, timeout=None if left is None else left + floor)
            if not done:
                yield None
                floor = 1.0  # still valid (clocks differ a little): do not ask again at once
                continue
            floor = 0.0
            try:
                event = pending.result()
            except StopAsyncIteration:
                return
            pending = asyncio.ensure_future(anext(iterator))
            yield event
    finally:
        pending.cancel()
        with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
            await pending


def _page_id(raw: str) -> int:
    if _PAGE_ID.fullmatch(raw) is None or int(raw) > INT64_MAX:
        raise NotFound("no such page")
    return int(raw)


async def sync_socket(request: web.Request) -> web.WebSocketResponse:
    services, config = request.app[SERVICES], request.app[CONFIG]
    ws = web.WebSocketResponse(
        heartbeat=config.ws_heartbeat_s, max_msg_size=config.max_doc_update_bytes
    )
    await ws.prepare(request)
    request.app[WEBSOCKETS].add(ws)
    peer = _SocketPeer(ws)
    try:
        try:
            token = bearer_token(request) or request.query.get("token")
            principal = await services.auth.authenticate(token)
            page_id = _page_id(request.match_info["page_id"])
        except CoopeError as exc:
            await peer.close(close_code(exc), exc.message)
            return ws
        access = _Access(services, token, page_id)
        # Listen before deciding, so that no change falls between the decision and the listening.
        try:
            events = await services.bus.subscribe([user_topic(principal.user.id)])
        except CoopeError as exc:  # the bus cannot be reached: a new connection may do
            await peer.close(close_code(exc), exc.message)
            return ws
        try:
            await _serve(services, ws, peer, access, events)
        except ConnectionError:
            pass  # the client went away: nobody to tell
        except Exception:
            # Never let an error escape into the upgraded connection (it would be written as an
            # HTTP 500 into the socket): log it and close properly.
            log.exception("sync socket failed", extra={"page": page_id})
            await peer.close(CLOSE_INTERNAL, "internal error: reconnect")
        finally:
            await events.aclose()
    finally:
        request.app[WEBSOCKETS].discard(ws)
    return ws


async def _serve(
    services: Services,
    ws: web.WebSocketResponse,
    peer: _SocketPeer,
    access: _Access,
    events: Subscription,
) -> None:
    try:
        principal = await access.check()
    except CoopeError as exc:
        await peer.close(close_code(exc), exc.message)
        return
    live = await services.docs.join(access.page_id, peer)
    follower = asyncio.create_task(access.follow(events, peer), name="sync-access")
    try:
        async for msg in ws:
            await access.settled()
            if ws.closed:
                break
            if msg.type is not WSMsgType.BINARY:
                await peer.close(4400, "the sync protocol is binary")
                break
            try:
                await services.docs.receive(live, peer, msg.data, access.can_edit)
            except SyncRefused as refused:
                log.info(
                    "sync peer refused",
                    extra={
                        "page": access.page_id,
                        "user": principal.user.username,
                        "reason": refused.reason,
                    },
                )
                await peer.close(refused.code, refused.reason)
                break
    finally:
        # A follower that is closing the socket finishes its handshake (cancelled in the middle
        # of it, aiohttp drops the connection and the client sees 1006 instead of the reason).
        if not access.closing:
            follower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follower
        await services.docs.leave(live, peer)
