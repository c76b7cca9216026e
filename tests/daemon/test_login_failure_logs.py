"""The login limiter's rules hold whichever log counts the failures: this daemon's memory, or
Redis, where every daemon of a service adds to one count."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from coope.core.errors import RateLimited
from coope.daemon.clock import ManualClock
from coope.daemon.services.ratelimit import FailureLimiter, FailureLog, MemoryFailureLog
from coope.daemon.shared_redis import RedisFailureLog
from tests.tools import REDIS_URL, forget_redis_prefix, redis_bus

WINDOW_S = 300.0


@pytest.fixture(params=["memory", "redis"])
async def logs(request: pytest.FixtureRequest) -> AsyncIterator[list[FailureLog]]:
    """Two logs as two daemons of one service have them: one and the same in memory (one
    process), or two clients of Redis under one prefix."""
    if request.param == "memory":
        log = MemoryFailureLog()
        yield [log, log]
        return
    await (await redis_bus()).aclose()  # skips without Redis
    prefix = f"coope-test-{uuid.uuid4().hex}:"
    shared: list[FailureLog] = [RedisFailureLog(REDIS_URL, prefix=prefix) for _ in range(2)]
    yield shared
    for log in shared:
        await log.aclose()
    await forget_redis_prefix(prefix)


def limiter(clock: ManualClock, log: FailureLog) -> FailureLimiter:
    return FailureLimiter(clock, 5, WINDOW_S, address_max_failures=8, log=log)


async def test_failures_through_either_daemon_add_up_to_one_lock(logs: list[FailureLog]) -> None:
    clock = ManualClock()
    a, b = limiter(clock, logs[0]), limiter(clock, logs[1])
    for n in range(5):
        await (a if n % 2 else b).fail("alice", "10.0.0.1")
        clock.advance(1)
    with pytest.raises(RateLimited) as locked:
        await b.check("alice", "10.0.0.1")
    assert locked.value.retry_after == WINDOW_S - 5  # until the oldest failure leaves
    await a.check("alice", "10.0.0.2")  # another address gets its one try...
    await a.fail("alice", "10.0.0.2")
    with pytest.raises(RateLimited):  # ...and no second
        await b.check("alice", "10.0.0.2")
    await b.check("bob", "10.0.0.3")  # other accounts are not touched
    clock.advance(WINDOW_S)
    await a.check("alice", "10.0.0.1")  # the window passed


async def test_an_address_locks_across_accounts_and_a_success_forgives_only_the_account(
    logs: list[FailureLog],
) -> None:
    clock = ManualClock()
    a, b = limiter(clock, logs[0]), limiter(clock, logs[1])
    for n in range(8):
        await a.fail(f"user{n}", "10.0.0.9")
    with pytest.raises(RateLimited, match="your address"):
        await b.check("someone", "10.0.0.9")
    for _ in range(4):
        await a.fail("carol", "10.0.0.5")
    await b.succeeded("carol", "10.0.0.5")
    await a.fail("carol", "10.0.0.5")
    await a.check("carol", "10.0.0.5")  # four forgiven: one failure since
