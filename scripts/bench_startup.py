"""Start-up time of the `coope` command line: how long a person waits for the prompt to return.

Run it with the project's interpreter (the `coope` script next to it is the one measured):

    .venv/bin/python scripts/bench_startup.py [--runs 7]

It starts a throw-away daemon on a free port with a temp data dir, signs up one account through
the CLI (with a temp XDG_CONFIG_HOME, so your own saved logins are never touched), then times
fresh processes of `coope --help`, `coope whoami` and `coope chat send` (real round trips to the
daemon), each the median of `--runs` runs, next to `python -c pass` measured in the same run as
the floor. Runs are interleaved so that a slow moment of the machine does not land on one command
only.

`--baseline DIR` times the same commands from another checkout of the project (for instance
`git worktree add /tmp/before HEAD~3`) in the same run, against the same daemon, so that a change
can be judged as a ratio on one noisy machine. Every tree runs as `python -m coope` with its own
tree first on `PYTHONPATH` (the same interpreter and installed dependencies).

Before timing, each tree's modules are compiled to bytecode (`compileall`), as an installed
package is: with PYTHONDONTWRITEBYTECODE set, every run would otherwise compile them anew.
`libraries alone` is a process that only imports what every command needs (typer, pydantic,
asyncio, rich): the floor that nothing in coope can go under.

Goals: `coope --help` under 0.3 s; `coope whoami` and `coope chat send` at 0.15 s (not met:
see the floor).
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import start_daemon, stop_daemon

GOAL_HELP_S = 0.3
GOAL_COMMAND_S = 0.15  # whoami, chat send
PASSWORD = "bench password 1"


def time_once(cmd: list[str], env: dict[str, str]) -> float:
    # Run from the tree measured (PYTHONPATH), or from a neutral place: `python -m` puts the
    # working directory first on the path, which would load whichever checkout the bench ran in.
    cwd = env.get("PYTHONPATH") or tempfile.gettempdir()
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=cwd)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        stderr = proc.stderr.decode(errors="replace").strip()
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}: {stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per command (default 7)")
    parser.add_argument("--baseline", type=Path, help="another checkout to time side by side")
    args = parser.parse_args()
    runs = max(1, args.runs)
    trees = {"": Path(__file__).resolve().parent.parent}
    if args.baseline is not None:
        if not (args.baseline / "coope" / "__main__.py").exists():
            raise SystemExit(f"{args.baseline} is not a checkout of coope")
        trees["before: "] = args.baseline.resolve()

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

            room = subprocess.run(
                [coope, "chat", "room", "create", "bench", "--json"], capture_output=True, env=env
            )
            if room.returncode != 0:
                raise SystemExit(f"room create failed: {room.stderr.decode().strip()}")
            libraries = "import asyncio, pydantic, rich.console, typer"
            commands: dict[str, tuple[list[str], dict[str, str]]] = {
                "python -c pass": ([sys.executable, "-c", "pass"], env),
                "libraries alone": ([sys.executable, "-c", libraries], env),
            }
            for label, tree in trees.items():
                compileall.compile_dir(tree / "coope", quiet=1)
                # One launcher for every tree: `python -m coope` with the tree first on the path.
                launcher = [sys.executable, "-m", "coope"]
                tree_env = {**env, "PYTHONPATH": str(tree)}
                commands[f"{label}coope --help"] = ([*launcher, "--help"], tree_env)
                commands[f"{label}coope whoami"] = ([*launcher, "whoami"], tree_env)
                send = [*launcher, "chat", "send", "#bench", "hello"]
                commands[f"{label}coope chat send"] = (send, tree_env)
            times: dict[str, list[float]] = {label: [] for label in commands}
            for _ in range(runs):
                for label, (cmd, cmd_env) in commands.items():
                    times[label].append(time_once(cmd, cmd_env))
        finally:
            stop_daemon(daemon)

    medians = {label: statistics.median(values) for label, values in times.items()}
    floor = medians["python -c pass"]
    print(f"coope start-up, median of {runs} runs ({sys.executable})")
    width = max(len(label) for label in times)
    print(f"{'command':<{width}} {'median s':>9} {'min s':>7} {'x python':>9}")
    for label, values in times.items():
        median = medians[label]
        print(f"{label:<{width}} {median:>9.3f} {min(values):>7.3f} {median / floor:>9.1f}")
    for label in times:
        before = medians.get(f"before: {label}")
        if before is not None:
            print(f"{label}: {medians[label] / before:.2f}x the baseline's time")
    verdict = "met" if medians["coope --help"] < GOAL_HELP_S else "NOT met"
    print(f"goal: coope --help under {GOAL_HELP_S} s: {verdict}")
    for name in ("coope whoami", "coope chat send"):
        verdict = "met" if medians[name] <= GOAL_COMMAND_S else "NOT met"
        print(f"goal: {name} at most {GOAL_COMMAND_S} s: {verdict}")


if __name__ == "__main__":
    main()
