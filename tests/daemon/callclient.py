"""A call participant for tests: a real aiortc peer signalling over the event websocket."""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import math
from collections import defaultdict
from typing import Any

import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.mediastreams import VideoStreamTrack
from aiortc.rtp import RtcpByePacket
from av import AudioFrame, VideoFrame

from coope.client import CoopeClient, EventStream
from coope.core.events import CallRenegotiateData, CallTrack, Event


class ToneTrack(MediaStreamTrack):
    """A 440 Hz tone in 20 ms frames at 48 kHz, paced in real time."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._n = 0
        self._start: float | None = None

    async def recv(self) -> AudioFrame:
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        wait = self._start + self._n / 48000 - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        samples = np.arange(self._n, self._n + 960)
        tone = (np.sin(2 * math.pi * 440 * samples / 48000) * 8000).astype(np.int16)
        frame = AudioFrame.from_ndarray(tone.reshape(1, -1), format="s16", layout="mono")
        frame.pts, frame.sample_rate = self._n, 48000
        frame.time_base = fractions.Fraction(1, 48000)
        self._n += 960
        return frame


class BarsTrack(VideoStreamTrack):
    """Moving colour bars, 320x240."""

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        image = np.zeros((240, 320, 3), np.uint8)
        image[:, (pts // 3000) % 320 :, 1] = 200
        frame = VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts, frame.time_base = pts, time_base
        return frame


class CallClient:
    def __init__(self, client: CoopeClient, room_id: int) -> None:
        self.client = client
        self.room_id = room_id
        self.pc: RTCPeerConnection | None = None
        self.events: EventStream | None = None
        self.received: dict[str, int] = defaultdict(int)  # mid -> decoded frames
        self.tracks: dict[str, CallTrack] = {}
        self.inbox: asyncio.Queue[Event] = asyncio.Queue()  # what tests wait for
        self._answers: asyncio.Queue[Event] = asyncio.Queue()  # what negotiation waits for
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stack = contextlib.AsyncExitStack()
        self._negotiating = asyncio.Lock()  # one offer/answer at a time

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def connect(self) -> None:
        self.events = await self._stack.enter_async_context(self.client.events())
        self._spawn(self._read())

    async def _read(self) -> None:
        assert self.events is not None
        with contextlib.suppress(Exception):
            async for event in self.events:
                if event.type == "call.tracks":
                    self.tracks = event.data.tracks
                elif event.type == "call.renegotiate" and self.pc is not None:
                    self._spawn(self._renegotiate(event.data))
                elif event.type == "call.answer":
                    # Taken in the order sent: a `call.tracks` right behind it is newer.
                    self.tracks = event.data.tracks
                    await self._answers.put(event)
                    continue
                await self.inbox.put(event)

    async def expect(self, *types: str, timeout: float = 10) -> Event:
        async def find() -> Event:
            while True:
                event = await self.inbox.get()
                if event.type in types:
                    return event

        return await asyncio.wait_for(find(), timeout)

    async def join(self, *, takeover: bool = False, recording: bool = False) -> Event:
        assert self.events is not None
        await self.events.send(
            {
                "type": "call.join",
                "room_id": self.room_id,
                "takeover": takeover,
                "recording": recording,
            }
        )
        return await self.expect("call.joined", "error")

    async def start_media(
        self, *, publish: bool = True, audio_slots: int = 1, video_slots: int = 1
    ) -> None:
        # max-bundle: aiortc's balanced policy leaves a second m-line of a kind unconnected.
        self.pc = RTCPeerConnection(RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        self.pc.on("track", lambda track: self._spawn(self._consume(track)))
        self.sources: dict[RTCRtpTransceiver, str] = {}
        if publish:
            self.sources[self.pc.addTransceiver(ToneTrack(), direction="sendonly")] = "microphone"
            self.sources[self.pc.addTransceiver(BarsTrack(), direction="sendonly")] = "camera"
        for _ in range(audio_slots):
            self.pc.addTransceiver("audio", direction="recvonly")
        for _ in range(video_slots):
            self.pc.addTransceiver("video", direction="recvonly")
        await self._negotiate()
        # Connected before anything else happens: aioice leaves a consent task running when a
        # connection closes while its ICE checks are still in progress.
        async with asyncio.timeout(15):
            while self.pc.connectionState != "connected":
                await asyncio.sleep(0.02)

    async def share_screen(self) -> None:
        """Publish a second video track, labelled as a screen share."""
        assert self.pc is not None
        self.sources[self.pc.addTransceiver(BarsTrack(), direction="sendonly")] = "screen"
        await self._negotiate()

    async def set_screen(self, sharing: bool) -> None:
        """Stop (the m-line offered as inactive, and an RTCP BYE for its stream, as Chromium
        may send) or resume (send-only again) the screen share."""
        assert self.pc is not None
        [screen] = [t for t, source in self.sources.items() if source == "screen"]
        screen.direction = "sendonly" if sharing else "inactive"
        await self._negotiate()
        if not sharing:
            await screen.sender._send_rtcp([RtcpByePacket(sources=[screen.sender._ssrc])])

    async def _negotiate(self) -> None:
        async with self._negotiating:
            await self._offer()

    async def _offer(self) -> None:
        assert self.pc is not None and self.events is not None
        await self.pc.setLocalDescription(await self.pc.createOffer())
        sources = {t.mid: s for t, s in self.sources.items() if t.mid is not None}
        await self.events.send(
            {
                "type": "call.offer",
                "room_id": self.room_id,
                "sdp": self.pc.localDescription.sdp,
                "sources": sources,
            }
        )
        answer = await asyncio.wait_for(self._answers.get(), 10)
        await self.pc.setRemoteDescription(
            RTCSessionDescription(sdp=answer.data.sdp, type="answer")
        )

    async def send_offer(self) -> None:
        """Send an offer and leave its reply in the inbox (for offers that must be refused)."""
        assert self.events is not None
        pc = RTCPeerConnection()
        try:
            pc.addTransceiver("audio", direction="recvonly")
            offer = await pc.createOffer()
        finally:
            await pc.close()
        message = {"type": "call.offer", "room_id": self.room_id, "sdp": offer.sdp}
        await self.events.send(message)

    async def _renegotiate(self, missing: CallRenegotiateData) -> None:
        assert self.pc is not None
        try:
            async with self._negotiating:
                for kind in ("audio", "video"):
                    for _ in range(getattr(missing, kind)):
                        self.pc.addTransceiver(kind, direction="recvonly")
                await self._offer()
        except Exception:
            if self.pc.connectionState != "closed":
                raise  # a real failure; one while closing the peer is the end of the call

    async def _consume(self, track: MediaStreamTrack) -> None:
        assert self.pc is not None
        mid = next(t.mid for t in self.pc.getTransceivers() if t.receiver.track is track)
        with contextlib.suppress(Exception):
            while True:
                await track.recv()
                self.received[mid or ""] += 1

    def frames_from(self, user: str, kind: str, source: str | None = None) -> int:
        return sum(
            self.received.get(mid, 0)
            for mid, info in self.tracks.items()
            if info.user == user and info.kind == kind and (source is None or info.source == source)
        )

    async def leave(self) -> None:
        if self.events is not None and not self.events.close_code:
            with contextlib.suppress(Exception):
                await self.events.send({"type": "call.leave", "room_id": self.room_id})

    async def aclose(self) -> None:
        if self.pc is not None:
            await self.pc.close()
        await self._stack.aclose()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
