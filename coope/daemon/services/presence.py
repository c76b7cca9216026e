"""Presence: the status a person chose, their live connections and their last activity.

What friends see (`PresenceOut`) is made of three things:
- the chosen status (available, away, busy, dnd) and its text, stored, shown whatever the
  connection, and ending by itself at `expires_at` if it has one: read after its end, it is
  `available` with no text, and friends are told when it ends;
- the live connections (websockets, held in memory): online while any is open, `state` away
  when every one of them reports idle (or away is chosen), offline when none is left;
- the last activity (`Activity`): any authenticated request or live connection.
Friends (and the user's own other devices) get a `presence` event whenever what they see
changes: a status chosen, cleared or ended, a connection state. Activity alone announces
nothing (one event per request would flood them): it is read as "active N min ago".
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import weakref
from dataclasses import dataclass
from typing import get_args

from coope.core.errors import InvalidInput, Unavailable
from coope.core.events import PresenceEvent
from coope.core.models import PresenceState, Principal
from coope.core.schemas import to_datetime
from coope.core.social_schemas import (
    STATUS_FOR_MAX_S,
    STATUS_TEXT_MAX,
    Availability,
    PresenceOut,
    StatusIn,
)
from coope.daemon.bus import EventBus, user_topics
from coope.daemon.clock import Clock
from coope.daemon.services.activity import Activity
from coope.daemon.services.live_connections import LiveConnections, MemoryLiveConnections
from coope.daemon.storage import Storage
from coope.daemon.storage.interface import StoredPresence

log = logging.getLogger(__name__)

RECHECK_S = 60.0
"""While a status is due to end, the clock is read at least this often: an end is announced
within this long of it even when the clock jumps (a machine woken from sleep, a moved clock)."""

_AVAILABILITIES: tuple[Availability, ...] = get_args(Availability)

# How often an announcement reads again to catch one of another daemon that crossed it.
_RECHECKS = 2


@dataclass(frozen=True)
class ChosenStatus:
    status: Availability = "available"
    text: str = ""
    expires_at: float | None = None

    @classmethod
    def stored(cls, stored: StoredPresence, now: float) -> ChosenStatus:
        """The stored status as it stands at `now`: nothing chosen once it has ended."""
        if stored.expires_at is not None and stored.expires_at <= now:
            return cls()
        status = stored.status if stored.status in _AVAILABILITIES else "available"
        return cls(status, stored.text, stored.expires_at)


class PresenceService:
    def __init__(
        self,
        storage: Storage,
        bus: EventBus,
        clock: Clock,
        live: LiveConnections | None = None,
    ) -> None:
        """`live`: who is connected (this daemon's sockets in memory unless given sockets that
        daemons share)."""
        self._storage = storage
        self._bus = bus
        self._clock = clock
        self.activity = Activity(storage, clock)
        self._live = live or MemoryLiveConnections()
        self._beat: asyncio.Task[None] | None = None
        self._announce_locks: dict[int, asyncio.Lock] = {}
        # One change of a user's chosen status at a time (held only while someone waits).
        self._status_locks: weakref.WeakValueDictionary[int, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        # Statuses due to end, announced by a timer: user id -> (end, username), and the same
        # ends soonest first (an entry whose end changed since is skipped when it comes up).
        self._ends: dict[int, tuple[float, str]] = {}
        self._soonest: list[tuple[float, int]] = []
        self._ends_loaded = False
        self._timer: asyncio.TimerHandle | None = None
        self._ending: set[asyncio.Task[None]] = set()
        self._closed = False

    async def presence_of(self, users: dict[int, str]) -> dict[int, PresenceOut]:
        """Presence of the given users (id -> username), as their friends see it."""
        await self._load_ends()
        stored = await self._storage.presences(list(users))
        live = await self._live.states(list(users))
        now = self._clock.now()
        return {
            uid: self._out(uid, name, stored[uid], _state_of(live[uid]), now)
            for uid, name in users.items()
        }

    async def mine(self, principal: Principal) -> PresenceOut:
        """The caller's own presence; asking is activity already (a request counts as one only
        once it is answered)."""
        user = principal.user
        await self.activity.touch(user.id)
        return (await self.presence_of({user.id: user.username}))[user.id]

    # --- connections -----------------------------------------------------------------------

    async def connected(self, principal: Principal, connection_id: str) -> None:
        user = principal.user
        await self._load_ends()
        await self.activity.touch(user.id)
        before = await self._live_state(user.id)
        await self._live.put(user.id, connection_id, PresenceState.ONLINE)
        await self._announce_if_changed(user.id, user.username, before)

    async def disconnected(self, principal: Principal, connection_id: str) -> None:
        user = principal.user
        try:
            before: PresenceState | None = await self._live_state(user.id)
        except Unavailable:
            before = None
        await self.activity.touch(user.id)
        if before is None:
            # What daemons share cannot be reached: the socket lapses there by itself, and the
            # daemon that claims it tells the friends (`LiveConnections.lapsed`).
            self._live.release(user.id, connection_id)
            log.warning("a closed socket could not be announced", extra={"user": user.username})
            return
        await self._live.drop(user.id, connection_id)
        try:
            await self._announce_if_changed(user.id, user.username, before)
        except Unavailable as exc:
            log.warning("a closed socket could not be announced: %s", exc)
        lock = self._announce_locks.get(user.id)
        if lock is not None and not lock.locked() and not self._live.holds(user.id):
            del self._announce_locks[user.id]

    async def connection_state(
        self, principal: Principal, connection_id: str, state: PresenceState
    ) -> None:
        """One connection reports itself active (online) or idle (away)."""
        user = principal.user
        if not self._live.holds(user.id, connection_id):
            return
        before = await self._live_state(user.id)
        await self._live.put(user.id, connection_id, state)
        await self._announce_if_changed(user.id, user.username, before)

    async def _live_state(self, user_id: int) -> PresenceState:
        return _state_of((await self._live.states([user_id]))[user_id])

    # --- sockets of other daemons ------------------------------------------------------------

    def start(self) -> None:
        """Keep this daemon's sockets alive for the other daemons, and announce those of a
        daemon that died once they lapse."""
        self._beat = asyncio.create_task(self._beat_forever(), name="presence-beat")

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(self._live.beat_s)
            changed: list[int] = []
            for step in (self._live.refresh, self._live.lapsed):
                try:
                    changed += await step()
                except Unavailable as exc:
                    log.warning("presence across daemons: %s; trying again", exc)
                except Exception:
                    log.exception("keeping presence across daemons failed; trying again")
            for user_id in sorted(set(changed)):
                # Each on its own: a slow one holds up neither the others nor the next beat.
                task = asyncio.create_task(self._announce_by_id(user_id))
                self._ending.add(task)
                task.add_done_callback(self._ending.discard)

    async def _announce_by_id(self, user_id: int) -> None:
        try:
            user = await self._storage.get_user(user_id)
            if user is not None:
                await self._announce(user_id, user.username)
        except Exception:
            log.exception("announcing a presence failed", extra={"user_id": user_id})

    # --- chosen status ---------------------------------------------------------------------

    async def set_status(self, principal: Principal, change: StatusIn) -> PresenceOut:
        """Change the chosen status; what `change` leaves out stays as it is."""
        user = principal.user
        await self._load_ends()
        # Two changes at once: each reads what the other wrote, and the end watched is the
        # one stored last.
        async with self._status_lock(user.id):
            now = self._clock.now()
            wanted = _wanted_status(change)
            end = _end(change, now)
            stored = (await self._storage.presences([user.id]))[user.id]
            current = ChosenStatus.stored(stored, now)
            status = current.status if wanted is None else wanted
            text = current.text if change.text is None else change.text.strip()[:STATUS_TEXT_MAX]
            if end is None and wanted is None:
                end = current.expires_at  # a new text alone keeps the end
            if status == "available" and not text:
                end = None  # nothing is left to end
            chosen = ChosenStatus(status, text, end)
            await self._storage.set_chosen_status(user.id, status, text, end)
            self._watch_end(user.id, user.username, end)
        if chosen != current:
            await self._announce(user.id, user.username)
        return await self.mine(principal)

    def _status_lock(self, user_id: int) -> asyncio.Lock:
        lock = self._status_locks.get(user_id)
        if lock is None:
            lock = self._status_locks[user_id] = asyncio.Lock()
        return lock

    # --- ends of chosen statuses ---------------------------------------------------------------

    def forget(self, user_id: int) -> None:
        """Drop what is held in memory of a deleted account: its last activity, the end of its
        status (never announced now) and its connections' states."""
        self._ends.pop(user_id, None)
        self._live.forget(user_id)
        self.activity.forget(user_id)
        self._arm()

    def check_ends(self) -> None:
        """Announce every status whose end has come by the clock, then wait for the next end.
        The timer calls it; so may anyone who moved the clock (a test)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._closed:
            return
        now = self._clock.now()
        while self._soonest and self._soonest[0][0] <= now:
            end, user_id = heapq.heappop(self._soonest)
            if not self._watched(end, user_id):
                continue  # changed or dropped since
            _, username = self._ends.pop(user_id)
            task = asyncio.create_task(self._announce_end(user_id, username))
            self._ending.add(task)
            task.add_done_callback(self._ending.discard)
        self._arm()

    async def aclose(self) -> None:
        """Stop announcing ends, finish the announcements under way, and write last activity."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._beat is not None:
            self._beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._beat
        self._ends.clear()
        self._soonest.clear()
        for task in list(self._ending):
            task.cancel()
        await asyncio.gather(*self._ending, return_exceptions=True)
        await self.activity.flush()

    async def _load_ends(self) -> None:
        """Once: the ends still to come of statuses stored before this daemon started."""
        if self._ends_loaded:
            return
        self._ends_loaded = True
        for user_id, end in await self._storage.status_ends(self._clock.now()):
            user = await self._storage.get_user(user_id)
            if user is not None and user_id not in self._ends:
                self._watch_end(user_id, user.username, end)
        self._arm()

    def _watch_end(self, user_id: int, username: str, end: float | None) -> None:
        if self._closed:
            return
        if end is None:
            self._ends.pop(user_id, None)
        elif not self._watched(end, user_id):
            self._ends[user_id] = (end, username)
            heapq.heappush(self._soonest, (end, user_id))
            if len(self._soonest) > 2 * len(self._ends) + 64:  # mostly ends changed since
                self._soonest = [(e, uid) for uid, (e, _) in self._ends.items()]
                heapq.heapify(self._soonest)
        self._arm()

    def _watched(self, end: float, user_id: int) -> bool:
        watched = self._ends.get(user_id)
        return watched is not None and watched[0] == end

    def _arm(self) -> None:
        """Wake at the soonest end, or after `RECHECK_S` if that comes first."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while self._soonest and not self._watched(*self._soonest[0]):
            heapq.heappop(self._soonest)  # an end changed or dropped since
        if self._closed or not self._soonest:
            return
        delay = min(max(self._soonest[0][0] - self._clock.now(), 0.0), RECHECK_S)
        self._timer = asyncio.get_running_loop().call_later(delay, self.check_ends)

    async def _announce_end(self, user_id: int, username: str) -> None:
        try:
            await self._announce(user_id, username)
        except Exception:
            log.exception("announcing the end of a status failed", extra={"user": username})

    # --- what friends see --------------------------------------------------------------------

    def _out(
        self,
        user_id: int,
        username: str,
        stored: StoredPresence,
        live: PresenceState,
        now: float,
    ) -> PresenceOut:
        chosen = ChosenStatus.stored(stored, now)
        online = live is not PresenceState.OFFLINE
        state = PresenceState.AWAY if online and chosen.status == "away" else live
        last = now if online else self.activity.last(user_id, stored.last_active_at)
        return PresenceOut(
            username=username,
            state=state,
            status=chosen.status,
            text=chosen.text,
            expires_at=to_datetime(chosen.expires_at),
            online=online,
            last_active_at=to_datetime(last),
            active_ago_s=None if last is None else max(0, int(now - last)),
            last_seen_at=to_datetime(last),
        )

    async def _announce_if_changed(
        self, user_id: int, username: str, before: PresenceState
    ) -> None:
        after = await self._live_state(user_id)
        if after is before:
            return
        if PresenceState.OFFLINE not in (before, after):
            # Between active and idle: a chosen away shows as away either way.
            stored = (await self._storage.presences([user_id]))[user_id]
            if ChosenStatus.stored(stored, self._clock.now()).status == "away":
                return
        await self._announce(user_id, username)

    async def _announce(self, user_id: int, username: str) -> None:
        # One announcement per user at a time, each built from the state at the moment it is
        # sent: a disconnect racing a reconnect can never leave friends with the older state.
        lock = self._announce_locks.setdefault(user_id, asyncio.Lock())
        async with lock:
            friend_ids = await self._storage.friend_ids(user_id)
            presence = (await self.presence_of({user_id: username}))[user_id]
            await self._bus.publish(
                user_topics([user_id, *friend_ids]), PresenceEvent(data=presence)
            )
            # Another daemon may have announced this user meanwhile, from a state read before
            # this one's: whoever announces last reads again, so friends end with what is.
            for _ in range(_RECHECKS if self._live.shared else 0):
                now = (await self.presence_of({user_id: username}))[user_id]
                if (now.state, now.online) == (presence.state, presence.online):
                    break
                presence = now
                await self._bus.publish(
                    user_topics([user_id, *friend_ids]), PresenceEvent(data=now)
                )
        if not lock.locked() and not self._live.holds(user_id):
            self._announce_locks.pop(user_id, None)


def _state_of(sockets: list[PresenceState]) -> PresenceState:
    """Online while any socket is active, away while every one is idle, offline with none."""
    if not sockets:
        return PresenceState.OFFLINE
    if PresenceState.ONLINE in sockets:
        return PresenceState.ONLINE
    return PresenceState.AWAY


def _wanted_status(change: StatusIn) -> Availability | None:
    if change.state is None:
        return change.status
    if change.status is not None:
        raise InvalidInput("give status or state (its older form), not both")
    return "available" if change.state == "online" else "away"


def _end(change: StatusIn, now: float) -> float | None:
    """When the change asks the status to end, checked; None if it asks for no end."""
    if change.for_s is not None and change.until is not None:
        raise InvalidInput("give for_s or until, not both")
    if change.for_s is not None:
        return now + change.for_s
    if change.until is None:
        return None
    if change.until.tzinfo is None:
        raise InvalidInput("until needs a time zone, e.g. 2030-01-31T15:00:00+01:00")
    end = change.until.timestamp()
    if end <= now:
        raise InvalidInput("until must be in the future")
    if end > now + STATUS_FOR_MAX_S:
        raise InvalidInput(f"until must be at most {STATUS_FOR_MAX_S // 86400} days ahead")
    return end
