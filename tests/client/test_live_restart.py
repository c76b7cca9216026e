"""The live connection across a daemon killed with SIGKILL and started again on the same port and
data: twenty rooms followed over one socket, every change seen once and in order."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from coope.client import Backoff, CoopeClient
from coope.client.feeds import Feed
from coope.core.events import MessageCreated
from coope.core.social_schemas import RoomOut
from tests.daemon.social_helpers import group_room
from tests.helpers import PASSWORD, DaemonProcess, assert_eventually

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

ROOMS = 20
QUIET_FROM = 15  # rooms from this one on get nothing once the daemon is back
Seen = tuple[str, str, int]  # (kind, body, rev)


def start(daemons: list[DaemonProcess], data_dir: Path, *args: str) -> DaemonProcess:
    daemon = DaemonProcess(data_dir, *args)
    daemons.append(daemon)
    return daemon.start()


async def send_all(url: str, token: str, rooms: list[RoomOut], *bodies: str) -> None:
    """Post `bodies` in every room, from a client of its own (a fresh connection pool)."""
    async with CoopeClient(url, token) as writer:
        for body in bodies:
            await asyncio.gather(*(writer.chat.send(r.id, f"{body} {r.name}") for r in rooms))


def ws_requests_logged(daemon: DaemonProcess) -> int:
    lines = [json.loads(line) for line in daemon.stderr_text().splitlines() if line.strip()]
    return sum(1 for entry in lines if entry.get("path") == "/api/v1/ws")


async def test_twenty_rooms_survive_a_kill_9_with_every_change_once_and_in_order(
    tmp_path: Path, daemons: list[DaemonProcess]
) -> None:
    data_dir = tmp_path / "data"
    first = start(daemons, data_dir)
    port = first.url.rsplit(":", 1)[1]

    # The reconnect delays go through here: once the daemon is dead, the first attempts fail
    # at once, and the third waits at the gate until the test has the daemon back.
    delays: list[float] = []
    gate = asyncio.Event()

    async def sleep(delay: float) -> None:
        delays.append(delay)
        if len(delays) >= 3:
            await gate.wait()

    async with CoopeClient(first.url) as bob:
        await bob.auth.signup("bob", PASSWORD)
        bob_token = bob.token
        assert bob_token is not None
        reader = CoopeClient(first.url, reconnect=Backoff(sleep=sleep))
        await reader.auth.signup("alice", PASSWORD)
        rooms = [await group_room(reader, f"room{i:02d}", [bob]) for i in range(ROOMS)]

    seen: dict[int, list[Seen]] = {room.id: [] for room in rooms}
    created: list[tuple[int, str]] = []

    async def follow(room: RoomOut) -> None:
        async for kind, message in reader.live.room(room.id, after=0):
            seen[room.id].append((kind, message.body, message.rev))

    async def watch(events: Feed[MessageCreated]) -> None:
        async for event in events:
            created.append((event.data.room_id, event.data.body))

    readers = [asyncio.create_task(follow(room)) for room in rooms]
    readers.append(asyncio.create_task(watch(reader.live.events(MessageCreated))))
    try:
        await reader.live.wait_for_state("connected")

        # Live: two messages and an edit in every room.
        await send_all(first.url, bob_token, rooms, "one", "two")
        async with CoopeClient(first.url, bob_token) as bob:
            for room in rooms:
                page = await bob.chat.history(room.id)
                [one] = [m for m in page.messages if m.body.startswith("one")]
                await bob.chat.edit(one.id, f"one {room.name} (edited)")
        await assert_eventually(lambda: all(len(s) == 3 for s in seen.values()), what="3 each")

        first.kill()  # SIGKILL: the socket dies with the process
        await assert_eventually(lambda: len(delays) == 3, what="attempts against a dead port")
        assert reader.live.state == "reconnecting"

        second = start(daemons, data_dir, "--port", port)
        assert second.url == first.url
        # While the reader is still away: these can only come by catching up.
        await send_all(second.url, bob_token, rooms, "three", "four")
        gate.set()
        # Sent while it comes back: some by catching up, some live, some both ways at once.
        # The quiet rooms get nothing more: what they missed comes only from reconnecting.
        busy, quiet = rooms[:QUIET_FROM], rooms[QUIET_FROM:]
        await send_all(second.url, bob_token, busy, "five", "six")
        await reader.live.wait_for_state("connected")
        await send_all(second.url, bob_token, busy, "seven")  # live again

        def last_is(room: RoomOut, body: str) -> bool:
            return bool(seen[room.id]) and seen[room.id][-1][1] == f"{body} {room.name}"

        await assert_eventually(
            lambda: (
                all(last_is(r, "seven") for r in busy) and all(last_is(r, "four") for r in quiet)
            ),
            what="every room's last message",
        )
        for room in rooms:
            name = room.name
            expected = [
                ("created", f"one {name}", 1),
                ("created", f"two {name}", 2),
                ("updated", f"one {name} (edited)", 3),
                ("created", f"three {name}", 4),
                ("created", f"four {name}", 5),
            ]
            if room in busy:
                expected += [
                    ("created", f"five {name}", 6),
                    ("created", f"six {name}", 7),
                    ("created", f"seven {name}", 8),
                ]
            assert seen[room.id] == expected, name

        # The event iterator went on across the restart; what came while away is not in it.
        assert len(created) == len(set(created)), "an event twice"
        for room in rooms:
            for body in ("one", "two", "seven") if room in busy else ("one", "two"):
                assert (room.id, f"{body} {room.name}") in created
            for body in ("three", "four"):
                assert (room.id, f"{body} {room.name}") not in created

        stats = reader.live.stats
        assert (stats.connects, stats.most_open_sockets, stats.open_sockets) == (2, 1, 1)
    finally:
        await reader.aclose()
        # Every iterator ends cleanly with the client.
        await asyncio.wait_for(asyncio.gather(*readers), 10)
    # The restarted daemon saw one event socket from the reader, closed once it left.
    await assert_eventually(lambda: ws_requests_logged(second) == 1, what="one socket logged")
