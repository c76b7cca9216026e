"""`LiveCalls`: which of your rooms have a call going on, kept live, for the room list's
marker (`call_mark`).

Fetched once (`client.calls.list()`), then followed through the `call.started` and
`call.ended` events the daemon sends every member of a room; fetched again after a reconnect,
since calls may have started or ended meanwhile. Each coroutine runs as a worker of the app.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text

from coope.client import ConnectionState, CoopeClient
from coope.client.feeds import Handle
from coope.core.events import CallEnded, CallStarted
from coope.tui.work import Spawn

CALL_MARK = "◉"


def call_mark() -> Text:
    """What follows a room's name in the room list while its call goes on."""
    return Text(f" {CALL_MARK}", style="bold green")


class LiveCalls:
    """The rooms with a call going on (`rooms`, by id); `changed` is called with them after
    every change.

    Args:
        client: The signed-in client.
        spawn: Runs a coroutine as a worker of the app.
        changed: Told the rooms with a call after each change (on the app's loop).
    """

    def __init__(
        self, client: CoopeClient, spawn: Spawn, changed: Callable[[frozenset[int]], None]
    ) -> None:
        self.client, self.spawn, self.changed = client, spawn, changed
        self.rooms: frozenset[int] = frozenset()
        self._handles: list[Handle] = []

    def start(self) -> None:
        live = self.client.live
        self._handles = [
            live.on((CallStarted, CallEnded), self._call_event),
            live.on_state(self._state_changed),
        ]
        self.spawn(self.load(), group="live-calls")

    def stop(self) -> None:
        for handle in self._handles:
            handle.unsubscribe()
        self._handles.clear()

    async def load(self) -> None:
        self._set(frozenset(call.room_id for call in await self.client.calls.list()))

    def _set(self, rooms: frozenset[int]) -> None:
        if rooms != self.rooms:
            self.rooms = rooms
            self.changed(rooms)

    def _call_event(self, event: CallStarted | CallEnded) -> None:
        room_id = event.data.room_id
        if isinstance(event, CallStarted):
            self._set(self.rooms | {room_id})
        else:
            self._set(self.rooms - {room_id})

    def _state_changed(self, state: ConnectionState) -> None:
        if state == "connected":
            self.spawn(self.load(), group="live-calls")
