"""`coope daemon` as a process: start-up line, clean stop, kill -9 durability, on-disk state."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest

from coope import __version__
from coope.client import CoopeClient
from coope.core.models import AuthKind, Role
from coope.core.schemas import SessionOut
from tests.helpers import AS_BACKGROUND_JOB, PASSWORD, DaemonProcess

pytestmark = pytest.mark.slow

N_SIGNUPS = 30
LISTENING = re.compile(r"^coope daemon listening on (http://127\.0\.0\.1:(\d+)) \(data in (.+)\)$")

Spawn = Callable[..., DaemonProcess]


def _close_pipes(proc: subprocess.Popen[str]) -> None:
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None and not stream.closed:
            stream.close()


def _stop(proc: subprocess.Popen[str], sig: int = signal.SIGTERM) -> tuple[int, str]:
    """Send `sig`, wait for the exit, and return the exit code with everything on stderr."""
    proc.send_signal(sig)
    code = proc.wait(20)
    err = proc.stderr.read() if proc.stderr is not None else ""
    _close_pipes(proc)
    return code, err


def _stop_daemon(daemon: DaemonProcess, sig: int = signal.SIGTERM) -> tuple[int, str]:
    """Like `_stop`, for a `DaemonProcess`, whose log is in a file rather than a pipe."""
    assert daemon.proc is not None
    code, _ = _stop(daemon.proc, sig)
    return code, daemon.stderr_text()


@pytest.fixture
def spawn() -> Iterator[Spawn]:
    """Start `coope daemon` subprocesses; whatever is still running at teardown is killed."""
    started: list[DaemonProcess] = []

    def start(data_dir: Path, *args: str, **options: Any) -> DaemonProcess:
        daemon = DaemonProcess(data_dir, *args, **options)
        started.append(daemon)
        return daemon.start()

    yield start
    for daemon in started:
        if daemon.proc is not None:
            daemon.kill()
            _close_pipes(daemon.proc)


@pytest.fixture
def raw_procs() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test starts by hand; killed at teardown if the test did not stop them."""
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        _close_pipes(proc)


def _log(stderr: str) -> list[dict[str, Any]]:
    """The daemon's JSON-lines log; every line must be one JSON object."""
    return [json.loads(line) for line in stderr.splitlines() if line.strip()]


