"""The SFU under load: one publisher, N subscribers, forwarding versus decode/re-encode.

    .venv/bin/python scripts/bench_sfu.py [--subscribers 1,4,16,50] [--seconds 6] [--procs 2]

A throw-away daemon (`--ice-host 127.0.0.1`) hosts a call. One publisher process sends VP8
640x480 at 30 fps and Opus, encoded once before the run and replayed, so publishing costs little.
N subscribers, spread over `--procs` processes, receive it. Subscribers count complete frames
without decoding (one per run decodes, to show the stream is decodable), so that on a 2-core
machine the receiving side does not drown the measurement.

For each N it prints: the daemon's CPU seconds per second (and the kernel's share of it, mostly
sending UDP), µs of daemon CPU per RTP packet it had to send (publisher packets x N), the share
of those the subscribers received, their complete-frame rate (min and median; "decoded" is the
decoding subscriber's), and the time from the publisher sending a frame to a subscriber having
all of it, p50/p95 (both ends on this machine, so it includes the sending and receiving aiortc
stacks as well as the SFU). Then the same workload through a relay that decodes once and
re-encodes for every subscriber (aiortc's MediaRelay, the pattern of aiortc's examples), with
the ratio of CPU per packet. Goals: at most 20 µs per forwarded packet, N=50 at >= 29 fps on one
core, added latency p95 <= 10 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import json
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import av
import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from benchlib import start_daemon, stop_daemon

VIDEO_CLOCK, AUDIO_CLOCK, FPS = 90_000, 48_000, 30
CLIP_FRAMES = 90
TICKS = os.sysconf("SC_CLK_TCK")


def encode_clip() -> tuple[list[bytes], list[bytes]]:
    video = av.CodecContext.create("libvpx", "w")
    video.width, video.height, video.pix_fmt = 640, 480, "yuv420p"
    video.time_base, video.framerate, video.bit_rate = fractions.Fraction(1, FPS), FPS, 1_200_000
    video.options = {"deadline": "realtime", "cpu-used": "8", "g": str(CLIP_FRAMES)}
    frames: list[bytes] = []
    for i in range(CLIP_FRAMES):
        image = np.zeros((480, 640, 3), np.uint8)
        image[:, (i * 7) % 640 :, 0] = 200
        image[(i * 5) % 480 :, :, 2] = 120
        frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
        frame.pts = i
        frames += [bytes(p) for p in video.encode(frame)]
    frames += [bytes(p) for p in video.encode(None)]
    opus = av.CodecContext.create("libopus", "w")
    opus.sample_rate, opus.layout, opus.format, opus.bit_rate = AUDIO_CLOCK, "mono", "s16", 32000
    audio: list[bytes] = []
    for i in range(50 * CLIP_FRAMES // FPS):
        tone = (np.sin((np.arange(960) + i * 960) * 0.06) * 6000).astype(np.int16)
        chunk = av.AudioFrame.from_ndarray(tone.reshape(1, -1), format="s16", layout="mono")
        chunk.sample_rate, chunk.pts = AUDIO_CLOCK, i * 960
        audio += [bytes(p) for p in opus.encode(chunk)]
    return frames, audio


class EncodedTrack(MediaStreamTrack):
    """Replays encoded packets in real time; the sender packs them without encoding."""

    def __init__(self, kind: str, packets: list[bytes], start: float) -> None:
        super().__init__()
        self.kind = kind
        self._packets, self._start, self._i = packets, start, 0
        self._rate = FPS if kind == "video" else 50
        self._clock = VIDEO_CLOCK if kind == "video" else AUDIO_CLOCK

    async def recv(self) -> av.Packet:
        if self._i == 0:  # joining late: start at the frame due now rather than in a burst
            self._i = max(0, int((time.time() - self._start) * self._rate))
        due = self._start + self._i / self._rate
        await asyncio.sleep(max(0.0, due - time.time()))
        packet = av.Packet(self._packets[self._i % len(self._packets)])
        packet.pts = self._i * self._clock // self._rate
        packet.time_base = fractions.Fraction(1, self._clock)
        self._i += 1
        return packet


def cpu_seconds(pid: int) -> tuple[float, float]:
    """User and kernel CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / TICKS, int(fields[12]) / TICKS


async def packet_counts(pc: RTCPeerConnection, kind: str) -> int:
    report = await pc.getStats()
    return sum(
        getattr(s, "packetsReceived" if kind == "in" else "packetsSent", 0)
        for s in report.values()
        if s.type == f"{kind}bound-rtp"
    )


