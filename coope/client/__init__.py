"""The typed async client of the coope daemon."""

from coope.client.client import CoopeClient
from coope.client.events import EventStream
from coope.client.feeds import Backoff
from coope.client.live import ConnectionState, Live
from coope.client.transport import DEFAULT_SERVER

__all__ = ["DEFAULT_SERVER", "Backoff", "ConnectionState", "CoopeClient", "EventStream", "Live"]
