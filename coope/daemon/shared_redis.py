"""State that every daemon of a service shares through Redis, beside the events (`bus_redis`).

Who is online: see `RedisLiveConnections`. Failed logins: each key's failure times are a sorted
set scored by time, trimmed as it is read and expiring a window after the last failure, so
guesses spread over the daemons add up to one count. Redis out of reach is `Unavailable` (503):
a login is refused rather than let through uncounted.
"""

from __future__ import annotations

import logging
import math
import time
import uuid

import redis.asyncio as redis
from redis.exceptions import RedisError

from coope.core.errors import Unavailable
from coope.core.models import PresenceState
from coope.daemon.services.live_connections import LiveConnections
from coope.daemon.services.ratelimit import FailureLog

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

    def __init__(self, url: str, *, prefix: str = "coope:", ttl_s: float = 10.0) -> None:
        self._redis = redis.from_url(
            url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S
        )
        self._prefix = f"{prefix}presence:"
        self._lapses = f"{prefix}presence-lapses"
        self._ttl_s = ttl_s
        self.beat_s = ttl_s / 4
        self._own: dict[int, dict[str, PresenceState]] = {}
        self._claim = self._redis.register_script(_CLAIM_LAPSED)

    def _key(self, user_id: int) -> str:
        return f"{self._prefix}{user_id}"

    async def put(self, user_id: int, connection_id: str, state: PresenceState) -> None:
        self._own.setdefault(user_id, {})[connection_id] = state
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hset(self._key(user_id), connection_id, state.value)
                pipe.zadd(self._lapses, {f"{user_id}:{connection_id}": self._lapse_at()})
                await pipe.execute()
        except (RedisError, OSError) as exc:
            raise _presence_unavailable(exc) from exc

    async def drop(self, user_id: int, connection_id: str) -> None:
        sockets = self._own.get(user_id, {})
        sockets.pop(connection_id, None)
        if not sockets:
            self._own.pop(user_id, None)
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
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

    def holds(self, user_id: int, connection_id: str | None = None) -> bool:
        sockets = self._own.get(user_id)
        return sockets is not None and (connection_id is None or connection_id in sockets)

    def forget(self, user_id: int) -> None:
        self._own.pop(user_id, None)

    async def refresh(self) -> None:
        lapse_at = self._lapse_at()
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for user_id, sockets in self._own.items():
                    # The states too: after Redis was lost (or restarted), they come back.
                    pipe.hset(self._key(user_id), mapping={c: s.value for c, s in sockets.items()})
                    pipe.zadd(self._lapses, {f"{user_id}:{c}": lapse_at for c in sockets})
                await pipe.execute()
        except (RedisError, OSError) as exc:
            raise _presence_unavailable(exc) from exc

    async def lapsed(self) -> list[int]:
        claimed: list[int] = []
        try:
            for member in await self._redis.zrangebyscore(self._lapses, "-inf", time.time()):
                text = member.decode() if isinstance(member, bytes) else str(member)
                user_id, _, connection_id = text.partition(":")
                keys = [self._lapses, self._key(int(user_id))]
                if await self._claim(keys=keys, args=[text, connection_id, time.time()]):
                    claimed.append(int(user_id))
        except (RedisError, OSError) as exc:
            raise _presence_unavailable(exc) from exc
        return sorted(set(claimed))

    async def aclose(self) -> None:
        await self._redis.aclose()

    def _lapse_at(self) -> float:
        # The servers' own clocks: daemons serving as one keep theirs in step (NTP).
        return time.time() + self._ttl_s


# Claim a lapsed socket: only if it is still due (its daemon did not refresh it meanwhile),
# and only one daemon (the one whose ZREM removes it), its state going with it.
_CLAIM_LAPSED = """
local due = redis.call('ZSCORE', KEYS[1], ARGV[1])
if due and tonumber(due) <= tonumber(ARGV[3]) then
    redis.call('ZREM', KEYS[1], ARGV[1])
    redis.call('HDEL', KEYS[2], ARGV[2])
    return 1
end
return 0
"""


def _state(value: bytes | str) -> PresenceState:
    text = value.decode() if isinstance(value, bytes) else value
    return PresenceState(text)


def _presence_unavailable(exc: BaseException) -> Unavailable:
    return Unavailable(f"Redis, which keeps who is online, cannot be reached: {exc}")
