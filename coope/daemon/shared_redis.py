"""State that every daemon of a service shares through Redis, beside the events (`bus_redis`).

Who is online: see `RedisLiveConnections`. Which daemon runs each room's call: a key per room
holding the daemon's name, with a lifetime its holder keeps renewing (`RedisCallLeases`).
Failed logins: each key's failure times are a sorted
set scored by time, trimmed as it is read and expiring a window after the last failure, so
guesses spread over the daemons add up to one count. Redis out of reach is `Unavailable` (503):
a login is refused rather than let through uncounted.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import math
import time
import uuid
from collections.abc import Iterable

import redis.asyncio as redis
from redis.exceptions import RedisError
from redis.typing import EncodableT, FieldT

from coope.core.errors import Unavailable
from coope.core.models import PresenceState
from coope.daemon.bus_redis import as_text
from coope.daemon.services.live_connections import LiveConnections
from coope.daemon.services.ratelimit import FailureLog
from coope.daemon.sfu.leases import CallLeases, NodeLoad

log = logging.getLogger(__name__)

# A Redis that does not answer within this long is taken for gone.
TIMEOUT_S = 5.0


class RedisFailureLog(FailureLog):
    def __init__(self, url: str, *, prefix: str = "coope:") -> None:
        self._redis = redis.from_url(
            url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S
        )
        self._prefix = f"{prefix}login-failures:"

    async def since(self, key: str, start: float) -> list[float]:
        name = self._prefix + key
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.zremrangebyscore(name, "-inf", start)
                pipe.zrange(name, 0, -1, withscores=True)
                _, entries = await pipe.execute()
        except (RedisError, OSError) as exc:
            raise _unavailable(exc) from exc
        return [float(score) for _, score in entries]

    async def add(self, key: str, when: float, keep_s: float) -> None:
        name = self._prefix + key
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.zadd(name, {uuid.uuid4().hex: when})
                pipe.expire(name, max(1, math.ceil(keep_s)))
                await pipe.execute()
        except (RedisError, OSError) as exc:
            raise _unavailable(exc) from exc

    async def clear(self, key: str) -> None:
        try:
            await self._redis.delete(self._prefix + key)
        except (RedisError, OSError) as exc:
            raise _unavailable(exc) from exc

    async def aclose(self) -> None:
        await self._redis.aclose()


def _unavailable(exc: BaseException) -> Unavailable:
    return Unavailable(f"Redis, which counts failed logins, cannot be reached: {exc}")


class RedisLiveConnections(LiveConnections):
    """Every daemon's live sockets: a hash per user (socket id -> state), and one sorted set of
    when each socket lapses unless its daemon keeps it alive. A daemon refreshes its own every
    `beat_s`; a socket not refreshed for `ttl_s` (its daemon died, or lost Redis) lapses, and
    the daemon whose ZREM of it wins announces the user."""

    shared = True
    # Lapsed sockets claimed per beat at most: the rest come on the next.
    CLAIM_BATCH = 100

    def __init__(self, url: str, *, prefix: str = "coope:", ttl_s: float = 10.0) -> None:
        super().__init__()
        # A beat (a refresh that times out included) stays well inside a lapse time.
        timeout = min(TIMEOUT_S, ttl_s / 4)
        self._redis = redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        self._prefix = f"{prefix}presence:"
        self._lapses = f"{prefix}presence-lapses"
        self._ttl_s = ttl_s
        # Keys outlive their last refresh this long: a service stopped (or a test run ended)
        # leaves nothing behind in Redis.
        self._key_ttl_s = math.ceil(3 * ttl_s)
        self.beat_s = ttl_s / 5
        self._claim = self._redis.register_script(_CLAIM_LAPSED)
        # Lapse times are on Redis's clock (this is how far ahead of ours it is), so daemons
        # whose clocks differ neither look dead nor claim each other's live sockets.
        self._clock_offset = 0.0
        # A refresh and a change of this daemon's own sockets never cross in Redis.
        self._changing = asyncio.Lock()

    def _key(self, user_id: int) -> str:
        return f"{self._prefix}{user_id}"

    async def put(self, user_id: int, connection_id: str, state: PresenceState) -> None:
        self.own.setdefault(user_id, {})[connection_id] = state
        try:
            async with self._changing, self._redis.pipeline(transaction=True) as pipe:
                pipe.hset(self._key(user_id), connection_id, state.value)
                pipe.expire(self._key(user_id), self._key_ttl_s)
                pipe.zadd(self._lapses, {f"{user_id}:{connection_id}": self._lapse_at()})
                pipe.expire(self._lapses, self._key_ttl_s)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            raise _presence_unavailable(exc) from exc

    async def drop(self, user_id: int, connection_id: str) -> None:
        self.release(user_id, connection_id)
        try:
            async with self._changing, self._redis.pipeline(transaction=True) as pipe:
                pipe.hdel(self._key(user_id), connection_id)
                pipe.zrem(self._lapses, f"{user_id}:{connection_id}")
                await pipe.execute()
        except (RedisError, OSError) as exc:
            # It lapses by itself: the others announce it within `ttl_s`.
            log.warning("could not drop a socket from Redis: %s", exc)

    async def states(self, user_ids: list[int]) -> dict[int, list[PresenceState]]:
        if not user_ids:
            return {}
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for user_id in user_ids:
                    pipe.hvals(self._key(user_id))
                found = await pipe.execute()
        except (RedisError, OSError) as exc:
            raise _presence_unavailable(exc) from exc
        return {
            uid: [_state(value) for value in values]
            for uid, values in zip(user_ids, found, strict=True)
        }

    async def refresh(self) -> list[int]:
        try:
            async with self._changing:
                seconds, micros = await self._redis.time()
                self._clock_offset = seconds + micros / 1e6 - time.time()
                lapse_at = self._lapse_at()
                users = list(self.own)
                async with self._redis.pipeline(transaction=False) as pipe:
                    for user_id in users:
                        sockets = self.own[user_id]
                        # The states too: one taken for lapsed, or lost with Redis, comes back.
                        states: dict[FieldT, EncodableT] = {c: s.value for c, s in sockets.items()}
                        pipe.hset(self._key(user_id), mapping=states)
                        pipe.expire(self._key(user_id), self._key_ttl_s)
                        pipe.zadd(self._lapses, {f"{user_id}:{c}": lapse_at for c in sockets})
                    pipe.expire(self._lapses, self._key_ttl_s)
                    results = await pipe.execute()
        except (RedisError, OSError) as exc:
            raise _presence_unavailable(exc) from exc
        added = results[0 : 3 * len(users) : 3]  # HSET answers how many fields it created
        return [user_id for user_id, count in zip(users, added, strict=True) if count]

    async def lapsed(self) -> list[int]:
        claimed: list[int] = []
        try:
            due = await self._redis.zrangebyscore(
                self._lapses, "-inf", self._now(), start=0, num=self.CLAIM_BATCH
            )
            for member in due:
                text = member.decode() if isinstance(member, bytes) else str(member)
                user_id, _, connection_id = text.partition(":")
                keys = [self._lapses, self._key(int(user_id))]
                if await self._claim(keys=keys, args=[text, connection_id]):
                    claimed.append(int(user_id))
        except (RedisError, OSError) as exc:
            if not claimed:
                raise _presence_unavailable(exc) from exc
            # Those claimed are no one else's to announce now: they are announced.
            log.warning("claiming lapsed sockets stopped: %s", exc)
        return sorted(set(claimed))

    async def aclose(self) -> None:
        await self._redis.aclose()

    def _now(self) -> float:
        """Redis's time, as last learnt."""
        return time.time() + self._clock_offset

    def _lapse_at(self) -> float:
        return self._now() + self._ttl_s


