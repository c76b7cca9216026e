"""The SFU under load: one publisher, N subscribers, forwarding versus decode/re-encode.

    .venv/bin/python scripts/bench_sfu.py [--subscribers 1,4,16,50] [--seconds 6] [--procs 2]

A throw-away daemon (`--ice-host 127.0.0.1`) hosts a call. One publisher process sends VP8
640x480 at 30 fps and Opus, encoded once before the run and replayed, so publishing costs little.
N subscribers, spread over `--procs` processes, receive it. Subscribers count complete frames
without decoding (one per run decodes, to show the stream is decodable), so that on a 2-core
machine the receiving side does not drown the measurement.

For each N it prints: the daemon's CPU seconds per second, µs of daemon CPU per forwarded RTP
packet, the subscribers' received frame rate (min and median), and publisher-send to
subscriber-frame latency p50/p95. Then the same workload through a relay that decodes once and
re-encodes for every subscriber (aiortc's MediaRelay, the pattern of aiortc's examples) and the
CPU ratio. Goals: at most 20 µs per forwarded packet, N=50 at >= 29 fps on one core, added
latency p95 <= 10 ms.
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


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


async def inbound_packets(pc: RTCPeerConnection) -> int:
    report = await pc.getStats()
    return sum(s.packetsReceived for s in report.values() if s.type == "inbound-rtp")


class Signalling:
    """Joins the call over the daemon's event socket and negotiates (the client offers)."""

    def __init__(self, url: str, token: str, room_id: int) -> None:
        self.url, self.token, self.room_id = url, token, room_id

    async def connect(self, http: aiohttp.ClientSession) -> None:
        self.ws = await http.ws_connect(
            self.url.replace("http", "ws", 1) + "/api/v1/ws",
            headers={"Authorization": f"Bearer {self.token}"},
        )
        await self.ws.receive_json()  # ready
        await self.ws.send_json({"type": "call.join", "room_id": self.room_id})
        await self._expect("call.joined")

    async def _expect(self, kind: str) -> dict[str, Any]:
        while True:
            event = await self.ws.receive_json()
            if event["type"] == kind:
                return dict(event["data"])
            if event["type"] == "error":
                raise RuntimeError(event["data"])

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
        answer = await self._expect("call.answer")
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))


async def _subscribe(
    pc: RTCPeerConnection,
    start: float,
    decode: bool,
    window: tuple[float, float],
    results: dict[str, Any],
) -> None:
    from coope.daemon.sfu.internals import forward_encoded, install

    install()
    arrivals: list[float] = []
    latencies: list[float] = []

    async def consume(track: MediaStreamTrack) -> None:
        if track.kind != "video":
            return
        if not decode:
            forward_encoded(track)  # type: ignore[arg-type]
        while True:
            try:
                frame = await track.recv()
            except Exception:
                return
            now = time.time()
            if window[0] <= now <= window[1]:
                arrivals.append(now)
                if not decode and frame.pts is not None:
                    latencies.append(now - (start + frame.pts / VIDEO_CLOCK))

    pc.on("track", lambda track: asyncio.ensure_future(consume(track)))
    results["arrivals"], results["latencies"] = arrivals, latencies


def participant(role: str, args: dict[str, Any], out: Any) -> None:
    asyncio.run(_participant(role, args, out))