async def test_start_serves_health_and_sigterm_stops_cleanly(spawn: Spawn, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    daemon = spawn(data_dir)
    assert daemon.proc is not None
    match = re.fullmatch(r"http://127\.0\.0\.1:(\d+)", daemon.url)
    assert match is not None, daemon.url
    assert int(match.group(1)) > 0  # --port 0 was resolved to the real port

    async with CoopeClient(daemon.url) as client:
        health = await client.health()
    assert (health.status, health.version) == ("ok", __version__)
    assert health.uptime_s >= 0

    code, stderr = _stop_daemon(daemon, signal.SIGTERM)
    assert code == 0, stderr
    entries = _log(stderr)
    messages = [e["msg"] for e in entries]
    assert messages[-1] == "stopped", messages
    assert messages.index("listening") < messages.index("shutting down") < messages.index("stopped")
    listening = entries[messages.index("listening")]
    assert (listening["url"], listening["data_dir"]) == (daemon.url, str(data_dir))
    health_logs = [e for e in entries if e.get("path") == "/api/v1/health"]
    assert [(e["method"], e["status"]) for e in health_logs] == [("GET", 200)]
    assert all(e["level"] != "error" for e in entries), stderr


async def test_sigint_also_stops_cleanly(spawn: Spawn, tmp_path: Path) -> None:
    daemon = spawn(tmp_path / "data")
    assert daemon.proc is not None
    code, stderr = _stop_daemon(daemon, signal.SIGINT)
    assert code == 0, stderr
    assert [e["msg"] for e in _log(stderr)][-1] == "stopped"


async def test_a_daemon_started_as_a_background_job_still_stops_on_sigint(
    spawn: Spawn, tmp_path: Path
) -> None:
    # A script's `coope daemon &` starts it with SIGINT ignored; Ctrl-C works all the same.
    daemon = spawn(tmp_path / "data", launcher=AS_BACKGROUND_JOB)
    assert daemon.proc is not None
    code, stderr = _stop_daemon(daemon, signal.SIGINT)
    assert code == 0, stderr
    assert [e["msg"] for e in _log(stderr)][-2:] == ["shutting down", "stopped"]


async def _signup(url: str, username: str) -> SessionOut:
    async with CoopeClient(url) as client:
        return await client.auth.signup(username, PASSWORD)


@pytest.mark.timeout(180)  # 30 signups at the real password-hashing cost, two daemons
async def test_acknowledged_signups_survive_kill_9(spawn: Spawn, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    daemon = spawn(data_dir)
    assert daemon.proc is not None
    names = [f"user{i:02d}" for i in range(N_SIGNUPS)]

    # Every signup that returns without error was acknowledged by the daemon.
    sessions = await asyncio.gather(*(_signup(daemon.url, name) for name in names))
    assert sorted(s.user.username for s in sessions) == names
    admins = [s for s in sessions if s.first_user]
    assert len(admins) == 1, "exactly one concurrent signup is the daemon's first account"
    assert admins[0].user.role is Role.ADMIN
    assert all(s.user.role is Role.USER for s in sessions if not s.first_user)

    daemon.kill()  # SIGKILL: no shutdown, no checkpoint, no clean close
    assert daemon.proc.returncode == -signal.SIGKILL
    # The data were only in the write-ahead log when the process died.
    assert (data_dir / "coope.db-wal").exists()

    restarted = spawn(data_dir)
    async with CoopeClient(restarted.url) as admin:
        await admin.auth.login(admins[0].user.username, PASSWORD)
        page = await admin.admin.users(limit=500)
    assert page.total == N_SIGNUPS
    assert sorted(u.username for u in page.users) == names
    # Acknowledged sessions were on disk too: one from before the kill still works.
    async with CoopeClient(restarted.url, sessions[-1].token) as client:
        me = await client.auth.whoami()
    assert me.user.username == sessions[-1].user.username


async def test_data_dir_is_private_and_sessions_outlive_a_restart(
    spawn: Spawn, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    daemon = spawn(data_dir)
    assert daemon.proc is not None
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    # The signing secret is in the database, shared by every daemon on it: not a file.
    assert not (data_dir / "jwt-secret").exists()

    async with CoopeClient(daemon.url) as client:
        session = await client.auth.signup("keeper", PASSWORD)
    code, stderr = _stop_daemon(daemon)
    assert code == 0, stderr

    restarted = spawn(data_dir)
    async with CoopeClient(restarted.url, session.token) as client:
        me = await client.auth.whoami()
    assert (me.user.username, me.auth) == ("keeper", AuthKind.SESSION)
    assert me.expires_at == session.expires_at


async def test_the_secret_file_of_an_older_daemon_keeps_signing(
    spawn: Spawn, tmp_path: Path
) -> None:
    """Sessions signed with an older daemon's secret file stay valid: its secret is the one
    the database takes."""
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)
    older = os.urandom(32)
    (data_dir / "jwt-secret").write_text(older.hex())
    daemon = spawn(data_dir)
    async with CoopeClient(daemon.url) as client:
        session = await client.auth.signup("keeper", PASSWORD)
    claims = jwt.decode(session.token, older, algorithms=["HS256"], options={"verify_iss": False})
    assert claims["sub"] == str(session.user.id)
    code, stderr = _stop_daemon(daemon)
    assert code == 0, stderr


def _env_without_data_dir(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"COOPE_DATA_DIR", "XDG_DATA_HOME"}}
    return {**env, **extra}


async def test_xdg_data_home_is_the_default_data_dir(
    tmp_path: Path, raw_procs: list[subprocess.Popen[str]]
) -> None:
    home, xdg = tmp_path / "home", tmp_path / "xdg"
    home.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "coope", "daemon", "--port", "0", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env_without_data_dir(HOME=str(home), XDG_DATA_HOME=str(xdg)),
    )
    raw_procs.append(proc)
    assert proc.stdout is not None
    first_line = proc.stdout.readline().rstrip("\n")
    match = LISTENING.match(first_line)
    assert match is not None, (first_line, proc.poll())
    url, data_dir = match.group(1), Path(match.group(3))
    assert data_dir == xdg / "coope"

    async with CoopeClient(url) as client:
        await client.auth.signup("xdguser", PASSWORD)
    code, stderr = _stop(proc)
    assert code == 0, stderr
    assert "coope.db" in {p.name for p in data_dir.iterdir()}
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert not (home / ".local").exists()


async def test_data_dir_flag_wins_over_xdg_data_home(spawn: Spawn, tmp_path: Path) -> None:
    xdg = tmp_path / "xdg"
    daemon = spawn(tmp_path / "explicit", env={"XDG_DATA_HOME": str(xdg)})
    assert daemon.proc is not None
    async with CoopeClient(daemon.url) as client:
        assert (await client.health()).status == "ok"
    code, stderr = _stop_daemon(daemon)
    assert code == 0, stderr
    assert (tmp_path / "explicit" / "coope.db").exists()
    assert not xdg.exists()
