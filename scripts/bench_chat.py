"""Chat under load: many websocket clients, durable writes, fan-out to every room member.

    .venv/bin/python scripts/bench_chat.py [--clients 500] [--room-size 10] [--rate 1000]
                                            [--seconds 10]

It starts a throw-away daemon (its own temp data dir, logs at warning), signs up `--clients`
accounts, puts them in rooms of `--room-size`, and opens one event websocket per account. Then:

1. steady: `--rate` messages a second in total, each from a random client into its room over the
   websocket (`message.send`), for `--seconds`. Every member's socket receives it; the time
   from send to each delivery is one latency sample. Prints p50/p95/p99 and the deliveries.
2. burst: every client sends as fast as its acknowledgements come back (one in flight each) for
   `--seconds`. Prints acknowledged messages a second: each acknowledgement means the message is
   committed with synchronous=FULL.

Goals: p99 under 50 ms with 500 clients; at least 2,000 messages/s ingested.
The benchmark process itself shares the machine's cores with the daemon: the figures are those of
one box running both ends.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from benchlib import start_daemon, stop_daemon

from coope.client import CoopeClient

PASSWORD = "bench password 1"
GOAL_P99_MS = 50.0
GOAL_RATE = 2000.0


class Bench:
    def __init__(self, url: str) -> None:
        self.url = url
        self.sent_at: dict[str, float] = {}
        self.latencies: list[float] = []
        self.acked = 0
        self.errors = 0
        self.acks: dict[str, asyncio.Future[None]] = {}

    async def listen(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type is not aiohttp.WSMsgType.TEXT:
                break
            event = json.loads(msg.data)
            kind = event["type"]
            if kind == "message.created":
                sent = self.sent_at.get(event["data"]["client_id"])
                if sent is not None:
                    self.latencies.append(time.perf_counter() - sent)
            elif kind == "message.sent":
                self.acked += 1
                waiter = self.acks.pop(event["data"]["client_id"], None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)
            elif kind == "error":
                self.errors += 1


async def setup(url: str, clients: int, room_size: int) -> tuple[list[str], list[int]]:
    """Sign up the accounts and make the rooms; returns each client's token and room id."""
    tokens: list[str] = [""] * clients
    limit = asyncio.Semaphore(16)

    async def signup(i: int) -> None:
        async with limit, CoopeClient(url) as client:
            tokens[i] = (await client.auth.signup(f"bench{i:05d}", PASSWORD)).token

    await asyncio.gather(*(signup(i) for i in range(clients)))
    rooms: list[int] = [0] * clients
    for start in range(0, clients, room_size):
        members = list(range(start, min(start + room_size, clients)))
        async with CoopeClient(url, tokens[members[0]]) as owner:
            room = await owner.chat.create_room(
                f"room{start}", [f"bench{i:05d}" for i in members[1:]]
            )
        for i in members[1:]:  # strangers to the owner are invited: each accepts
            async with limit, CoopeClient(url, tokens[i]) as member:
                await member.chat.accept_invite(room.id)
        for i in members:
            rooms[i] = room.id
    return tokens, rooms


async def run(args: argparse.Namespace, url: str) -> None:
    t0 = time.perf_counter()
    tokens, rooms = await setup(url, args.clients, args.room_size)
    print(
        f"setup: {args.clients} accounts, {len(set(rooms))} rooms in "
        f"{time.perf_counter() - t0:.1f} s"
    )
    bench = Bench(url)
    ws_url = url.replace("http", "ws", 1) + "/api/v1/ws"
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        sockets = []
        for token in tokens:
            ws = await http.ws_connect(ws_url, headers={"Authorization": f"Bearer {token}"})
            await ws.receive()  # ready
            sockets.append(ws)
        listeners = [asyncio.create_task(bench.listen(ws)) for ws in sockets]
        await asyncio.sleep(1.0)  # presence chatter of the connects settles

        # 1. steady rate
        n = 0
        start = time.perf_counter()
        while (elapsed := time.perf_counter() - start) < args.seconds:
            while n < args.rate * elapsed:
                i = random.randrange(args.clients)
                cid = f"s{n}"
                n += 1
                bench.sent_at[cid] = time.perf_counter()
                await sockets[i].send_str(
                    json.dumps(
                        {
                            "type": "message.send",
                            "room_id": rooms[i],
                            "body": f"hello {n}",
                            "client_id": cid,
                        }
                    )
                )
            await asyncio.sleep(0.002)
        await asyncio.sleep(2.0)  # let the last deliveries arrive
        expected = n * args.room_size  # the sender's own socket gets it too
        lat = sorted(bench.latencies)
        q = statistics.quantiles(lat, n=100) if len(lat) > 1 else [0.0] * 99
        print(
            f"steady: {n} messages at {n / args.seconds:.0f}/s, "
            f"{len(lat)}/{expected} deliveries, errors {bench.errors}"
        )
        p99 = q[98] * 1000
        print(
            f"  send->delivered ms: p50 {q[49] * 1000:.1f}  p95 {q[94] * 1000:.1f}  "
            f"p99 {p99:.1f}  max {lat[-1] * 1000 if lat else 0:.1f}"
            f"   goal p99 < {GOAL_P99_MS:.0f} ms: {'met' if p99 < GOAL_P99_MS else 'NOT met'}"
        )

        # 2. burst: one message in flight per client, as fast as acknowledgements come
        bench.acked = 0
        stop_at = time.perf_counter() + args.seconds
        loop = asyncio.get_running_loop()

        async def sender(i: int) -> None:
            k = 0
            while time.perf_counter() < stop_at:
                cid = f"b{i}-{k}"
                k += 1
                waiter = loop.create_future()
                bench.acks[cid] = waiter
                await sockets[i].send_str(
                    json.dumps(
                        {
                            "type": "message.send",
                            "room_id": rooms[i],
                            "body": "burst",
                            "client_id": cid,
                        }
                    )
                )
                await waiter

        burst_start = time.perf_counter()
        await asyncio.gather(*(sender(i) for i in range(args.clients)))
        elapsed = time.perf_counter() - burst_start
        rate = bench.acked / elapsed
        print(
            f"burst: {bench.acked} messages acknowledged in {elapsed:.1f} s = {rate:.0f}/s "
            f"(durable), errors {bench.errors}   goal >= {GOAL_RATE:.0f}/s: "
            f"{'met' if rate >= GOAL_RATE else 'NOT met'}"
        )

        for ws in sockets:
            await ws.close()
        for task in listeners:
            task.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--room-size", type=int, default=10)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--server", help="Use this running daemon (fresh, e.g. under a profiler) instead"
    )
    args = parser.parse_args()
    if args.server:
        asyncio.run(run(args, args.server))
        return
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_daemon(Path(tmp) / "data", None, "--log-level", "warning")
        try:
            asyncio.run(run(args, url))
        finally:
            stop_daemon(proc)


if __name__ == "__main__":
    sys.exit(main())
