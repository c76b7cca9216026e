"""Meeting notes: the offline engine's real-time factor, and from the call's end to the page.

    .venv/bin/python scripts/bench_notes.py [--seconds 60] [--no-call]

1. Transcription: a two-speaker meeting of `--seconds` seconds, spoken by espeak-ng in two
   voices, as the recorder writes it (one 48 kHz track per speaker, each as long as the
   meeting, silent while the other talks). After loading the model (timed on its own), both
   tracks are transcribed with the local engine. Prints wall and CPU seconds per second of
   meeting (the real-time factor) and the peak RSS, and the word error rate against the script.
2. The whole path (skipped with --no-call): a daemon, two `coope call join --input` processes
   playing those tracks, and `coope notes record --until-empty`; prints the time from the last
   participant leaving the call to the notes page existing, split into waiting, transcription
   and summary.

Goal: real-time factor <= 0.3 on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from benchlib import start_daemon, stop_daemon

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the test suite's speech helpers build the meeting

from tests.notes.speech import VOICE_A, VOICE_B, track, word_error_rate  # noqa: E402

SENTENCES_A = [
    "Good morning everyone, let us go through the release plan.",
    "The new search page is finished and reviewed.",
    "We decided to ship the new version on Friday.",
    "Carol will prepare the announcement for the blog.",
    "Thanks everyone, that is all for today.",
]
SENTENCES_B = [
    "The tests are passing on the main branch.",
    "The database migration still needs a dry run.",
    "I will update the documentation before the release.",
    "We should also check the error budget next week.",
    "Sounds good, see you tomorrow.",
]


def script(seconds: float) -> tuple[list[tuple[float, str]], list[tuple[float, str]]]:
    """Turns in a `seconds`-long meeting: A, B, A, B... evenly spaced."""
    turns = len(SENTENCES_A) + len(SENTENCES_B)
    step = (seconds - 4) / turns
    a = [(1 + 2 * i * step, s) for i, s in enumerate(SENTENCES_A)]
    b = [(1 + (2 * i + 1) * step, s) for i, s in enumerate(SENTENCES_B)]
    return a, b


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def transcription(tracks: dict[str, Path], seconds: float, reference: str) -> None:
    from coope.notes.stt_local import LocalTranscriber
    from coope.notes.transcript import merge

    transcriber = LocalTranscriber()
    wall, cpu = time.perf_counter(), cpu_seconds()
    transcriber.transcribe(tracks["ann"], "ann")  # loads the model (once per process)
    load_wall = time.perf_counter() - wall
    wall, cpu = time.perf_counter(), cpu_seconds()
    segments = merge(transcriber.transcribe(path, who) for who, path in tracks.items())
    wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    wer = word_error_rate(reference, " ".join(s.text for s in segments))
    print(f"model load (plus one track): {load_wall:.1f} s")
    print(
        f"transcribing {seconds:.0f} s of meeting (2 tracks of {seconds:.0f} s): {wall:.1f} s wall,"
        f" {cpu:.1f} s CPU"
    )
    print(f"  real-time factor {wall / seconds:.3f} (wall), {cpu / seconds:.3f} CPU s per second")
    print(f"  peak RSS {rss_mb:.0f} MB, word error rate {wer:.1%}")


def coope(*args: str, token: str, env: dict[str, str], out: Path) -> subprocess.Popen[bytes]:
    full = {**os.environ, **env, "COOPE_TOKEN": token, "NO_COLOR": "1"}
    for key in ("COOPE_OPENAI_API_KEY", "COOPE_OPENAI_BASE_URL"):
        full.pop(key, None)
    with open(out, "w") as stdout:
        return subprocess.Popen(
            [sys.executable, "-m", "coope", *args, "--json"],
            stdout=stdout,
            stderr=subprocess.DEVNULL,
            env=full,
        )


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


async def prepare(url: str) -> dict[str, Any]:
    from coope.client import CoopeClient

    tokens = {}
    for name in ("ann", "ben", "scribe"):
        async with CoopeClient(url) as client:
            tokens[name] = (await client.auth.signup(name, "bench password 1")).token
    async with CoopeClient(url, tokens["ann"]) as ann:
        ws = await ann.workspaces.create("Team")
        invite = await ann.workspaces.invite(ws.id, role="editor")
        room = await ann.chat.create_room("standup", ["ben", "scribe"])
    for name in ("ben", "scribe"):  # not ann's friends: invited, and they accept
        async with CoopeClient(url, tokens[name]) as invited:
            await invited.chat.accept_invite(room.id)
    async with CoopeClient(url, tokens["scribe"]) as scribe:
        await scribe.workspaces.join(invite.code)
    return tokens


def whole_path(tracks: dict[str, Path], seconds: float, tmp: Path) -> None:
    proc, url = start_daemon(
        tmp / "daemon", None, "--log-level", "warning", "--ice-host", "127.0.0.1"
    )
    started: list[subprocess.Popen[bytes]] = []
    try:
        tokens = asyncio.run(prepare(url))
        env = {"COOPE_SERVER": url, "XDG_DATA_HOME": str(tmp / "data")}
        bot_out = tmp / "bot.out"
        started.append(
            coope(
                "notes",
                "record",
                "#standup",
                "--workspace",
                "Team",
                "--until-empty",
                token=tokens["scribe"],
                env=env,
                out=bot_out,
            )  # fmt: skip
        )
        while not bot_out.read_text():
            time.sleep(0.1)
        for who, path in tracks.items():
            started.append(
                coope(
                    "call",
                    "join",
                    "#standup",
                    "--input",
                    str(path),
                    "--output",
                    str(tmp / f"{who}-heard.wav"),
                    "--duration",
                    str(seconds + 1),
                    token=tokens[who],
                    env=env,
                    out=tmp / f"{who}.out",
                )  # fmt: skip
            )
        started[0].wait(seconds + 300)
        done = time.time()
    finally:
        for p in started:
            if p.poll() is None:
                p.kill()
            p.wait(10)
        stop_daemon(proc)
    events = lines(bot_out)
    last_left = max(
        datetime.fromisoformat(e["ts"]).timestamp()
        for e in events
        if e["type"] == "call.participant_left" and e["data"]["user"] != "scribe"
    )
    notes = events[-1]
    assert notes["type"] == "notes.written", notes
    print(
        f"from the last participant leaving to the notes page: {done - last_left:.1f} s"
        f" (page {notes['data']['page_id']}, {len(notes['data']['transcript'])} lines,"
        f" {len(notes['data']['action_items'])} action items)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--no-call", action="store_true", help="only the transcription figures")
    args = parser.parse_args()
    a, b = script(args.seconds)
    reference = " ".join(s for _, s in sorted(a + b))
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        tracks = {
            "ann": track(a, tmp / "ann.wav", VOICE_A, duration=args.seconds),
            "ben": track(b, tmp / "ben.wav", VOICE_B, duration=args.seconds),
        }
        transcription(tracks, args.seconds, reference)
        if not args.no_call:
            whole_path(tracks, args.seconds, tmp)
    print(json.dumps({"goal": "real-time factor <= 0.3 on 2 cores"}))


if __name__ == "__main__":
    main()
