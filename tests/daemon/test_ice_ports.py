"""`coope daemon --ice-ports`: call media on the UDP ports a firewall opens, and no others."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from coope.client import CoopeClient
from tests.cli.clitools import Cli
from tests.daemon.callclient import CallClient
from tests.daemon.social_helpers import group_room
from tests.helpers import PASSWORD, DaemonProcess, assert_eventually

pytestmark = pytest.mark.slow

LOW, HIGH = 42_170, 42_189


@pytest.fixture
def ranged_daemon(tmp_path: Path) -> Iterator[DaemonProcess]:
    daemon = DaemonProcess(
        tmp_path / "data", "--ice-host", "127.0.0.1", "--ice-ports", f"{LOW}-{HIGH}"
    )
    daemon.start()
    try:
        yield daemon
    finally:
        try:
            daemon.terminate()
        finally:
            daemon.kill()


def candidate_ports(sdp: str) -> set[int]:
    return {int(m) for m in re.findall(r"a=candidate:\S+ \d+ udp \d+ \S+ (\d+) typ host", sdp)}


async def test_call_media_uses_only_the_configured_ports(ranged_daemon: DaemonProcess) -> None:
    clients = []
    for name in ("root", "ann", "ben"):
        client = CoopeClient(ranged_daemon.url)
        token = (await client.auth.signup(name, PASSWORD)).token
        await client.aclose()
        clients.append(CoopeClient(ranged_daemon.url, token))
    _, ann, ben = clients
    room = await group_room(ann, "firewalled", [ben])
    calls = [CallClient(ann, room.id), CallClient(ben, room.id)]
    try:
        for call in calls:
            await call.connect()
            await call.join()
            await call.start_media()
        a, b = calls
        await assert_eventually(
            lambda: a.frames_from("ben", "audio") > 10 and b.frames_from("ann", "audio") > 10,
            timeout=20,
        )
        ports = set()
        for call in calls:
            assert call.pc is not None and call.pc.remoteDescription is not None
            ports |= candidate_ports(call.pc.remoteDescription.sdp)
        assert len(ports) == 2, ports  # one per participant's peer connection
        assert all(LOW <= p <= HIGH for p in ports), ports
    finally:
        for call in calls:
            await call.leave()
            await call.aclose()
        for client in clients:
            await client.aclose()


@pytest.mark.parametrize("value", ["5-3", "80-90", "40000-70000", "ports"])
def test_a_bad_port_range_is_refused(value: str, tmp_path: Path) -> None:
    cli = Cli("http://127.0.0.1:1", tmp_path)
    result = cli("daemon", "--ice-ports", value, "--data-dir", str(tmp_path / "d"))
    assert result.exit_code == 2, result.output
    words = " ".join(re.sub("[│╭╮╰╯─]", " ", result.output).split())  # Rich boxes the error
    assert f"'{value}' is not a port range like 40000-40199" in words
