"""Typed application state shared by the transport modules."""

from __future__ import annotations

from aiohttp import web

from coope.core.models import Principal
from coope.daemon.config import DaemonConfig
from coope.daemon.services import Services
from coope.daemon.sfu.routing import CallRouter
from coope.daemon.storage import Storage

SERVICES = web.AppKey("services", Services)
CONFIG = web.AppKey("config", DaemonConfig)
# Where the daemon stores (for health checks; requests go through the services).
STORAGE = web.AppKey("storage", Storage)
STARTED_AT = web.AppKey("started_at", float)
# Open websockets, closed with "going away" when the daemon shuts down.
WEBSOCKETS: web.AppKey[set[web.WebSocketResponse]] = web.AppKey("websockets")
# The calls of the daemon (the SFU), above services in the layers.
CALLS = web.AppKey("calls", CallRouter)
# Who made a request, once a declared endpoint has authenticated it.
PRINCIPAL = web.RequestKey("principal", Principal)
