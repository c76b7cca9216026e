"""coope daemon: run the daemon in the foreground."""

from __future__ import annotations

import os
import signal
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer


class Signup(StrEnum):
    open = "open"
    closed = "closed"


class LogLevel(StrEnum):
    debug = "debug"
    info = "info"
    warning = "warning"


def daemon(
    host: Annotated[
        str,
        typer.Option(
            envvar="COOPE_HOST",
            show_envvar=True,
            show_default=True,
            help="Address to listen on; 0.0.0.0 for every interface.",
        ),
    ] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option(
            envvar="COOPE_PORT",
            show_envvar=True,
            min=0,
            max=65535,
            show_default=True,
            help="Port to listen on; 0 picks a free one (the first line printed names the URL).",
        ),
    ] = 8765,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            envvar="COOPE_DATA_DIR",
            show_envvar=True,
            metavar="DIR",
            help="Where the database, keys and uploads live; created if missing."
            " Default: $XDG_DATA_HOME/coope, that is ~/.local/share/coope.",
        ),
    ] = None,
    database: Annotated[
        str | None,
        typer.Option(
            envvar="COOPE_DATABASE_URL",
            show_envvar=True,
            metavar="URL",
            help="A PostgreSQL database (postgresql://USER@HOST/DB) shared by every daemon"
            " serving as one, instead of the SQLite file in the data dir. The schema is created"
            " or upgraded at start.",
        ),
    ] = None,
    redis: Annotated[
        str | None,
        typer.Option(
            envvar="COOPE_REDIS_URL",
            show_envvar=True,
            metavar="URL",
            help="A Redis server (redis://HOST:6379/0) that the daemons serving as one share:"
            " events, who is online, failed logins, where each call runs. Give each the same"
            " --database and its own --ice-host. Services sharing one Redis keep apart with"
            " COOPE_REDIS_PREFIX (default coope:).",
        ),
    ] = None,
    tls_cert: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="Serve HTTPS (and WSS) with this PEM certificate (with its chain); needs"
            " --tls-key. Without both, plain HTTP: put a TLS proxy in front for a network.",
        ),
    ] = None,
    tls_key: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="The PEM private key of --tls-cert."),
    ] = None,
    signup: Annotated[
        Signup,
        typer.Option(
            envvar="COOPE_SIGNUP",
            show_envvar=True,
            show_default=True,
            help="closed: only admins create accounts (the first is always allowed).",
        ),
    ] = Signup.open,
    ice_host: Annotated[
        list[str] | None,
        typer.Option(
            metavar="ADDR",
            help="Address to offer call media on (repeatable). 127.0.0.1 for calls on this"
            " machine, the LAN address for a LAN; default: every non-loopback address.",
        ),
    ] = None,
    ice_ports: Annotated[
        str | None,
        typer.Option(
            metavar="LOW-HIGH",
            help="UDP ports for call media, e.g. 40000-40199 (one per participant and ICE"
            " address), for a firewall; default: any free port.",
        ),
    ] = None,
    ice_server: Annotated[
        list[str] | None,
        typer.Option(
            metavar="URL",
            help="A stun: or turn: URL for calls behind NAT (repeatable); TURN credentials come"
            " from COOPE_TURN_USERNAME and COOPE_TURN_PASSWORD. Browsers get the same list.",
        ),
    ] = None,
    trusted_proxy: Annotated[
        list[str] | None,
        typer.Option(
            envvar="COOPE_TRUSTED_PROXY",
            show_envvar=True,
            metavar="ADDR",
            help="A reverse proxy in front of the daemon: an IP or CIDR range (repeatable; the"
            " variable takes several separated by spaces or commas). Only requests from these"
            " take the client address from X-Forwarded-For (for login limiting); anyone"
            " else's X-Forwarded-For is ignored.",
        ),
    ] = None,
    drain: Annotated[
        bool,
        typer.Option(
            "--drain",
            help="Drain the daemon running on this data dir instead of starting one: it starts"
            " no new calls (the daemons serving with it do) and stops once its last call ends;"
            " waits until it has. For rolling upgrades.",
        ),
    ] = False,
    log_level: Annotated[
        LogLevel, typer.Option(show_default=True, help="How much the daemon logs (stderr).")
    ] = LogLevel.info,
    json: Annotated[bool, typer.Option("--json", help="Log JSON lines instead of text.")] = False,
) -> None:
    """Run the coope daemon (Ctrl-C or SIGTERM stops it cleanly)."""
    if drain:
        _drain(data_dir.expanduser() if data_dir else None)
        return
    if (tls_cert is None) != (tls_key is None):
        raise typer.BadParameter("--tls-cert and --tls-key go together")
    for url in ice_server or []:
        if not url.startswith(("stun:", "turn:", "turns:")):
            raise typer.BadParameter(f"{url!r} is not a stun:, turn: or turns: URL")
    if database is not None and not database.startswith(("postgresql://", "postgres://")):
        raise typer.BadParameter("not a postgresql:// URL", param_hint="--database")
    if redis is not None and not redis.startswith(("redis://", "rediss://", "unix://")):
        raise typer.BadParameter("not a redis://, rediss:// or unix:// URL", param_hint="--redis")
    ports = _port_range(ice_ports) if ice_ports else None
    # The daemon's stack is imported only here, so other commands start fast.
    from coope.daemon.config import DaemonConfig, SignupPolicy, parse_networks
    from coope.daemon.main import run

    try:
        proxies = parse_networks(
            part for value in trusted_proxy or [] for part in value.replace(",", " ").split()
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--trusted-proxy") from None

    config = DaemonConfig.from_env(
        host=host,
        port=port,
        data_dir=data_dir.expanduser() if data_dir else None,
        tls_cert=tls_cert,
        tls_key=tls_key,
        signup=SignupPolicy(signup.value),
        ice_hosts=tuple(ice_host) if ice_host else None,
        ice_ports=ports,
        ice_servers=tuple(ice_server) if ice_server else None,
        trusted_proxies=proxies or None,
        database_url=database,
        redis_url=redis,
    )
    run(config, log_level=log_level.value, log_format="json" if json else "text")


def _drain(data_dir: Path | None) -> None:
    from coope.cli import output
    from coope.cli.runtime import handled_errors
    from coope.core.errors import NotFound
    from coope.daemon.config import default_data_dir
    from coope.daemon.main import PID_FILE

    pid_file = (data_dir or default_data_dir()) / PID_FILE
    with handled_errors():
        try:
            pid = int(pid_file.read_text())
            os.kill(pid, signal.SIGUSR1)
        except (OSError, ValueError):
            raise NotFound(f"no daemon runs on {pid_file.parent} (see its {PID_FILE})") from None
        output.note(f"draining the daemon (process {pid}): it stops when its last call ends")
        while _alive(pid):
            time.sleep(0.5)
        output.note("it stopped")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's: there all the same
    return True


def _port_range(text: str) -> tuple[int, int]:
    low, sep, high = text.partition("-")
    try:
        ports = (int(low), int(high if sep else low))
    except ValueError:
        ports = (0, 0)
    if not 1024 <= ports[0] <= ports[1] <= 65535:
        raise typer.BadParameter(
            f"{text!r} is not a port range like 40000-40199 (from 1024 to 65535)",
            param_hint="--ice-ports",
        )
    return ports
