"""One participant's peer connection: what they publish, and the slots they receive into.

The participant always makes the offers (Chromium rejects renegotiation offers from aiortc):
their send-only m-lines publish (each becomes a `Fanout`); their receive-only m-lines are slots
the SFU fills with other people's tracks. A publishing m-line offered again as inactive stops
that publication (the end of a screen share) until it is offered as send-only again. Only VP8
and Opus are answered, so every publisher's packets fit every subscriber's sender unchanged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.rtcrtpsender import RTCRtpSender

from coope.core.errors import InvalidInput
from coope.core.events import CallTrack
from coope.daemon.sfu.fanout import Fanout, Slot
from coope.daemon.sfu.internals import tap_packets

log = logging.getLogger(__name__)

SOURCES = ("microphone", "camera", "screen")
_CODECS = {"audio": "audio/opus", "video": "video/VP8"}


def _restrict_codecs(transceiver: RTCRtpTransceiver) -> None:
    capabilities = RTCRtpSender.getCapabilities(transceiver.kind).codecs
    wanted = _CODECS[transceiver.kind]
    keep = [
        c for c in capabilities if c.mimeType.lower() in (wanted.lower(), f"{transceiver.kind}/rtx")
    ]
    transceiver.setCodecPreferences(keep)


class CallPeer:
    def __init__(
        self,
        user_id: int,
        username: str,
        connection_id: str,
        configuration: RTCConfiguration,
        on_published: Callable[[CallPeer, Fanout], None],
        on_failed: Callable[[CallPeer], None],
    ) -> None:
        self.user_id = user_id
        self.username = username
        self.connection_id = connection_id
        self.pc = RTCPeerConnection(configuration)
        self.published: dict[str, Fanout] = {}  # mid -> what they send
        self.slots: dict[str, Slot] = {}  # mid -> what we send them
        self.sources: dict[str, str] = {}  # mid -> "microphone" | "camera" | "screen"
        self._on_published = on_published
        self._on_failed = on_failed
        self.pc.on("track", self._on_track)
        self.pc.on("connectionstatechange", self._on_state)

    def _on_track(self, track: MediaStreamTrack) -> None:
        transceiver = next(t for t in self.pc.getTransceivers() if t.receiver.track is track)
        mid = transceiver.mid or ""
        receiver = transceiver.receiver

        async def send_pli() -> None:
            for source in receiver.getSynchronizationSources():
                await receiver._send_rtcp_pli(source.source)

        default = "microphone" if track.kind == "audio" else "camera"
        source = self.sources.get(mid, default)
        fanout = Fanout(track.kind, send_pli, owner=self.username, source=source)
        tap_packets(receiver, fanout.forward)
        self.published[mid] = fanout
        self._on_published(self, fanout)

    async def _on_state(self) -> None:
        if self.pc.connectionState in ("failed", "closed"):
            self._on_failed(self)

    async def answer(self, sdp: str, sources: dict[str, str]) -> str:
        """Take the participant's offer; return the answer SDP."""
        for source in sources.values():
            if source not in SOURCES:
                raise InvalidInput(f"unknown source {source!r}; known: {', '.join(SOURCES)}")
        self.sources.update(sources)
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        except ValueError as exc:
            raise InvalidInput(f"the offer was refused: {exc}") from exc
        for transceiver in self.pc.getTransceivers():
            mid = transceiver.mid or ""
            if transceiver.kind in _CODECS:
                _restrict_codecs(transceiver)
            # aiortc keeps the offer's direction reversed, as seen from here: "sendonly" means
            # the participant only receives on this m-line.
            offered = transceiver._offerDirection
            if offered in ("sendonly", "sendrecv") and mid not in self.slots:
                slot = Slot(transceiver.kind, transceiver.sender)
                transceiver.sender.replaceTrack(slot)
                transceiver.direction = offered
                self.slots[mid] = slot
        offered_by_mid = {t.mid: t._offerDirection for t in self.pc.getTransceivers()}
        for mid, fanout in self.published.items():
            # Reversed again: the participant sending shows as "recvonly" here.
            fanout.active = offered_by_mid.get(mid) in ("recvonly", "sendrecv")
        answer = await self.pc.createAnswer()
        await self.pc.setLocalDescription(answer)
        return str(self.pc.localDescription.sdp)

    def free_slots(self, kind: str) -> list[Slot]:
        return [s for s in self.slots.values() if s.kind == kind and s.source is None]

    def track_map(self) -> dict[str, CallTrack]:
        """What each receiving m-line currently carries, for the participant to label tiles."""
        return {
            mid: CallTrack(user=slot.source.owner, kind=slot.kind, source=slot.source.source)
            for mid, slot in self.slots.items()
            if slot.source is not None
        }

    async def aclose(self) -> None:
        for slot in self.slots.values():
            slot.stop()
        await asyncio.gather(*(f.aclose() for f in self.published.values()))
        await self.pc.close()
