"""The typed async client of the coope daemon.

Names are loaded on first use (PEP 562): a command that only reads saved logins
(`coope.client.profiles`) or shows help does not pay for aiohttp.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from coope.client.profiles import DEFAULT_SERVER

if TYPE_CHECKING:
    from coope.client.client import CoopeClient
    from coope.client.events import EventStream
    from coope.client.feeds import Backoff
    from coope.client.live import ConnectionState, Live

__all__ = ["DEFAULT_SERVER", "Backoff", "ConnectionState", "CoopeClient", "EventStream", "Live"]

_HOMES = {
    "CoopeClient": "coope.client.client",
    "EventStream": "coope.client.events",
    "Backoff": "coope.client.feeds",
    "ConnectionState": "coope.client.live",
    "Live": "coope.client.live",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(home), name)