class Signalling:
    """Joins the call over the daemon's event socket and negotiates (the client offers).

    The socket is read all along: the daemon's heartbeat closes a socket that never answers
    its pings, and that participant with it.
    """

    def __init__(self, url: str, token: str, room_id: int) -> None:
        self.url, self.token, self.room_id = url, token, room_id
        self._answers: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def connect(self, http: aiohttp.ClientSession) -> None:
        self.ws = await http.ws_connect(
            self.url.replace("http", "ws", 1) + "/api/v1/ws",
            headers={"Authorization": f"Bearer {self.token}"},
        )
        await self.ws.receive_json()  # ready
        self.reader = asyncio.ensure_future(self._read())
        await self.ws.send_json({"type": "call.join", "room_id": self.room_id})
        await self._answers.get()

    async def _read(self) -> None:
        async for message in self.ws:
            event = json.loads(message.data)
            if event["type"] == "error":
                raise RuntimeError(event["data"])
            if event["type"] in ("call.joined", "call.answer"):
                self._answers.put_nowait(event["data"])

    async def negotiate(self, pc: RTCPeerConnection, sources: dict[str, str]) -> None:
        await pc.setLocalDescription(await pc.createOffer())
        await self.ws.send_json(
            {
                "type": "call.offer",
                "room_id": self.room_id,
                "sdp": pc.localDescription.sdp,
                "sources": sources,
            }
        )
        answer = await self._answers.get()
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))


class FrameCounter:
    """Puts a receiver's VP8 packets back together into frames without decoding them: a frame
    is complete when its packets, from the one starting it (the descriptor's S bit) to the
    one with the marker bit, came in unbroken."""

    def __init__(self, on_frame: Callable[[bytes], None]) -> None:
        self._on_frame = on_frame
        self._parts: list[bytes] = []
        self._timestamp: int | None = None
        self._next_seq = -1
        self._whole = False

    def __call__(self, packet: Any) -> None:
        if packet.timestamp != self._timestamp:
            self._timestamp, self._parts = packet.timestamp, []
            self._whole = bool(packet.payload[0] & 0x10)
        elif packet.sequence_number != self._next_seq:
            self._whole = False
        self._next_seq = (packet.sequence_number + 1) & 0xFFFF
        self._parts.append(packet._data)
        if packet.marker and self._whole:
            self._on_frame(b"".join(self._parts))


def _subscribe(
    pc: RTCPeerConnection, clip: dict[bytes, int], args: dict[str, Any], decode: bool
) -> dict[str, Any]:
    """Count complete video frames in the window, and how long after the publisher sent them
    they arrived. Frames are put together from their packets without decoding, except by the
    one decoding subscriber, which shows that what arrives decodes."""
    from coope.daemon.sfu.internals import tap_packets

    start, window = args["start"], args["window"]
    results: dict[str, Any] = {"arrivals": 0, "latencies": [], "decoded": decode}

    def arrived(frame: bytes | None) -> None:
        now = time.time()
        if not window[0] <= now <= window[1]:
            return
        results["arrivals"] += 1
        index = clip.get(frame) if frame is not None else None
        if index is not None:  # the frame sent at start + k/FPS for the latest such k
            k = int((now - start) * FPS)
            k -= (k - index) % CLIP_FRAMES
            results["latencies"].append(now - (start + k / FPS))

    async def consume(track: MediaStreamTrack) -> None:
        while True:
            try:
                await track.recv()
            except Exception:
                return
            if track.kind == "video":
                arrived(None)

    def on_track(track: MediaStreamTrack) -> None:
        receiver = next(t.receiver for t in pc.getTransceivers() if t.receiver.track is track)
        if decode and track.kind == "video":
            asyncio.ensure_future(consume(track))
        elif track.kind == "video":
            tap_packets(receiver, FrameCounter(arrived))
        else:
            tap_packets(receiver, lambda packet: None)

    pc.on("track", on_track)
    return results


def participant(role: str, args: dict[str, Any], out: Any) -> None:
    asyncio.run(_participant(role, args, out))


