"""`create_app(config)`: the daemon's aiohttp application, wired from its parts."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

from aiohttp import WSCloseCode, web
from pydantic import BaseModel

from coope.core.events import IceServer, event_json_schema
from coope.daemon.bus import EventBus, InProcessBus
from coope.daemon.clock import Clock, SystemClock
from coope.daemon.config import DaemonConfig
from coope.daemon.http import (
    accounts,
    admin,
    calls,
    chat,
    friends,
    invite_page,
    pages,
    system,
    tokens,
    webhooks,
    workspaces,
)
from coope.daemon.http.keys import CALLS, CONFIG, SERVICES, STARTED_AT, STORAGE, WEBSOCKETS
from coope.daemon.http.middleware import errors_as_json
from coope.daemon.http.openapi import (
    EVENTS_SCHEMA_PATH,
    EVENTS_SOCKET,
    OPENAPI_PATH,
    SYNC_SOCKET,
    build_openapi,
)
from coope.daemon.http.routes import RouteTable, add_routes
from coope.daemon.http.web_files import WEB_DIR, web_file
from coope.daemon.services import Services
from coope.daemon.services.live_connections import LiveConnections, MemoryLiveConnections
from coope.daemon.services.ratelimit import FailureLog, MemoryFailureLog
from coope.daemon.services.secrets import session_secret_candidate
from coope.daemon.sfu.calls import CallManager, IceSettings
from coope.daemon.sfu.internals import use_host_addresses, use_port_range
from coope.daemon.sfu.leases import CallLeases, MemoryCallLeases
from coope.daemon.sfu.routing import CallRouter
from coope.daemon.storage import Storage
from coope.daemon.storage.sqlite import SqliteStorage
from coope.daemon.ws.docsync import sync_socket
from coope.daemon.ws.events import events_socket

# The call page: declared like the API; it fetches everything else itself.
web_pages = RouteTable("web")


class CallPagePath(BaseModel):
    # Any text: the page itself tells a person that a link names no room, in its own words,
    # rather than a JSON error meant for programs.
    room_id: str


@web_pages.get(
    "/call/{room_id}",
    summary="The browser call page for a room (signs in, then joins over /api/v1/ws).",
    params=CallPagePath,
    raw_response="text/html",
    auth=False,
)
async def call_page(request: web.Request, params: CallPagePath) -> web.StreamResponse:
    return web.FileResponse(WEB_DIR / "call.html", headers={"Cache-Control": "no-cache"})


@web_pages.get(
    "/web/call.js",
    summary="The call page's script.",
    raw_response="text/javascript",
    auth=False,
)
async def call_script(request: web.Request) -> web.StreamResponse:
    return web_file("call.js", "text/javascript")


@web_pages.get(
    "/web/call.css",
    summary="The call page's styles.",
    raw_response="text/css",
    auth=False,
)
async def call_styles(request: web.Request) -> web.StreamResponse:
    return web_file("call.css", "text/css")


ROUTE_TABLES: list[RouteTable] = [
    system.routes,
    accounts.routes,
    tokens.routes,
    admin.routes,
    webhooks.routes,
    friends.routes,
    chat.routes,
    workspaces.routes,
    pages.routes,
    calls.routes,
    web_pages,
    invite_page.routes,
]


def _configured_storage(config: DaemonConfig) -> Storage:
    if config.database_url is None:
        return SqliteStorage(config.db_path)
    # Imported only when asked for: the embedded daemon never loads the PostgreSQL driver.
    from coope.daemon.storage.postgres import PostgresStorage

    return PostgresStorage(config.database_url)


def _configured_bus(config: DaemonConfig) -> EventBus:
    if config.redis_url is None:
        return InProcessBus()
    from coope.daemon.bus_redis import RedisBus

    return RedisBus(config.redis_url, prefix=config.redis_prefix)


def _configured_shared_state(
    config: DaemonConfig,
) -> tuple[FailureLog, LiveConnections, CallLeases]:
    """Failed logins, who is connected and where calls run: in memory, or in Redis for daemons
    serving as one."""
    if config.redis_url is None:
        return MemoryFailureLog(), MemoryLiveConnections(), MemoryCallLeases()
    from coope.daemon.shared_redis import RedisCallLeases, RedisFailureLog, RedisLiveConnections

    return (
        RedisFailureLog(config.redis_url, prefix=config.redis_prefix),
        RedisLiveConnections(
            config.redis_url, prefix=config.redis_prefix, ttl_s=config.presence_ttl_s
        ),
        RedisCallLeases(
            config.redis_url,
            uuid.uuid4().hex,
            prefix=config.redis_prefix,
            ttl_s=config.call_lease_s,
        ),
    )


def create_app(
    config: DaemonConfig,
    *,
    storage: Storage | None = None,
    bus: EventBus | None = None,
    clock: Clock | None = None,
) -> web.Application:
    """Build the daemon: on the configured PostgreSQL database and Redis server, or else on
    SQLite in its data dir and an in-process bus, unless given others.

    Storage and the bus open when the app starts and are closed when it stops, also those given.
    """
    clock = clock or SystemClock()
    config.data_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(config.data_dir, 0o700)
    storage = storage or _configured_storage(config)
    bus = bus or _configured_bus(config)
    login_failures, live_connections, call_leases = _configured_shared_state(config)
    services = Services.build(
        config,
        storage,
        bus,
        clock,
        login_failures=login_failures,
        live_connections=live_connections,
    )

    app = web.Application(client_max_size=config.max_body_bytes, middlewares=[errors_as_json])
    app[CONFIG] = config
    app[SERVICES] = services
    app[STORAGE] = storage
    app[STARTED_AT] = clock.now()
    app[WEBSOCKETS] = set()
    if config.ice_hosts:
        use_host_addresses(list(config.ice_hosts))
    if config.ice_ports:
        use_port_range(*config.ice_ports)
    call_manager = CallManager(services.chat, bus, IceSettings(ice_servers(config)))
    calls = app[CALLS] = CallRouter(call_manager, call_leases, bus, services.chat, storage)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        await storage.start()
        try:
            await services.auth.start(session_secret_candidate(config.data_dir))
            await bus.start()
        except BaseException:
            await storage.aclose()
            raise
        await services.docs.start()
        services.chat.start()
        services.presence.start()
        await calls.start()
        yield
        await calls.aclose()
        await services.chat.aclose()
        await services.docs.aclose()
        await services.presence.aclose()
        await bus.aclose()
        await login_failures.aclose()
        await live_connections.aclose()
        await call_leases.aclose()
        await storage.aclose()

    app.cleanup_ctx.append(lifecycle)
    app.on_shutdown.append(_close_websockets)

    add_routes(app, ROUTE_TABLES)
    openapi = build_openapi(ROUTE_TABLES)

    async def openapi_json(request: web.Request) -> web.Response:
        return web.json_response(openapi)

    app.router.add_get(OPENAPI_PATH, openapi_json)
    events_schema = event_json_schema()

    async def events_schema_json(request: web.Request) -> web.Response:
        return web.json_response(events_schema)

    app.router.add_get(EVENTS_SCHEMA_PATH, events_schema_json)
    # The sockets' paths come from their descriptions in the document, so the two cannot drift.
    app.router.add_get(EVENTS_SOCKET.path, events_socket)
    app.router.add_get(SYNC_SOCKET.path, sync_socket)
    return app


def ice_servers(config: DaemonConfig) -> tuple[IceServer, ...]:
    """The configured STUN/TURN servers, in the RTCIceServer shape browsers take too."""
    return tuple(
        IceServer(urls=url, username=config.turn_username, credential=config.turn_password)
        if url.startswith(("turn:", "turns:"))
        else IceServer(urls=url)
        for url in config.ice_servers
    )


async def _close_websockets(app: web.Application) -> None:
    for ws in app[WEBSOCKETS].copy():
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"daemon shutting down")
