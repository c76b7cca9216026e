"""Fan one published track's RTP packets out to its subscribers, payloads untouched.

A `Fanout` gets every RTP packet a publisher sends on one m-line (from the receiver's
`PacketTap`) and hands it to every `Slot` attached to it, synchronously, as it arrives. A
`Slot` is one of a subscriber's receive m-lines: it maps the publisher's sequence numbers and
timestamps into its own continuous ones and sends through its `SenderLink`. A slot can be
re-pointed at another source when people come and go, so senders never change.

Video needs keyframes: a slot newly attached to a video source (or whose subscriber is not
connected yet) drops packets until a keyframe begins, and asks the publisher for one (an RTCP
PLI). A subscriber's own keyframe requests become PLIs too. PLIs are rate-limited, but a request
inside the window is deferred to its end rather than dropped, so a new subscriber never waits
for the publisher's next natural keyframe.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Coroutine
from typing import Any

from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcrtpsender import RTCRtpSender
from aiortc.rtp import RtpPacket

from coope.daemon.sfu.internals import SenderLink, ntp_now

log = logging.getLogger(__name__)

PLI_INTERVAL_S = 0.5
CLOCK_RATES = {"audio": 48_000, "video": 90_000}  # Opus and VP8, the only codecs answered


def vp8_keyframe_start(payload: bytes) -> bool:
    """Whether an RTP VP8 payload begins a key frame: its descriptor marks the start of
    partition 0 (RFC 7741 section 4.2) and the frame tag's bit 0 is 0 (RFC 6386 section 9.1)."""
    if len(payload) < 2 or not payload[0] & 0x10 or payload[0] & 0x07:
        return False
    at = 1
    if payload[0] & 0x80:  # X: an extension byte follows
        extension, at = payload[1], 2
        if extension & 0x80 and at < len(payload):  # I: a 7- or 15-bit picture id
            at += 2 if payload[at] & 0x80 else 1
        if extension & 0x40:  # L: TL0PICIDX
            at += 1
        if extension & 0x30:  # T or K: one byte for TID and KEYIDX
            at += 1
    return at < len(payload) and payload[at] & 0x01 == 0


class Slot(MediaStreamTrack):
    """One receive m-line of a subscriber, carrying whichever source is attached.

    Packets go out through the sender's `SenderLink`; as the sender's track it yields nothing
    (the sender's own task waits on it until the slot stops).
    """

    def __init__(self, kind: str, sender: RTCRtpSender) -> None:
        super().__init__()
        self.kind = kind
        self.source: Fanout | None = None
        self.link = SenderLink(sender, self.request_keyframe)
        self._clock = CLOCK_RATES[kind]
        # Added to the source's sequence number and timestamp, and the first sequence number
        # sent from it; None until the first packet of the current source (for video, a
        # keyframe) is sent.
        self._offsets: tuple[int, int, int] | None = None
        self._next_seq = random.randrange(1 << 16)
        self._last: tuple[int, float] | None = None  # the last timestamp sent, and when
        self._failed = False
        self._stopped = asyncio.Event()

    def attach(self, source: Fanout | None) -> None:
        if self.source is source:
            return
        if self.source is not None:
            self.source.slots.discard(self)
        self.source = source
        self._offsets = None
        if source is not None:
            source.slots.add(self)
            if self.kind == "video":
                source.request_keyframe()

    def forward(self, packet: RtpPacket, ntp: int, now: float) -> None:
        if not self.link.ready:
            self._offsets = None  # once connected, start again (on a keyframe)
            return
        offsets = self._offsets
        if offsets is None:
            if self.kind == "video" and not vp8_keyframe_start(packet.payload):
                if self.source is not None:
                    self.source.request_keyframe()
                return
            offsets = self._offsets = self._offsets_from(packet, now)
        seq = (packet.sequence_number + offsets[0]) & 0xFFFF
        timestamp = (packet.timestamp + offsets[1]) & 0xFFFFFFFF
        if (seq - self._next_seq) & 0xFFFF < 0x8000:  # the newest so far
            self._next_seq = (seq + 1) & 0xFFFF
            self._last = (timestamp, now)
        elif (seq - offsets[2]) & 0xFFFF >= 0x8000:
            return  # late, and older than this source's first packet: not this stream's
        self.link.send(
            seq, packet.marker, timestamp, packet.payload, ntp, packet.extensions.audio_level
        )

    def _offsets_from(self, packet: RtpPacket, now: float) -> tuple[int, int, int]:
        """Sequence numbers go on where the previous source stopped; timestamps as far on as
        the time that passed since, so the subscriber sees one continuous stream."""
        if self._last is None:
            timestamp = random.randrange(1 << 32)
        else:
            last, at = self._last
            timestamp = last + max(1, int((now - at) * self._clock))
        return (
            (self._next_seq - packet.sequence_number) & 0xFFFF,
            (timestamp - packet.timestamp) & 0xFFFFFFFF,
            self._next_seq,
        )

    def request_keyframe(self) -> None:
        """Called by aiortc when this subscriber's receiver asks for a keyframe."""
        if self.source is not None:
            self.source.request_keyframe()

    def failed(self) -> bool:
        """Note a failure to send; True the first time, so it is logged once."""
        first, self._failed = not self._failed, True
        return first

    async def recv(self) -> Any:
        await self._stopped.wait()
        raise MediaStreamError

    def stop(self) -> None:
        self.attach(None)
        self._stopped.set()
        super().stop()


class Fanout:
    """One published track: its packets go to every attached slot."""

    def __init__(
        self,
        kind: str,
        send_pli: Callable[[], Coroutine[Any, Any, None]],
        *,
        owner: str,
        source: str,
    ) -> None:
        self.kind = kind
        self.owner = owner  # the publishing user's name
        self.source = source  # "microphone", "camera" or "screen"
        # False while the publisher's m-line is inactive (a screen share that ended): nobody
        # is attached to it, and it comes back on the same m-line.
        self.active = True
        self.slots: set[Slot] = set()
        self._send_pli = send_pli
        self._last_pli = 0.0
        self._deferred: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def forward(self, packet: RtpPacket) -> None:
        """One packet from the publisher, to every attached slot (called by the receiver)."""
        if not self.slots:
            return
        ntp, now = ntp_now(), time.monotonic()
        for slot in list(self.slots):
            try:
                slot.forward(packet, ntp, now)
            except Exception:
                # One subscriber's failure must not break the publisher's receiving.
                if slot.failed():
                    log.exception("forwarding to a subscriber failed", extra={"owner": self.owner})

    def request_keyframe(self) -> None:
        if self.kind != "video":
            return
        loop = asyncio.get_running_loop()
        wait = self._last_pli + PLI_INTERVAL_S - loop.time()
        if wait <= 0:
            self._pli_now()
        elif self._deferred is None:
            self._deferred = loop.call_later(wait, self._pli_now)

    def _pli_now(self) -> None:
        self._deferred = None
        self._last_pli = asyncio.get_running_loop().time()
        task = asyncio.create_task(self._send_pli())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        if self._deferred is not None:
            self._deferred.cancel()
        for slot in list(self.slots):
            slot.attach(None)
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
