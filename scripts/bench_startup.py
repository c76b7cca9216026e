"""Start-up time of the `coope` command line: how long a person waits for the prompt to return.

Run it with the project's interpreter (the `coope` script next to it is the one measured):

    .venv/bin/python scripts/bench_startup.py [--runs 7]

It starts a throw-away daemon on a free port with a temp data dir, signs up one account through
the CLI (with a temp XDG_CONFIG_HOME, so your own saved logins are never touched), then times
fresh processes of `coope --help` and `coope whoami` (a real round trip to the daemon), each the
median of `--runs` runs, next to `python -c pass` measured in the same run as the floor.
Runs are interleaved so that a slow moment of the machine does not land on one command only.

Goal: `coope --help` under 0.3 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import start_daemon, stop_daemon

GOAL_HELP_S = 0.3
PASSWORD = "bench password 1"


def time_once(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        stderr = proc.stderr.decode(errors="replace").strip()
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}: {stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per command (default 7)")
    args = parser.parse_args()
    runs = max(1, args.runs)

    coope = str(Path(sys.executable).parent / "coope")
    if not Path(coope).exists():
        raise SystemExit(f"no coope script next to {sys.executable}: pip install -e . first")

    with tempfile.TemporaryDirectory(prefix="coope-bench-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COOPE_")}
        env["XDG_CONFIG_HOME"] = str(Path(tmp) / "config")
        daemon, url = start_daemon(Path(tmp) / "data", env)
        try:
            signup = subprocess.run(
                [coope, "signup", "bench", "--password-stdin", "--server", url],
                input=PASSWORD + "\n",
                capture_output=True,
                text=True,
                env=env,
            )
            if signup.returncode != 0:
                raise SystemExit(f"signup failed ({signup.returncode}): {signup.stderr.strip()}")

            commands = {
                "python -c pass": [sys.executable, "-c", "pass"],
                "coope --help": [coope, "--help"],
                "coope whoami": [coope, "whoami"],
            }
            times: dict[str, list[float]] = {label: [] for label in commands}
            for _ in range(runs):
                for label, cmd in commands.items():
                    times[label].append(time_once(cmd, env))
        finally:
            stop_daemon(daemon)

    medians = {label: statistics.median(values) for label, values in times.items()}
    floor = medians["python -c pass"]
    print(f"coope start-up, median of {runs} runs ({sys.executable})")
    print(f"{'command':<16} {'median s':>9} {'min s':>7} {'x python':>9}")
    for label, values in times.items():
        print(
            f"{label:<16} {medians[label]:>9.3f} {min(values):>7.3f} {medians[label] / floor:>9.1f}"
        )
    verdict = "met" if medians["coope --help"] < GOAL_HELP_S else "NOT met"
    print(f"goal: coope --help under {GOAL_HELP_S} s: {verdict}")


if __name__ == "__main__":
    main()
