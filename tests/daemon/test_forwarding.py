"""The SFU's packet forwarding, seen from a real aiortc subscriber: lost packets come again
(as RTX), sender reports count what was sent, and key frames are told apart in VP8 payloads."""

from __future__ import annotations

import fractions
import struct
from collections.abc import AsyncIterator
from typing import Any

import av
import numpy as np
import pytest
from aiortc.codecs.vpx import Vp8Encoder

from coope.client import CoopeClient
from coope.daemon.sfu.fanout import vp8_keyframe_start
from tests.daemon.callclient import CallClient
from tests.daemon.social_helpers import group_room
from tests.helpers import RunningDaemon, assert_eventually

# Real aiortc peers connecting media: minutes on a busy machine.
pytestmark = pytest.mark.timeout(180)


@pytest.fixture
async def pair(start_daemon) -> AsyncIterator[tuple[CallClient, CallClient]]:  # type: ignore[no-untyped-def]
    """Alice publishes audio and video; Bob only receives."""
    daemon: RunningDaemon = await start_daemon(ice_hosts=("127.0.0.1",))
    alice, bob = await daemon.user("alice"), await daemon.user("bob")
    room = await group_room(alice, "forwarding", [bob])
    a, b = CallClient(alice, room.id), CallClient(bob, room.id)
    clients: list[CoopeClient] = [alice, bob]
    try:
        for call, publish in ((a, True), (b, False)):
            await call.connect()
            await call.join()
            await call.start_media(publish=publish)
        yield a, b
    finally:
        for call in (a, b):
            await call.aclose()
        for client in clients:
            await client.aclose()


def _receiver(call: CallClient, kind: str) -> Any:
    assert call.pc is not None
    return next(
        t.receiver
        for t in call.pc.getTransceivers()
        if t.kind == kind and t.direction == "recvonly"
    )


async def test_lost_video_packets_are_sent_again(pair: tuple[CallClient, CallClient]) -> None:
    _, bob = pair
    receiver = _receiver(bob, "video")
    handle = receiver._handle_rtp_packet
    media_ssrc: list[int] = []
    dropped: set[int] = set()
    resent: set[int] = set()  # sequence numbers that came again, wrapped in RTX

    async def lossy(packet: Any, arrival_time_ms: int) -> None:
        """Bob's network loses every 7th video packet once; his receiver NACKs the gaps."""
        if not media_ssrc:
            media_ssrc.append(packet.ssrc)
        if packet.ssrc == media_ssrc[0]:
            seq = packet.sequence_number
            if seq % 7 == 0 and seq not in dropped:
                dropped.add(seq)
                return
        elif len(packet.payload) >= 2:  # RTX: the original sequence number comes first
            resent.add(struct.unpack("!H", packet.payload[:2])[0])
        await handle(packet, arrival_time_ms)

    receiver._handle_rtp_packet = lossy
    frames = bob.frames_from("alice", "video")
    await assert_eventually(
        lambda: len(dropped & resent) >= 10 and bob.frames_from("alice", "video") > frames + 30,
        timeout=20,
    )
    assert resent <= dropped  # only what was lost came again


async def test_sender_reports_count_what_was_forwarded(
    pair: tuple[CallClient, CallClient],
) -> None:
    _, bob = pair
    assert bob.pc is not None

    async def reports() -> dict[str, Any]:
        assert bob.pc is not None
        stats = await bob.pc.getStats()
        return {
            s.kind: (s.packetsSent, s.bytesSent)
            for s in stats.values()
            if s.type == "remote-outbound-rtp"
        }

    latest: dict[str, Any] = {}

    async def both_counted() -> bool:
        latest.update(await reports())
        return all(latest.get(kind, (0, 0))[0] >= 50 for kind in ("audio", "video"))

    await assert_eventually(both_counted, timeout=20)
    received = {
        s.kind: s.packetsReceived
        for s in (await bob.pc.getStats()).values()
        if s.type == "inbound-rtp"
    }
    for kind in ("audio", "video"):
        sent, octets = latest[kind]
        # A report is at most ~1.5 s old: it counts fewer packets than have arrived since.
        assert 0 < sent <= received[kind], (kind, sent, received)
        assert octets > sent  # payload bytes, more than one per packet