async def _participant(role: str, args: dict[str, Any], out: Any) -> None:
    from coope.daemon.sfu.internals import use_host_addresses

    use_host_addresses(["127.0.0.1"])
    config = RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE, iceServers=[])
    clip = {frame: i for i, frame in enumerate(args["video"][:CLIP_FRAMES])}
    async with aiohttp.ClientSession() as http:
        pcs: list[tuple[RTCPeerConnection, dict[str, Any]]] = []
        signals = []
        for index, token in enumerate(args["tokens"]):
            pc = RTCPeerConnection(config)
            results: dict[str, Any] = {}
            sources: dict[str, str] = {}
            if role == "publisher":
                video = pc.addTransceiver(
                    EncodedTrack("video", args["video"], args["start"]), direction="sendonly"
                )
                audio = pc.addTransceiver(
                    EncodedTrack("audio", args["audio"], args["start"]), direction="sendonly"
                )
            else:
                pc.addTransceiver("audio", direction="recvonly")
                pc.addTransceiver("video", direction="recvonly")
                results = _subscribe(pc, clip, args, args["decode"] and index == 0)
            if args.get("relay"):
                await relay_negotiate(http, args["relay"], pc, role)
            else:
                signal = Signalling(args["url"], token, args["room_id"])
                await signal.connect(http)
                signals.append(signal)
                if role == "publisher":
                    await pc.setLocalDescription(await pc.createOffer())
                    sources = {video.mid: "camera", audio.mid: "microphone"}
                await signal.negotiate(pc, sources)
            pcs.append((pc, results))
        direction = "out" if role == "publisher" else "in"
        await asyncio.sleep(max(0.0, args["window"][0] - time.time()))
        before = [await packet_counts(pc, direction) for pc, _ in pcs]
        await asyncio.sleep(max(0.0, args["window"][1] - time.time()))
        after = [await packet_counts(pc, direction) for pc, _ in pcs]
        span = args["window"][1] - args["window"][0]
        out.put(
            [
                {
                    "role": role,
                    "fps": results.get("arrivals", 0) / span,
                    "decoded": results.get("decoded", False),
                    "latencies": results.get("latencies", []),
                    "packets": a - b,
                }
                for (_pc, results), b, a in zip(pcs, before, after, strict=True)
            ]
        )
        await asyncio.sleep(1.0)
        for pc, _ in pcs:
            await pc.close()
        for signal in signals:
            await signal.ws.close()
            signal.reader.cancel()


async def relay_negotiate(
    http: aiohttp.ClientSession, relay: str, pc: RTCPeerConnection, role: str
) -> None:
    await pc.setLocalDescription(await pc.createOffer())
    async with http.post(relay, json={"sdp": pc.localDescription.sdp, "role": role}) as r:
        answer = await r.json()
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))


def relay_server(port: int, ready: Any) -> None:
    """Decode once, re-encode per subscriber: the baseline the SFU is compared with."""
    from aiohttp import web
    from aiortc.contrib.media import MediaRelay

    from coope.daemon.sfu.internals import use_host_addresses

    use_host_addresses(["127.0.0.1"])

    async def main() -> None:
        relay, published = MediaRelay(), {}
        pcs = []

        async def offer(request: web.Request) -> web.Response:
            body = await request.json()
            pc = RTCPeerConnection(
                RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE, iceServers=[])
            )
            pcs.append(pc)
            pc.on("track", lambda t: published.__setitem__(t.kind, t))
            await pc.setRemoteDescription(RTCSessionDescription(sdp=body["sdp"], type="offer"))
            if body["role"] == "subscriber":
                for t in pc.getTransceivers():
                    t.sender.replaceTrack(relay.subscribe(published[t.kind]))
                    t.direction = "sendonly"
            await pc.setLocalDescription(await pc.createAnswer())
            return web.json_response({"sdp": pc.localDescription.sdp})

        app = web.Application()
        app.router.add_post("/offer", offer)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


def run_case(
    n: int, args: argparse.Namespace, setup: dict[str, Any], target_pid: int, relay: str | None
) -> dict[str, Any]:
    """The publisher joins first (a relay needs its tracks before it can answer anyone), then
    N subscribers over `--procs` processes; the measured window opens once all have joined."""
    ctx = mp.get_context("spawn")
    out: Any = ctx.Queue()
    start = time.time() + 3.0
    window = (start + 3.0 + n * 0.12, start + 3.0 + n * 0.12 + args.seconds)
    common = {
        "url": setup["url"],
        "room_id": setup["room_id"],
        "start": start,
        "window": window,
        "video": setup["video"],
        "audio": setup["audio"],
        "decode": True,
        "relay": relay,
    }
    publisher = ctx.Process(
        target=participant, args=("publisher", {**common, "tokens": [setup["publisher"]]}, out)
    )
    publisher.start()
    time.sleep(2.0)
    tokens = setup["subscribers"][:n]
    groups = [tokens[i :: args.procs] for i in range(args.procs) if tokens[i :: args.procs]]
    procs = [
        ctx.Process(target=participant, args=("subscriber", {**common, "tokens": g}, out))
        for g in groups
    ]
    for p in procs:
        p.start()
    time.sleep(max(0.0, window[0] - time.time()))
    user0, kernel0 = cpu_seconds(target_pid)
    time.sleep(max(0.0, window[1] - time.time()))
    user1, kernel1 = cpu_seconds(target_pid)
    cpu, kernel = user1 - user0 + kernel1 - kernel0, kernel1 - kernel0
    reports = [r for _ in range(len(procs) + 1) for r in out.get(timeout=120)]
    for p in [*procs, publisher]:
        p.join(30)
    subscribers = [r for r in reports if r["role"] == "subscriber"]
    sent = sum(r["packets"] for r in reports if r["role"] == "publisher")
    received = sum(r["packets"] for r in subscribers)
    fps = sorted(r["fps"] for r in subscribers)
    latencies = sorted(x for r in subscribers for x in r["latencies"])
    q = statistics.quantiles(latencies, n=20) if len(latencies) > 1 else [0.0] * 19
    return {
        "n": n,
        "cpu": cpu / args.seconds,
        "kernel": kernel / max(cpu, 1e-9),
        # per packet due to a subscriber: what a subscriber lost still cost the sending
        "us_per_packet": cpu / max(sent * n, 1) * 1e6,
        "delivered": received / max(sent * n, 1),
        "fps_min": fps[0] if fps else 0.0,
        "fps_median": statistics.median(fps) if fps else 0.0,
        "fps_decoded": next((r["fps"] for r in subscribers if r["decoded"]), 0.0),
        "lat_p50": q[9] * 1000,
        "lat_p95": q[18] * 1000,
    }


