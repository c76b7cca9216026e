"""The aiortc internals forwarding relies on, checked at start and adapted in one place.

Receiving: aiortc hands every RTP packet it receives (after SRTP, RTX unwrapping and NACK
bookkeeping) to a jitter buffer, `RTCRtpReceiver.__jitter_buffer`, which assembles frames for a
decoder thread. For the tracks the SFU forwards, that buffer is replaced by a `PacketTap` that
hands each packet on at once, on the event loop: no frame assembly, no decoder, no thread hop,
and no jitter delay (the subscriber's own jitter buffer does the smoothing, once).

Sending: an `RTCRtpSender` would pull frames from its track in a task of its own and packetize
them anew for each subscriber. A `SenderLink` instead writes the publisher's RTP payload,
unchanged, under the subscriber's own header (SSRC, payload type, sequence numbers, header
extension ids) straight to the sender's SRTP session and ICE pair, synchronously, in the loop
that received the packet. The sender keeps everything else: RTCP sender reports (from the
counters the link keeps up to date), receiver reports, keyframe requests and NACKs, whose
retransmissions (as RTX where negotiated) come from the link's history.
"""

from __future__ import annotations

import asyncio
import errno
import inspect
import logging
import random
import struct
import time
import types
from collections.abc import Callable
from typing import Any

import aiortc
from aioice.ice import Connection, StunProtocol
from aiortc.codecs import is_rtx
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtcdtlstransport import RTCDtlsTransport, State
from aiortc.rtcrtpparameters import RTCRtpSendParameters
from aiortc.rtcrtpreceiver import RTCRtpReceiver
from aiortc.rtcrtpsender import RTCRtpSender
from aiortc.rtp import RtpPacket

log = logging.getLogger(__name__)

TESTED_AIORTC = "1.16.0"
_BUFFER = "_RTCRtpReceiver__jitter_buffer"
# What an RTCRtpSender's RTCP sender reports are made of (name-mangled private fields).
_SENT_PACKETS = "_RTCRtpSender__packet_count"
_SENT_OCTETS = "_RTCRtpSender__octet_count"
_SENT_NTP = "_RTCRtpSender__ntp_timestamp"
_SENT_RTP = "_RTCRtpSender__rtp_timestamp"
HISTORY = 512  # packets kept per subscriber for retransmission (aiortc keeps 128)
NTP_OFFSET_S = 2_208_988_800  # 1900-01-01 to 1970-01-01

MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
AUDIO_LEVEL_URI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"


class AiortcMismatch(RuntimeError):
    """The installed aiortc lacks what forwarding relies on."""


def check() -> None:
    """Fail with a clear message if aiortc's internals are not what forwarding needs."""
    problems = []
    handle = inspect.getsource(RTCRtpReceiver._handle_rtp_packet)
    if "self.__jitter_buffer.add(packet)" not in handle:
        problems.append("RTCRtpReceiver.__jitter_buffer.add(packet)")
    if not hasattr(RTCRtpReceiver, "_send_rtcp_pli"):
        problems.append("RTCRtpReceiver._send_rtcp_pli")
    for method in ("_send_keyframe", "_retransmit", "send"):
        if not hasattr(RTCRtpSender, method):
            problems.append(f"RTCRtpSender.{method}")
    rtcp = inspect.getsource(RTCRtpSender._run_rtcp)
    for field in (_SENT_PACKETS, _SENT_OCTETS, _SENT_NTP, _SENT_RTP):
        if f"self.__{field.rsplit('__', 1)[1]}" not in rtcp:
            problems.append(f"RTCRtpSender.{field} in sender reports")
    if "self._tx_srtp" not in inspect.getsource(RTCDtlsTransport._send_rtp):
        problems.append("RTCDtlsTransport._tx_srtp")
    if "self._nominated.get(component)" not in inspect.getsource(Connection.sendto):
        problems.append("aioice Connection._nominated")
    if "self.transport.sendto(data, addr)" not in inspect.getsource(StunProtocol.send_data):
        problems.append("aioice StunProtocol.transport")
    if problems:
        raise AiortcMismatch(
            f"aiortc {aiortc.__version__} lacks what the SFU forwards with: "
            f"{', '.join(problems)}. Install aiortc=={TESTED_AIORTC}."
        )
    if aiortc.__version__ != TESTED_AIORTC:
        log.warning("untested aiortc version", extra={"version": aiortc.__version__})