def test_vp8_key_frames_are_recognised_in_rtp_payloads() -> None:
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = 320, 240, "yuv420p"
    codec.time_base = fractions.Fraction(1, 30)
    codec.options = {"deadline": "realtime", "cpu-used": "8", "g": "5"}
    encoder = Vp8Encoder()
    seen = {True: 0, False: 0}
    for i in range(12):
        image = np.random.default_rng(i).integers(0, 255, (240, 320, 3), np.uint8)
        frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
        frame.pts = i
        for packet in codec.encode(frame):
            packet.pts, packet.time_base = i * 3000, fractions.Fraction(1, 90_000)
            payloads, _ = encoder.pack(packet)
            assert len(payloads) > 1  # noise: a frame takes several packets
            assert vp8_keyframe_start(payloads[0]) is packet.is_keyframe
            assert not any(vp8_keyframe_start(p) for p in payloads[1:])
            seen[packet.is_keyframe] += 1
    assert seen[True] >= 2 and seen[False] >= 5
    assert not vp8_keyframe_start(b"") and not vp8_keyframe_start(b"\x10")


async def test_a_slot_handed_to_another_publisher_keeps_one_stream(start_daemon) -> None:  # type: ignore[no-untyped-def]
    """Alice leaves, Carol publishes: Bob's video slot carries Carol now, and Bob sees one
    stream going on (sequence numbers without a jump, time moving forward), not a new one."""
    daemon: RunningDaemon = await start_daemon(ice_hosts=("127.0.0.1",))
    alice, bob, carol = [await daemon.user(n) for n in ("alice", "bob", "carol")]
    room = await group_room(alice, "handover", [bob, carol])
    a, b, c = (CallClient(client, room.id) for client in (alice, bob, carol))
    try:
        for call, publish in ((a, True), (b, False)):
            await call.connect()
            await call.join()
            await call.start_media(publish=publish)
        receiver = _receiver(b, "video")
        handle = receiver._handle_rtp_packet
        arrivals: list[tuple[int, int, int]] = []  # (ssrc, seq, timestamp) of media packets

        async def recording(packet: Any, arrival_time_ms: int) -> None:
            if not arrivals or packet.ssrc == arrivals[0][0]:
                arrivals.append((packet.ssrc, packet.sequence_number, packet.timestamp))
            await handle(packet, arrival_time_ms)

        receiver._handle_rtp_packet = recording
        await assert_eventually(lambda: b.frames_from("alice", "video") > 10, timeout=20)
        slot = next(m for m, t in b.tracks.items() if (t.user, t.kind) == ("alice", "video"))
        await a.leave()
        await a.aclose()
        await assert_eventually(lambda: b.tracks == {}, timeout=10)
        # Counted once Alice is gone, as the packets are: frames of hers that came after a
        # count taken earlier would pass for Carol's below.
        shown, before = b.received.get(slot, 0), len(arrivals)
        await c.connect()
        await c.join()
        await c.start_media(publish=True, audio_slots=0, video_slots=0)
        # (frames are counted per slot: the first ones were Alice's)
        await assert_eventually(lambda: b.frames_from("carol", "video") > shown + 10, timeout=20)
    finally:
        for call in (a, b, c):
            await call.aclose()
        for client in (alice, bob, carol):
            await client.aclose()
    last_of_alice, first_of_carol = arrivals[before - 1], arrivals[before]
    assert len(arrivals) > before + 10
    assert 0 < (first_of_carol[1] - last_of_alice[1]) % (1 << 16) <= 3
    assert 0 < (first_of_carol[2] - last_of_alice[2]) % (1 << 32) < 90_000 * 30
    gaps = [(y[1] - x[1]) % (1 << 16) for x, y in zip(arrivals, arrivals[1:], strict=False)]
    assert max(gaps) <= 3  # in order and unbroken on loopback, across the handover


@pytest.mark.parametrize("level", [None, (True, 37), (False, 127)])
def test_written_header_extensions_read_back_with_aiortcs_parser(level: Any) -> None:
    from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
    from aiortc.rtp import HeaderExtensionsMap

    from coope.daemon.sfu import internals

    ids = {internals.MID_URI: 1, internals.ABS_SEND_TIME_URI: 3, internals.AUDIO_LEVEL_URI: 4}
    extensions = [RTCRtpHeaderExtensionParameters(id=i, uri=u) for u, i in ids.items()]
    parser = HeaderExtensionsMap()
    parser.configure(RTCRtpParameters(headerExtensions=extensions))
    ntp = 0x1234_5678_9ABC_DEF0
    raw = internals._Extensions(ids, "12").pack(ntp, level)
    profile, words = struct.unpack("!HH", raw[:4])
    assert len(raw) == 4 + 4 * words
    values = parser.get(profile, raw[4:])
    assert (values.mid, values.abs_send_time, values.audio_level) == (
        "12",
        (ntp >> 14) & 0xFFFFFF,
        level,
    )
