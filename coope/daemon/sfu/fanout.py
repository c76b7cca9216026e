"""Fan one published track out to its subscribers' slots, encoded frames untouched.

A `Fanout` reads encoded packets from a publisher's track and hands the same packet to every
`Slot` attached to it. A `Slot` is the track behind one of a subscriber's senders; it can be
re-pointed at another source when people come and go, so senders never change tracks.

Video needs keyframes: a slot newly attached to a video source drops packets until a keyframe
arrives, and asks the publisher for one (an RTCP PLI). A subscriber's own keyframe requests
become PLIs too. PLIs are rate-limited, but a request inside the window is deferred to its end
rather than dropped, so a new subscriber never waits for the publisher's next natural keyframe.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

log = logging.getLogger(__name__)

PLI_INTERVAL_S = 0.5
SLOT_QUEUE = 64  # packets a slow subscriber may lag before the oldest are dropped


def is_vp8_keyframe(packet: av.Packet[Any]) -> bool:
    """VP8 frame tag, bit 0 of the first byte: 0 means a key frame (RFC 6386 section 9.1)."""
    data = bytes(packet)
    return bool(data) and data[0] & 0x01 == 0


class Slot(MediaStreamTrack):
    """What one subscriber's sender plays: packets of whichever source is attached."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.source: Fanout | None = None
        self._queue: asyncio.Queue[av.Packet[Any]] = asyncio.Queue(SLOT_QUEUE)
        self._waiting_for_keyframe = False
        self._attached = asyncio.Event()

    def attach(self, source: Fanout | None) -> None:
        if self.source is source:
            return
        if self.source is not None:
            self.source.slots.discard(self)
        self.source = source
        while not self._queue.empty():
            self._queue.get_nowait()
        if source is None:
            self._attached.clear()
            return
        source.slots.add(self)
        self._attached.set()
        if self.kind == "video":
            self._waiting_for_keyframe = True
            source.request_keyframe()

    def offer(self, packet: av.Packet[Any]) -> None:
        if self._waiting_for_keyframe:
            if not is_vp8_keyframe(packet):
                return
            self._waiting_for_keyframe = False
        if self._queue.full():
            self._queue.get_nowait()  # a stalled subscriber loses the oldest, not everyone
        self._queue.put_nowait(packet)

    def request_keyframe(self) -> None:
        """Called by aiortc when this subscriber's receiver asks for a keyframe."""
        if self.source is not None:
            self.source.request_keyframe()

    async def recv(self) -> Any:
        if self.readyState != "live":
            raise MediaStreamError
        return await self._queue.get()

    def stop(self) -> None:
        self.attach(None)
        super().stop()


class Fanout:
    """One published track: its packets go to every attached slot."""

    def __init__(
        self,
        track: MediaStreamTrack,
        send_pli: Callable[[], Coroutine[Any, Any, None]],
        *,
        owner: str,
        source: str,
    ) -> None:
        self.track = track
        self.kind = track.kind
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
        self._pump = asyncio.create_task(self._run(), name=f"fanout-{owner}-{source}")

    async def _run(self) -> None:
        try:
            while True:
                packet = await self.track.recv()
                if not isinstance(packet, av.Packet):
                    continue  # never forward decoded frames: that would mean re-encoding
                for slot in list(self.slots):
                    slot.offer(packet)
        except MediaStreamError:
            pass
        finally:
            for slot in list(self.slots):
                slot.attach(None)

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
        self._pump.cancel()
        for task in [self._pump, *self._tasks]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