async def _participant(role: str, args: dict[str, Any], out: Any) -> None:
    config = RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
    async with aiohttp.ClientSession() as http:
        pcs: list[tuple[RTCPeerConnection, dict[str, Any]]] = []
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
                await _subscribe(
                    pc, args["start"], args["decode"] and index == 0, args["window"], results
                )
            if args.get("relay"):
                await relay_negotiate(http, args["relay"], pc, role)
            else:
                signal = Signalling(args["url"], token, args["room_id"])
                await signal.connect(http)
                if role == "publisher":
                    await pc.setLocalDescription(await pc.createOffer())
                    sources = {video.mid: "camera", audio.mid: "microphone"}
                await signal.negotiate(pc, sources)
            pcs.append((pc, results))
        await asyncio.sleep(max(0.0, args["window"][0] - time.time()))
        before = [await inbound_packets(pc) for pc, _ in pcs]
        await asyncio.sleep(max(0.0, args["window"][1] - time.time()))
        after = [await inbound_packets(pc) for pc, _ in pcs]
        report = []
        span = args["window"][1] - args["window"][0]
        for (_pc, results), b, a in zip(pcs, before, after, strict=True):
            report.append(
                {
                    "fps": len(results.get("arrivals", [])) / span,
                    "latencies": results.get("latencies", []),
                    "packets": a - b,
                }
            )
        out.put(report)
        await asyncio.sleep(1.0)
        for pc, _ in pcs:
            await pc.close()


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

    async def main() -> None:
        relay, published = MediaRelay(), {}
        pcs = []

        async def offer(request: web.Request) -> web.Response:
            body = await request.json()
            pc = RTCPeerConnection(RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
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
    ctx = mp.get_context("spawn")
    out: Any = ctx.Queue()
    start = time.time() + 4.0 + n * 0.08  # time to set everything up
    window = (start + 2.0, start + 2.0 + args.seconds)
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
    procs = []
    groups = [setup["subscribers"][i :: args.procs] for i in range(args.procs)]
    for group in groups:
        if group[: n // args.procs + 1]:
            tokens = [t for t in group if setup["subscribers"].index(t) < n]
            if tokens:
                procs.append(
                    ctx.Process(
                        target=participant, args=("subscriber", {**common, "tokens": tokens}, out)
                    )
                )
    for p in procs:
        p.start()
    time.sleep(1.5 + n * 0.05)  # subscribers hold their slots before the publisher starts
    publisher = ctx.Process(
        target=participant, args=("publisher", {**common, "tokens": [setup["publisher"]]}, out)
    )
    publisher.start()
    time.sleep(max(0.0, window[0] - time.time()))
    cpu0 = cpu_seconds(target_pid)
    time.sleep(max(0.0, window[1] - time.time()))
    cpu = cpu_seconds(target_pid) - cpu0
    reports = [r for _ in range(len(procs) + 1) for r in out.get(timeout=60)]
    for p in [*procs, publisher]:
        p.join(30)
    subscribers = [r for r in reports if r["fps"] or r["packets"]]
    packets = sum(r["packets"] for r in subscribers)
    fps = sorted(r["fps"] for r in subscribers)
    latencies = sorted(x for r in subscribers for x in r["latencies"])
    q = statistics.quantiles(latencies, n=20) if len(latencies) > 1 else [0.0] * 19
    return {
        "n": n,
        "cpu": cpu / args.seconds,
        "us_per_packet": cpu / max(packets, 1) * 1e6,
        "fps_min": fps[0] if fps else 0.0,
        "fps_median": statistics.median(fps) if fps else 0.0,
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
    return {"publisher": tokens[0], "subscribers": tokens[1:], "room_id": room.id}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--subscribers", default="1,4,16,50")
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--no-relay", action="store_true", help="skip the re-encoding baseline")
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
            print(
                f"{'N':>3} {'SFU cpu/s':>9} {'µs/packet':>9} {'fps min':>7} {'fps med':>7}"
                f" {'lat p50':>7} {'lat p95':>7}"
            )
            results = []
            for n in counts:
                r = run_case(n, args, setup, proc.pid, None)
                results.append(r)
                print(
                    f"{r['n']:>3} {r['cpu']:>9.3f} {r['us_per_packet']:>9.1f} "
                    f"{r['fps_min']:>7.1f} {r['fps_median']:>7.1f} {r['lat_p50']:>7.1f}"
                    f" {r['lat_p95']:>7.1f}"
                )
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
            for sfu in results:
                n = sfu["n"]
                r = run_case(
                    n, args, {**setup, "url": ""}, relay.pid, "http://127.0.0.1:18931/offer"
                )
                ratio = r["cpu"] / max(sfu["cpu"], 1e-9)
                print(
                    f"{n:>3} {r['cpu']:>9.3f} {r['us_per_packet']:>9.1f} {r['fps_min']:>7.1f}"
                    f" {r['fps_median']:>7.1f}   cpu x{ratio:.1f} of the SFU"
                )
        finally:
            relay.kill()
    print(json.dumps({"goals": "µs/packet <= 20; N=50 >= 29 fps on one core; p95 <= 10 ms"}))


if __name__ == "__main__":
    sys.exit(main())
