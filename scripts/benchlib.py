"""What the benchmarks share: a throw-away `coope daemon` subprocess on a free port."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path


def start_daemon(
    data_dir: Path, env: dict[str, str] | None = None, *args: str
) -> tuple[subprocess.Popen[str], str]:
    """Start `coope daemon` on a free loopback port; return the process and its URL."""
    cmd = [
        sys.executable,
        "-m",
        "coope",
        "daemon",
        "--port",
        "0",
        "--data-dir",
        str(data_dir),
        *args,
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "listening on " not in line:
        stop_daemon(proc)
        raise SystemExit(f"the daemon did not start (first line: {line!r})")
    return proc, line.split("listening on ", 1)[1].split()[0]


def stop_daemon(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    if proc.stdout is not None:
        proc.stdout.close()
