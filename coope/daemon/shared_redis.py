"""State that every daemon of a service shares through Redis, beside the events (`bus_redis`).

Failed logins: each key's failure times are a sorted set scored by time, trimmed as it is read
and expiring a window after the last failure, so guesses spread over the daemons add up to one
count. Redis out of reach is `Unavailable` (503): a login is refused rather than let through
uncounted.
"""

from __future__ import annotations

import math
import uuid

import redis.asyncio as redis
from redis.exceptions import RedisError

from coope.core.errors import Unavailable
from coope.daemon.services.ratelimit import FailureLog

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
