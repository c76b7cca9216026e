"""Every acknowledged message survives SIGKILL of the daemon, mid-stream."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from coope.client import CoopeClient
from coope.core.errors import CoopeError
from tests.daemon.social_helpers import group_room
from tests.helpers import PASSWORD, DaemonProcess, assert_eventually

pytestmark = pytest.mark.slow


@pytest.mark.timeout(180)  # two daemons and hundreds of acknowledged writes
async def test_acknowledged_messages_survive_sigkill(tmp_path: Path) -> None:
    daemon = DaemonProcess(tmp_path / "data").start()
    acknowledged: set[str] = set()
    try:
        async with CoopeClient(daemon.url) as alice, CoopeClient(daemon.url) as bob:
            await alice.auth.signup("alice", PASSWORD)
            await bob.auth.signup("bob", PASSWORD)
            room = await group_room(alice, "team", [bob])

            async def send_loop(client: CoopeClient, name: str) -> None:
                for n in range(10_000):
                    client_id = f"{name}-{n}"
                    try:
                        await client.chat.send(room.id, f"message {n}", client_id=client_id)
                    except CoopeError:
                        return  # the daemon died under us: this one was never acknowledged
                    acknowledged.add(client_id)

            loops = [asyncio.create_task(send_loop(c, n)) for c, n in ((alice, "a"), (bob, "b"))]
            await assert_eventually(
                lambda: len(acknowledged) >= 150, timeout=60, what="150 acknowledged messages"
            )
            daemon.kill()  # SIGKILL while both loops are still sending
            for loop in loops:
                with contextlib.suppress(CoopeError):
                    await loop
    finally:
        daemon.kill()

    restarted = DaemonProcess(tmp_path / "data").start()
    try:
        async with CoopeClient(restarted.url) as alice:
            await alice.auth.login("alice", PASSWORD)
            stored = (await alice.chat.changes(room.id, after=0, limit=1000)).messages
    finally:
        restarted.terminate()
    stored_ids = [m.client_id for m in stored]
    assert acknowledged <= set(stored_ids), acknowledged - set(stored_ids)
    assert len(stored_ids) == len(set(stored_ids))  # nothing stored twice
    seqs = [m.seq for m in stored]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