# Claim a lapsed socket: only if it is still due (its daemon did not refresh it meanwhile),
# and only one daemon (the one whose ZREM removes it), its state going with it.
_CLAIM_LAPSED = """
local due = redis.call('ZSCORE', KEYS[1], ARGV[1])
local now = redis.call('TIME')
if due and tonumber(due) <= tonumber(now[1]) + tonumber(now[2]) / 1000000 then
    redis.call('ZREM', KEYS[1], ARGV[1])
    redis.call('HDEL', KEYS[2], ARGV[2])
    return 1
end
return 0
"""


class RedisCallLeases(CallLeases):
    shared = True

    def __init__(self, url: str, node: str, *, prefix: str = "coope:", ttl_s: float = 3.0) -> None:
        timeout = min(TIMEOUT_S, ttl_s / 3)
        self._redis = redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        self._prefix = f"{prefix}call:"
        self._loads_key = f"{prefix}call-nodes"  # node -> its last report (JSON)
        self._alive_key = f"{prefix}call-nodes-alive"  # node, scored by its last report's time
        self.node = node
        self.ttl_s = ttl_s
        self._claim = self._redis.register_script(_CLAIM_LEASE)
        self._report = self._redis.register_script(_REPORT_LOAD)
        self._loads = self._redis.register_script(_LIVE_LOADS)
        self._keep = self._redis.register_script(_KEEP_LEASES)
        self._release = self._redis.register_script(_RELEASE_LEASE)

    def _ttl_ms(self) -> int:
        return max(1, round(self.ttl_s * 1000))

    async def claim(self, room_id: int, holder: str | None = None) -> str:
        try:
            holder = await self._claim(
                keys=[f"{self._prefix}{room_id}"],
                args=[holder or self.node, self._ttl_ms(), self.node],
            )
        except (RedisError, OSError) as exc:
            raise _calls_unavailable(exc) from exc
        return as_text(holder)

    async def holders(self, room_ids: Iterable[int]) -> dict[int, str]:
        rooms = list(room_ids)
        if not rooms:
            return {}
        try:
            found = await self._redis.mget([f"{self._prefix}{room}" for room in rooms])
        except (RedisError, OSError) as exc:
            raise _calls_unavailable(exc) from exc
        return {room: as_text(h) for room, h in zip(rooms, found, strict=True) if h is not None}

    async def keep(self, room_ids: Iterable[int]) -> set[int]:
        rooms = list(room_ids)
        if not rooms:
            return set()
        try:
            kept = await self._keep(
                keys=[f"{self._prefix}{room}" for room in rooms], args=[self.node, self._ttl_ms()]
            )
        except (RedisError, OSError) as exc:
            raise _calls_unavailable(exc) from exc
        return {room for room, held in zip(rooms, kept, strict=True) if not held}

    async def release(self, room_id: int) -> None:
        try:
            await self._release(keys=[f"{self._prefix}{room_id}"], args=[self.node])
        except (RedisError, OSError) as exc:
            log.warning("could not give up the lease of a call: %s", exc)  # it lapses

    async def report(self, load: NodeLoad) -> None:
        text = json.dumps(dataclasses.asdict(load))
        try:
            await self._report(
                keys=[self._loads_key, self._alive_key],
                args=[self.node, text, math.ceil(3 * self.ttl_s)],
            )
        except (RedisError, OSError) as exc:
            raise _calls_unavailable(exc) from exc

    async def loads(self) -> list[NodeLoad]:
        try:
            found = await self._loads(keys=[self._loads_key, self._alive_key], args=[self.ttl_s])
        except (RedisError, OSError) as exc:
            raise _calls_unavailable(exc) from exc
        loads = []
        for text in found[1::2]:  # HGETALL: field, value, field, value...
            try:
                loads.append(NodeLoad(**json.loads(text)))
            except (ValueError, TypeError):
                log.warning("a daemon's load report is unreadable: dropped")
        return loads

    async def aclose(self) -> None:
        await self._redis.aclose()