async def prepare(url: str, users: int) -> dict[str, Any]:
    from coope.client import CoopeClient

    tokens = []
    for i in range(users + 1):
        async with CoopeClient(url) as client:
            tokens.append((await client.auth.signup(f"sfu{i:03d}", "bench password 1")).token)
    async with CoopeClient(url, tokens[0]) as owner:
        room = await owner.chat.create_room("bench", [f"sfu{i:03d}" for i in range(1, users + 1)])
    for token in tokens[1:]:  # strangers to the owner are invited: each accepts
        async with CoopeClient(url, token) as subscriber:
            await subscriber.chat.accept_invite(room.id)
    return {"publisher": tokens[0], "subscribers": tokens[1:], "room_id": room.id}


HEADER = (
    f"{'N':>3} {'cpu s/s':>8} {'kernel':>6} {'µs/pkt':>7} {'deliv':>6} {'fps min':>7}"
    f" {'fps med':>7} {'decoded':>7} {'p50 ms':>7} {'p95 ms':>7}"
)


def row(r: dict[str, Any]) -> str:
    return (
        f"{r['n']:>3} {r['cpu']:>8.3f} {r['kernel']:>6.0%} {r['us_per_packet']:>7.1f}"
        f" {r['delivered']:>6.1%}"
        f" {r['fps_min']:>7.1f} {r['fps_median']:>7.1f} {r['fps_decoded']:>7.1f}"
        f" {r['lat_p50']:>7.1f} {r['lat_p95']:>7.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--subscribers", default="1,4,16,50")
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--no-relay", action="store_true", help="skip the re-encoding baseline")
    parser.add_argument(
        "--relay-max", type=int, default=16, help="largest N for the relay (it collapses early)"
    )
    args = parser.parse_args()
    counts = [int(n) for n in args.subscribers.split(",")]
    video, audio = encode_clip()
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_daemon(
            Path(tmp) / "data", None, "--log-level", "warning", "--ice-host", "127.0.0.1"
        )
        try:
            setup = {
                **asyncio.run(prepare(url, max(counts))),
                "url": url,
                "video": video,
                "audio": audio,
            }
            print("SFU (forwarding):")
            print(HEADER, flush=True)
            results = []
            for n in counts:
                results.append(run_case(n, args, setup, proc.pid, None))
                print(row(results[-1]), flush=True)
        finally:
            stop_daemon(proc)
    if not args.no_relay:
        ctx = mp.get_context("spawn")
        ready = ctx.Event()
        relay = ctx.Process(target=relay_server, args=(18931, ready), daemon=True)
        relay.start()
        ready.wait(30)
        try:
            print("decode/re-encode relay, same workload:")
            print(HEADER, flush=True)
            for sfu in results:
                if sfu["n"] > args.relay_max:
                    continue
                r = run_case(
                    sfu["n"], args, {**setup, "url": ""}, relay.pid, "http://127.0.0.1:18931/offer"
                )
                ratio = r["us_per_packet"] / max(sfu["us_per_packet"], 1e-9)
                print(f"{row(r)}   x{ratio:.1f} the SFU's CPU per packet", flush=True)
        finally:
            relay.kill()
    print(json.dumps({"goals": "µs/packet <= 20; N=50 >= 29 fps on one core; p95 <= 10 ms"}))


if __name__ == "__main__":
    sys.exit(main())
