"""The event bus between daemons: what Redis pub/sub costs next to the in-process bus.

    .venv/bin/python scripts/bench_bus.py [--redis redis://127.0.0.1:6379/0] [--events 20000]
                                          [--rate 1000] [--seconds 3] [--fanout 10]

Two "nodes" in this process (for Redis, two `RedisBus` on one key prefix of the run's own; for the
in-process bus, one bus both use). Node B holds `--subscribers` subscriptions of one topic each
and reads them all; node A publishes. Measured for each bus, in one run:

1. throughput: `--events` events published one after another (each to one subscriber's topic,
   or with `--fanout` N to N topics in one call), until node B has read every delivery.
2. latency: `--rate` events a second for `--seconds`, each carrying its send time; the time to
   its delivery on node B is one sample (p50, p99).

Goal (issue 14): cross-node delivery p99 at most 100 ms at 1,000 messages a second.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
import uuid
from collections.abc import Callable

from coope.core.events import Event, GenericEvent
from coope.daemon.bus import EventBus, InProcessBus, Subscription
from coope.daemon.bus_redis import RedisBus

GOAL_P99_MS = 100.0


async def nodes(kind: str, url: str) -> tuple[EventBus, EventBus]:
    if kind == "in-process":
        shared = InProcessBus(max_pending=1_000_000)
        return shared, shared
    prefix = f"coope-bench-{uuid.uuid4().hex}:"
    a = RedisBus(url, prefix=prefix, max_pending=1_000_000)
    b = RedisBus(url, prefix=prefix, max_pending=1_000_000)
    await a.start()
    await b.start()
    return a, b


async def read_all(
    subs: list[Subscription], expected: int, on_event: Callable[[Event], None] | None = None
) -> None:
    done = asyncio.Event()
    seen = 0

    async def read(sub: Subscription) -> None:
        nonlocal seen
        async for event in sub:
            if on_event is not None:
                on_event(event)
            seen += 1
            if seen >= expected:
                done.set()

    readers = [asyncio.create_task(read(sub)) for sub in subs]
    try:
        await done.wait()
    finally:
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)


async def throughput(a: EventBus, b: EventBus, args: argparse.Namespace) -> float:
    topics = [f"user:{n}" for n in range(args.subscribers)]
    subs = [await b.subscribe([topic]) for topic in topics]
    fanout = max(1, args.fanout)
    reading = asyncio.create_task(read_all(subs, args.events * fanout))
    start = time.perf_counter()
    for n in range(args.events):
        await a.publish(random.sample(topics, fanout), GenericEvent(type="bench", data={"n": n}))
    await reading
    elapsed = time.perf_counter() - start
    for sub in subs:
        await sub.aclose()
    return args.events / elapsed


async def latency(a: EventBus, b: EventBus, args: argparse.Namespace) -> list[float]:
    topics = [f"user:{n}" for n in range(args.subscribers)]
    subs = [await b.subscribe([topic]) for topic in topics]
    total = int(args.rate * args.seconds)
    delays: list[float] = []

    def on_event(event: Event) -> None:
        delays.append((time.perf_counter() - event.data["sent"]) * 1000)

    reading = asyncio.create_task(read_all(subs, total, on_event))
    start = time.perf_counter()
    for n in range(total):
        # Paced by the clock: the n-th event goes at its planned time, not after the last one.
        wait = start + n / args.rate - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        event = GenericEvent(type="bench", data={"sent": time.perf_counter()})
        await a.publish([random.choice(topics)], event)
    await reading
    for sub in subs:
        await sub.aclose()
    return delays


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--fanout", type=int, default=1, help="topics per publish")
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()

    results: dict[str, tuple[float, list[float]]] = {}
    for kind in ("in-process", "redis"):
        a, b = await nodes(kind, args.redis)
        try:
            rate = await throughput(a, b, args)
            delays = await latency(a, b, args)
        finally:
            await a.aclose()
            if b is not a:
                await b.aclose()
        results[kind] = (rate, delays)

    print(
        f"event bus, {args.subscribers} subscribers on node B, fan-out {args.fanout},"
        f" latency at {args.rate:g}/s for {args.seconds:g} s"
    )
    print(f"{'bus':<11} {'events/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}")
    for kind, (rate, delays) in results.items():
        p50, p99 = statistics.median(delays), percentile(delays, 99)
        print(f"{kind:<11} {rate:>9.0f} {p50:>7.2f} {p99:>7.2f} {max(delays):>7.2f}")
    redis_rate, redis_delays = results["redis"]
    print(f"redis/in-process throughput: {redis_rate / results['in-process'][0]:.2f}x")
    verdict = "met" if percentile(redis_delays, 99) <= GOAL_P99_MS else "NOT met"
    print(f"goal: cross-node p99 at most {GOAL_P99_MS:g} ms at {args.rate:g}/s: {verdict}")


if __name__ == "__main__":
    asyncio.run(main())