# The holder of a room's lease, taken for ARGV[1] if free; renewed if this daemon's (ARGV[3]).
_CLAIM_LEASE = """
local holder = redis.call('GET', KEYS[1])
if not holder then
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
    return ARGV[1]
end
if holder == ARGV[3] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return holder
"""

# A daemon's load report, and when it came (Redis's clock: daemons' clocks may differ).
_REPORT_LOAD = """
local now = redis.call('TIME')
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], tonumber(now[1]) + tonumber(now[2]) / 1000000, ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return 1
"""

# The reports of the daemons that reported within ARGV[1] seconds; the others are forgotten.
_LIVE_LOADS = """
local now = redis.call('TIME')
local oldest = tonumber(now[1]) + tonumber(now[2]) / 1000000 - tonumber(ARGV[1])
for _, node in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. oldest)) do
    redis.call('ZREM', KEYS[2], node)
    redis.call('HDEL', KEYS[1], node)
end
return redis.call('HGETALL', KEYS[1])
"""

# Renew each of this daemon's leases; 1 for those it holds, 0 for those it lost.
_KEEP_LEASES = """
local held = {}
for i, key in ipairs(KEYS) do
    if redis.call('GET', key) == ARGV[1] then
        redis.call('PEXPIRE', key, ARGV[2])
        held[i] = 1
    else
        held[i] = 0
    end
end
return held
"""

_RELEASE_LEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


def _calls_unavailable(exc: BaseException) -> Unavailable:
    return Unavailable(f"Redis, which says where each call runs, cannot be reached: {exc}")


def _state(value: bytes | str) -> PresenceState:
    return PresenceState(as_text(value))


def _presence_unavailable(exc: BaseException) -> Unavailable:
    return Unavailable(f"Redis, which keeps who is online, cannot be reached: {exc}")
