"""The aiortc internals forwarding relies on, checked at start and adapted in one place.

aiortc hands every received RTP packet to a jitter buffer (`RTCRtpReceiver.__jitter_buffer`),
then sends each complete frame through a queue to a decoder thread. For the tracks the SFU
forwards, that buffer is replaced by a `FrameAssembler` that puts each complete encoded frame,
as an `av.Packet`, straight on the track's queue, on the event loop: no decoder, no thread hop.
SRTP, RTX, NACK and receiver reports stay aiortc's. A sender whose track yields `av.Packet`s
packs them with the codec's `Encoder.pack()` (the path `MediaPlayer(decode=False)` uses), so
one packet is shared read-only by every subscriber.

The assembler also cuts the stock buffer's delay. The stock video buffer closes a frame only
when the next frame's first packet arrives (one frame interval, ~33 ms at 30 fps); ours closes
it on the RTP marker bit of its last packet. The stock audio buffer holds four packets
(~80 ms) for a decoder's sake; a forwarder has none, so each Opus packet goes on at once, and
the subscriber's own jitter buffer does the smoothing once.
"""

from __future__ import annotations

import asyncio
import errno
import inspect
import logging
import random
import types
from fractions import Fraction
from typing import Any

import aiortc
import av
from aiortc.codecs.base import Encoder
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtcrtpreceiver import RemoteStreamTrack, RTCRtpReceiver
from aiortc.rtcrtpsender import RTCRtpSender
from aiortc.rtp import RtcpByePacket, RtpPacket
from aiortc.utils import uint16_add

log = logging.getLogger(__name__)

TESTED_AIORTC = "1.16.0"
_BUFFER = "_RTCRtpReceiver__jitter_buffer"
CLOCK_RATES = {"audio": 48_000, "video": 90_000}  # Opus and VP8, the only codecs answered
VIDEO_CAPACITY = 512  # packets, as aiortc's own video buffer
MAX_LATE = 100  # an audio packet this far behind the newest is a restart, not a late packet


class AiortcMismatch(RuntimeError):
    """The installed aiortc lacks what forwarding relies on."""


def check() -> None:
    """Fail with a clear message if aiortc's internals are not what forwarding needs."""
    problems = []
    handle = inspect.getsource(RTCRtpReceiver._handle_rtp_packet)
    if "self.__jitter_buffer.add(packet)" not in handle or "packet._data" not in handle:
        problems.append("RTCRtpReceiver.__jitter_buffer.add(packet) with depayloaded packet._data")
    if not hasattr(JitterBuffer, "_remove_frame"):
        problems.append("aiortc.jitterbuffer.JitterBuffer._remove_frame")
    if not hasattr(RTCRtpReceiver, "_send_rtcp_pli"):
        problems.append("RTCRtpReceiver._send_rtcp_pli")
    if not hasattr(RTCRtpSender, "_send_keyframe"):
        problems.append("RTCRtpSender._send_keyframe")
    if not hasattr(Encoder, "pack"):
        problems.append("aiortc.codecs.base.Encoder.pack")
    if "_queue" not in inspect.getsource(RemoteStreamTrack.__init__):
        problems.append("RemoteStreamTrack._queue")
    if problems:
        raise AiortcMismatch(
            f"aiortc {aiortc.__version__} lacks what the SFU forwards with: "
            f"{', '.join(problems)}. Install aiortc=={TESTED_AIORTC}."
        )
    if aiortc.__version__ != TESTED_AIORTC:
        log.warning("untested aiortc version", extra={"version": aiortc.__version__})


class FrameAssembler(JitterBuffer):
    """Stands in for a receiver's jitter buffer: complete frames go to the track's queue.

    `add()` returns no frame, so aiortc's decoder thread never gets one; it still returns the
    stock buffer's "send a PLI" flag (video lost beyond repair).
    """

    def __init__(self, kind: str, track: RemoteStreamTrack) -> None:
        super().__init__(
            capacity=VIDEO_CAPACITY if kind == "video" else 16, is_video=kind == "video"
        )
        self.kind = kind
        self._track = track
        self._time_base = Fraction(1, CLOCK_RATES[kind])
        self._newest: int | None = None  # audio: the newest sequence number passed on

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        if self.kind == "audio":
            self._pass_audio(packet)
            return False, None
        pli, frame = super().add(packet)
        while frame is not None:  # a retransmission can complete several frames at once
            self._deliver(frame)
            frame = self._remove_frame(packet.sequence_number)
        return pli, None

    def _pass_audio(self, packet: RtpPacket) -> None:
        # Every Opus packet is a frame of its own. A late one is dropped: its moment has passed.
        seq = packet.sequence_number
        if self._newest is not None:
            behind = uint16_add(self._newest, -seq)
            if 0 <= behind < MAX_LATE:
                return
        self._newest = seq
        self._deliver(JitterFrame(data=packet._data, timestamp=packet.timestamp))  # type: ignore[attr-defined]

    def _remove_frame(self, sequence_number: int) -> JitterFrame | None:
        """The oldest frame, once its packets from the origin up to the marker bit are here
        (or, without a marker, once the next frame has begun, as the stock buffer does)."""
        if self._origin is None:
            return None
        packets: list[RtpPacket] = []
        for count in range(self.capacity):
            packet = self._packets[(self._origin + count) % self.capacity]
            if packet is None:
                return None
            if packets and packet.timestamp != packets[0].timestamp:
                self.remove(count)  # the marker was lost; the next frame has begun
                return _frame(packets)
            packets.append(packet)
            if packet.marker:
                self.remove(count + 1)
                return _frame(packets)
        return None

    def _deliver(self, frame: JitterFrame) -> None:
        if self._track.readyState != "live":
            return  # nobody reads an ended track: its queue would only grow
        packet = av.Packet(frame.data)
        packet.pts = frame.timestamp
        packet.time_base = self._time_base
        self._track._queue.put_nowait(packet)


