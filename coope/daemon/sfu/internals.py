"""The aiortc internals forwarding relies on, checked at start and adapted in one place.

aiortc decodes every received track in a thread running the module function
`aiortc.rtcrtpreceiver.decoder_worker`. For the tracks the SFU receives, that worker is made to
hand over each complete encoded frame as an `av.Packet` instead; SRTP, RTX, NACK and receiver
reports stay aiortc's. A sender whose track yields `av.Packet`s packs them with the codec's
`Encoder.pack()` (the path `MediaPlayer(decode=False)` uses), so one packet is shared read-only
by every subscriber. Tracks of other peers in the same process (tests, the CLI) still decode.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import queue
import threading
import weakref
from fractions import Fraction
from typing import Any

import aiortc
import aiortc.rtcrtpreceiver as rtcrtpreceiver
import av
from aiortc.codecs.base import Encoder
from aiortc.rtcrtpreceiver import RemoteStreamTrack, RTCRtpReceiver
from aiortc.rtcrtpsender import RTCRtpSender

log = logging.getLogger(__name__)

TESTED_AIORTC = "1.16.0"
_passthrough: weakref.WeakSet[asyncio.Queue[Any]] = weakref.WeakSet()
_installed = False


class AiortcMismatch(RuntimeError):
    """The installed aiortc lacks what forwarding relies on."""


def check() -> None:
    """Fail with a clear message if aiortc's internals are not what forwarding needs."""
    problems = []
    worker = getattr(rtcrtpreceiver, "decoder_worker", None)
    if worker is None or list(inspect.signature(worker).parameters) != [
        "loop",
        "input_q",
        "output_q",
        "decode_error",
    ]:
        problems.append("aiortc.rtcrtpreceiver.decoder_worker(loop, input_q, output_q, ...)")
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


def install() -> None:
    """Check, then route SFU-received tracks around the decoder. Idempotent."""
    global _installed
    if _installed:
        return
    check()
    decode = rtcrtpreceiver.decoder_worker

    def worker(
        loop: asyncio.AbstractEventLoop,
        input_q: queue.Queue[Any],
        output_q: asyncio.Queue[Any],
        decode_error: threading.Event,
    ) -> None:
        # Decide per frame: the SFU marks a track when it appears, before any media can flow.
        # Frames of unmarked tracks go to aiortc's own decoder, in a thread of its own.
        to_decoder: queue.Queue[Any] | None = None
        decoder: threading.Thread | None = None
        while True:
            task = input_q.get()
            if output_q in _passthrough:
                if task is None:
                    asyncio.run_coroutine_threadsafe(output_q.put(None), loop)
                    break
                codec, frame = task
                packet = av.Packet(frame.data)
                packet.pts = frame.timestamp
                packet.time_base = Fraction(1, codec.clockRate)
                asyncio.run_coroutine_threadsafe(output_q.put(packet), loop)
                continue
            if to_decoder is None:
                to_decoder = queue.Queue()
                decoder = threading.Thread(
                    target=decode, args=(loop, to_decoder, output_q, decode_error), daemon=True
                )
                decoder.start()
            to_decoder.put(task)
            if task is None:
                break
        if decoder is not None:
            decoder.join()

    rtcrtpreceiver.decoder_worker = worker
    _installed = True


def forward_encoded(track: RemoteStreamTrack) -> None:
    """From now on, `track.recv()` yields encoded `av.Packet`s instead of decoded frames."""
    _passthrough.add(track._queue)


def use_host_addresses(hosts: list[str]) -> None:
    """Gather ICE host candidates on exactly these addresses (aioice skips 127.0.0.1 itself,
    which rules out calls on one machine; a LAN or NAT setup names its reachable address)."""
    import aioice.ice

    addresses = list(hosts)

    def configured(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [a for a in addresses if (":" in a and use_ipv6) or ("." in a and use_ipv4)]

    aioice.ice.get_host_addresses = configured