class PacketTap(JitterBuffer):
    """Stands in for a receiver's jitter buffer: every media packet goes to `on_packet`.

    `add()` returns no frame, so aiortc's decoder thread never gets one, and no "send a PLI"
    flag: a subscriber that cannot decode asks for a keyframe itself.
    """

    def __init__(self, on_packet: Callable[[RtpPacket], None]) -> None:
        super().__init__(capacity=16)
        self._on_packet = on_packet

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        if packet.payload:  # an empty one is padding (a bandwidth probe): nothing to forward
            self._on_packet(packet)
        return False, None


def tap_packets(receiver: RTCRtpReceiver, on_packet: Callable[[RtpPacket], None]) -> None:
    """From now on, every RTP packet the receiver gets goes to `on_packet`, in order of
    arrival. Call it when the track appears, before media flows."""
    setattr(receiver, _BUFFER, PacketTap(on_packet))


def ntp_now() -> int:
    """The current time as a 64-bit NTP timestamp (aiortc's clock goes through datetime,
    several times slower, and this runs once per forwarded packet)."""
    return int((time.time() + NTP_OFFSET_S) * (1 << 32))


class SenderLink:
    """Sends whole RTP packets through one of aiortc's senders, as its own task would.

    Before the sender is started (its transport connected), `ready` is False and nothing is
    sent. `send` takes the header fields that differ per subscriber and the payload as the
    publisher sent it.
    """

    def __init__(self, sender: RTCRtpSender, on_keyframe_request: Callable[[], None]) -> None:
        self._sender = sender
        self.payload_type = -1
        self._rtx_payload_type: int | None = None
        self._rtx_sequence = random.randrange(1 << 16)
        self._ssrc = sender._ssrc
        self._rtx_ssrc = sender._rtx_ssrc
        self._extensions = _Extensions()
        # seq % HISTORY -> (seq, marker, timestamp, extensions, payload), for NACKs
        self._history: list[tuple[int, int, int, bytes, bytes] | None] = [None] * HISTORY
        self._started = False
        sender._send_keyframe = on_keyframe_request  # type: ignore[method-assign]
        sender._retransmit = self._retransmit  # type: ignore[method-assign,assignment]
        start = sender.send

        async def send(parameters: RTCRtpSendParameters) -> None:
            self._configure(parameters)
            await start(parameters)

        sender.send = send  # type: ignore[method-assign]

    def _configure(self, parameters: RTCRtpSendParameters) -> None:
        if self._started:
            return  # aiortc starts a sender once; later negotiations repeat the call
        codec = parameters.codecs[0]
        self.payload_type = codec.payloadType or 0  # always set in a negotiated codec
        self._rtx_payload_type = next(
            (
                c.payloadType
                for c in parameters.codecs
                if is_rtx(c) and c.parameters.get("apt") == codec.payloadType
            ),
            None,
        )
        self._extensions = _Extensions(
            {e.uri: e.id for e in parameters.headerExtensions}, parameters.muxId
        )
        self._started = True

    @property
    def ready(self) -> bool:
        # The transport is looked up each time: bundling may replace a sender's transport.
        return self._started and self._sender.transport._state is State.CONNECTED

    def send(
        self, seq: int, marker: int, timestamp: int, payload: bytes, ntp: int, level: Any
    ) -> None:
        """One packet. `ntp` is the send time (one for a whole fan-out); `level` the
        publisher's audio level extension, a (voice, -dBov) pair, or None."""
        extensions = self._extensions.pack(ntp, level)
        self._history[seq % HISTORY] = (seq, marker, timestamp, extensions, payload)
        self._emit(
            _header(marker, self.payload_type, seq, timestamp, self._ssrc) + extensions, payload
        )
        # What the sender's next RTCP sender report says.
        sender = self._sender
        setattr(sender, _SENT_PACKETS, getattr(sender, _SENT_PACKETS) + 1)
        setattr(sender, _SENT_OCTETS, getattr(sender, _SENT_OCTETS) + len(payload))
        setattr(sender, _SENT_NTP, ntp)
        setattr(sender, _SENT_RTP, timestamp)

    async def _retransmit(self, seq: int) -> None:
        """A subscriber's NACK: the packet once more, wrapped as RTX where negotiated."""
        kept = self._history[seq % HISTORY]
        if kept is None or kept[0] != seq or not self.ready:
            return
        _, marker, timestamp, extensions, payload = kept
        if self._rtx_payload_type is None:
            header = _header(marker, self.payload_type, seq, timestamp, self._ssrc)
            self._emit(header + extensions, payload)
            return
        rtx_seq, self._rtx_sequence = self._rtx_sequence, (self._rtx_sequence + 1) & 0xFFFF
        header = _header(marker, self._rtx_payload_type, rtx_seq, timestamp, self._rtx_ssrc)
        self._emit(header + extensions, struct.pack("!H", seq) + payload)

    def _emit(self, header: bytes, payload: bytes) -> None:
        dtls = self._sender.transport
        data = dtls._tx_srtp.protect(header + payload)
        pair = dtls.transport._connection._nominated.get(1)
        # Every aioice pair's protocol is a StunProtocol; its transport (a UDP socket, or a
        # TURN allocation) sends without waiting, so no task per packet is needed.
        if pair is not None and pair.protocol.transport is not None:
            pair.protocol.transport.sendto(data, pair.remote_addr)