def _frame(packets: list[RtpPacket]) -> JitterFrame:
    return JitterFrame(
        data=b"".join(p._data for p in packets),  # type: ignore[attr-defined]
        timestamp=packets[0].timestamp,
    )


def forward_encoded(receiver: RTCRtpReceiver, track: RemoteStreamTrack) -> None:
    """From now on, `track.recv()` yields the receiver's encoded frames as `av.Packet`s.

    Call it when the track appears: before media flows, so no packet is in the old buffer.

    An RTCP BYE no longer ends the track: Chromium sends one when an m-line is made inactive
    (a screen share paused), and the same m-line may publish again; aiortc raises no second
    "track" event for it. A publisher who leaves closes the whole peer connection instead.
    """
    setattr(receiver, _BUFFER, FrameAssembler(track.kind, track))
    handle_rtcp = receiver._handle_rtcp_packet

    async def without_bye(packet: Any) -> None:
        if not isinstance(packet, RtcpByePacket):
            await handle_rtcp(packet)

    receiver._handle_rtcp_packet = without_bye  # type: ignore[method-assign]


def use_host_addresses(hosts: list[str]) -> None:
    """Gather ICE host candidates on exactly these addresses (aioice skips 127.0.0.1 itself,
    which rules out calls on one machine; a LAN or NAT setup names its reachable address)."""
    import aioice.ice

    addresses = list(hosts)

    def configured(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [a for a in addresses if (":" in a and use_ipv6) or ("." in a and use_ipv4)]

    aioice.ice.get_host_addresses = configured


def use_port_range(low: int, high: int) -> None:
    """Bind ICE host candidates to UDP ports from `low` to `high`, so that a firewall needs to
    open only those.

    aioice binds each host candidate to port 0 (any port) in `get_component_candidates`, and
    has no setting for it. Rather than copy that method, aioice's module sees an `asyncio`
    whose running loop binds port-0 datagram endpoints within the range, trying the ports
    from a random start and skipping those in use.
    """
    import aioice.ice

    if not 1 <= low <= high <= 65535:
        raise ValueError(f"not a UDP port range: {low}-{high}")
    ports = list(range(low, high + 1))

    class RangedLoop:
        def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
            self._loop = loop

        def __getattr__(self, name: str) -> Any:
            return getattr(self._loop, name)

        async def create_datagram_endpoint(
            self, factory: Any, local_addr: tuple[str, int] | None = None, **options: Any
        ) -> Any:
            if local_addr is None or local_addr[1] != 0:
                return await self._loop.create_datagram_endpoint(
                    factory, local_addr=local_addr, **options
                )
            start = random.randrange(len(ports))
            for port in ports[start:] + ports[:start]:
                try:
                    return await self._loop.create_datagram_endpoint(
                        factory, local_addr=(local_addr[0], port), **options
                    )
                except OSError as exc:
                    if exc.errno != errno.EADDRINUSE:
                        raise
            # aioice logs a failed bind quietly and the call would just never connect.
            log.warning("no free UDP port for call media", extra={"ports": f"{low}-{high}"})
            raise OSError(errno.EADDRINUSE, f"every UDP port from {low} to {high} is in use")

    class AsyncioInRange(types.ModuleType):
        def __getattr__(self, name: str) -> Any:
            return getattr(asyncio, name)

        @staticmethod
        def get_running_loop() -> Any:
            return RangedLoop(asyncio.get_running_loop())

    aioice.ice.asyncio = AsyncioInRange("asyncio")  # type: ignore[attr-defined]


def use_any_port() -> None:
    """Undo `use_port_range`: host candidates bind to any free port again."""
    import aioice.ice

    aioice.ice.asyncio = asyncio  # type: ignore[attr-defined]
