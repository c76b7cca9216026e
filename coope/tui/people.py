"""`People`: the friends side of the TUI, fetched through the client and kept live.

Requests to you and yours, friends, the people you blocked and your own status make one
`PeopleState`. `load()` fetches it and hands it to `show`, which the app passes on to the
sidebar (the count of requests to you) and to the friends screen when it is open. The friend.*
events load it again, so a request or an answer shows as it happens; a presence event replaces
the presence it is about (a friend's or yours) in place. Every coroutine here runs as a worker
of the app (`spawn`), which turns a `CoopeError` into a notification.

A presence says how long ago its person was active when the daemon sent it; the state keeps
when each arrived (by a monotonic clock), so that whoever draws it counts on from there
(`PeopleState.aged`) instead of showing "active 5 min ago" for an hour.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from coope.client import ConnectionState, CoopeClient
from coope.client.feeds import Handle
from coope.core.errors import InvalidInput
from coope.core.events import (
    FriendAccepted,
    FriendCancelled,
    FriendDeclined,
    FriendRemoved,
    FriendRequest,
    PresenceEvent,
)
from coope.core.presence import STATUS_LABELS
from coope.core.rules import visible
from coope.core.social_schemas import (
    Availability,
    FriendOut,
    FriendRequestOut,
    PresenceOut,
    UserRef,
)
from coope.tui.work import Spawn

Action = Literal["request", "accept", "decline", "cancel", "remove", "block", "unblock"]

Status = Availability

FRIEND_EVENTS = (FriendRequest, FriendAccepted, FriendDeclined, FriendCancelled, FriendRemoved)

DONE: dict[Action, str] = {
    "request": "Friend request sent to {}.",
    "accept": "You and {} are friends now.",
    "decline": "You declined {}'s request.",
    "cancel": "You withdrew your request to {}.",
    "remove": "{} is no longer your friend.",
    "block": "You blocked {}.",
    "unblock": "You unblocked {}.",
}

# What a request comes to when it was not simply sent (the other side had asked first, ...).
REQUEST_OUTCOMES = {
    "already_requested": "You asked {} already.",
    "friends": "{} had asked you: you are friends now.",
    "already_friends": "You and {} are friends already.",
}


@dataclass(frozen=True)
class PeopleState:
    incoming: list[UserRef]
    outgoing: list[UserRef]
    friends: list[FriendOut]
    blocked: list[UserRef]
    me: PresenceOut
    # Username -> when their presence arrived, by `clock`.
    arrived: Mapping[str, float] = field(default_factory=dict)
    clock: Callable[[], float] = time.monotonic

    def aged(self) -> PeopleState:
        """The state as it stands now: each "active N ago" counted on since it arrived."""
        now = self.clock()
        friends = [
            f.model_copy(update={"presence": self._aged(f.presence, now)}) for f in self.friends
        ]
        return replace(self, friends=friends, me=self._aged(self.me, now))

    def _aged(self, presence: PresenceOut, now: float) -> PresenceOut:
        since = int(now - self.arrived.get(presence.username, now))
        if presence.active_ago_s is None or presence.online or since <= 0:
            return presence  # never active, active now, or just arrived
        return presence.model_copy(update={"active_ago_s": presence.active_ago_s + since})


class People:
    """Friends, requests, blocks and your status for one signed-in client.

    Args:
        client: The signed-in client.
        spawn: Runs a coroutine as a worker of the app.
        show: Called with every state loaded (on the app's loop, between its events).
        say: Tells the person something (a plain-words notification, never markup).
        clock: Monotonic seconds, read when each presence arrives (`time.monotonic`).
    """

    def __init__(
        self,
        client: CoopeClient,
        spawn: Spawn,
        show: Callable[[PeopleState], None],
        say: Callable[[str], None],
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.client, self.spawn, self.show, self.say = client, spawn, show, say
        self.clock = clock or time.monotonic
        self.state: PeopleState | None = None
        self._handles: list[Handle] = []

    def start(self) -> None:
        """Load, then follow the friend.* events until `stop()`."""
        live = self.client.live
        self._handles = [
            live.on(FRIEND_EVENTS, self._friend_event),
            live.on(PresenceEvent, self._presence),
            live.on_state(self._state_changed),
        ]
        self.spawn(self.load(), group="people")

    def stop(self) -> None:
        for handle in self._handles:
            handle.unsubscribe()
        self._handles.clear()

    async def load(self) -> None:
        friends = self.client.friends
        requests = await friends.requests()
        found, blocked = await friends.list(), await friends.blocked()
        me = await self.client.presence.get()
        now = self.clock()
        self.state = PeopleState(
            incoming=[r.user for r in requests.incoming],
            outgoing=[r.user for r in requests.outgoing],
            friends=found,
            blocked=blocked,
            me=me,
            arrived={p.username: now for p in [me, *(f.presence for f in found)]},
            clock=self.clock,
        )
        self.show(self.state)

    async def act(self, action: Action, username: str) -> None:
        """Do `action` to `username` (typed with or without @), say so, and load again."""
        name = username.strip().removeprefix("@").strip()
        if not name:
            raise InvalidInput("name someone by their username")
        calls: dict[Action, Callable[[str], Awaitable[UserRef | FriendRequestOut]]] = {
            "request": self.client.friends.request,
            "accept": self.client.friends.accept,
            "decline": self.client.friends.decline,
            "cancel": self.client.friends.cancel,
            "remove": self.client.friends.remove,
            "block": self.client.friends.block,
            "unblock": self.client.friends.unblock,
        }
        result = await calls[action](name)
        said = DONE[action]
        if isinstance(result, FriendRequestOut):
            said = REQUEST_OUTCOMES.get(result.outcome, said)
            name = result.user.username
        else:
            name = result.username
        self.say(said.format(visible(name)))
        await self.load()

    async def set_status(self, status: Status | None, text: str | None) -> None:
        """Choose your status (None keeps that part as it is) and load again."""
        me = await self.client.presence.set(status, text)
        said = f"You are {STATUS_LABELS[me.status]}" + (f": {visible(me.text)}" if me.text else "")
        self.say(said + ".")
        await self.load()

    # --- live callbacks (on the connection's task: no waiting here) -----------------------------

    def _state_changed(self, state: ConnectionState) -> None:
        # Whatever happened while the connection was not up came with no event: load it.
        if state == "connected":
            self.spawn(self.load(), group="people")

    def _presence(self, event: PresenceEvent) -> None:
        state, presence = self.state, event.data
        if state is None:
            return
        arrived = {**state.arrived, presence.username: self.clock()}
        if presence.username == state.me.username:
            self.state = replace(state, me=presence, arrived=arrived)
        elif any(f.user.username == presence.username for f in state.friends):
            friends = [
                f.model_copy(update={"presence": presence})
                if f.user.username == presence.username
                else f
                for f in state.friends
            ]
            self.state = replace(state, friends=friends, arrived=arrived)
        else:
            return
        self.show(self.state)

    def _friend_event(
        self,
        event: FriendRequest | FriendAccepted | FriendDeclined | FriendCancelled | FriendRemoved,
    ) -> None:
        if isinstance(event, FriendRequest):
            self.say(f"{visible(event.data.user.username)} asks to be your friend (f to answer).")
        self.spawn(self.load(), group="people")
