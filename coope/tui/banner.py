"""`ConnectionBanner`: a line across the top while the daemon cannot be reached."""

from __future__ import annotations

from textual.reactive import reactive
from textual.widgets import Static

from coope.client.live import ConnectionState

MESSAGES: dict[ConnectionState, str] = {
    "reconnecting": "The connection to the daemon dropped: reconnecting…",
    "closed": "Disconnected from the daemon.",
}


class ConnectionBanner(Static):
    """Shown while `state` is "reconnecting" (or "closed" after having been connected);
    hidden while connecting and once connected."""

    state: reactive[ConnectionState] = reactive("connecting")

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.display = False

    def watch_state(self, state: ConnectionState) -> None:
        text = MESSAGES.get(state)
        self.update(text or "")
        self.display = text is not None