def _header(marker: int, payload_type: int, seq: int, timestamp: int, ssrc: int) -> bytes:
    """An RTP fixed header with the extension bit set (RFC 3550 section 5.1)."""
    return _FIXED.pack(0x90, marker << 7 | payload_type, seq, timestamp, ssrc)


_FIXED = struct.Struct("!BBHII")


class _Extensions:
    """The header extensions a subscriber negotiated, in the one-byte form (RFC 8285): the
    absolute send time (for the receiver's bandwidth estimate), the MID and, for audio, the
    publisher's audio level passed on. All but the send time are laid out once."""

    def __init__(self, ids: dict[str, int] | None = None, mid: str | None = None) -> None:
        ids = {uri: i for uri, i in (ids or {}).items() if 1 <= i <= 14}  # one-byte ids only
        mid_bytes = (mid or "").encode()[:16]
        self._mid = (
            bytes([ids[MID_URI] << 4 | len(mid_bytes) - 1]) + mid_bytes
            if MID_URI in ids and mid_bytes
            else b""
        )
        abs_id = ids.get(ABS_SEND_TIME_URI)
        self._abs = b"" if abs_id is None else bytes([abs_id << 4 | 2])
        self._level_id = ids.get(AUDIO_LEVEL_URI)
        self._plain = self._layout(0)
        self._with_level = self._layout(2)

    def _layout(self, level_size: int) -> tuple[bytes, bytes]:
        """What comes before the send time (if negotiated) and the audio level element (if
        any), and what comes after them."""
        size = len(self._abs) + (3 if self._abs else 0) + level_size + len(self._mid)
        padding = -size % 4
        lead = struct.pack("!HH", 0xBEDE, (size + padding) // 4) + self._abs
        return lead, self._mid + b"\0" * padding

    def pack(self, ntp: int, level: Any) -> bytes:
        send_time = _abs_send_time(ntp) if self._abs else b""
        if level is None or self._level_id is None:
            lead, tail = self._plain
            return lead + send_time + tail
        lead, tail = self._with_level
        voice, dbov = level
        element = bytes((self._level_id << 4, (0x80 if voice else 0) | (dbov & 0x7F)))
        return lead + send_time + element + tail


_last_send_time: tuple[int, bytes] = (-1, b"")


def _abs_send_time(ntp: int) -> bytes:
    """6.18 fixed-point seconds, the middle 24 bits of the NTP time; computed once for all
    the subscribers of a fan-out, which share `ntp`."""
    global _last_send_time
    if _last_send_time[0] != ntp:
        _last_send_time = (ntp, ((ntp >> 14) & 0xFFFFFF).to_bytes(3, "big"))
    return _last_send_time[1]


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
