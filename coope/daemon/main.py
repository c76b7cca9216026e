"""Run the daemon until SIGINT or SIGTERM, then shut down with every acknowledged write on disk.

SIGUSR1 drains it (`coope daemon --drain` sends it): no new calls start here, and it stops once
its last call ends. Its process id is in the data dir's `daemon.pid` while it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import ssl

from aiohttp import web

from coope.daemon.app import create_app
from coope.daemon.config import DaemonConfig
from coope.daemon.http.keys import CALLS
from coope.daemon.logs import AccessLogger, configure_logging

log = logging.getLogger("coope.daemon")

PID_FILE = "daemon.pid"


def _ssl_context(config: DaemonConfig) -> ssl.SSLContext | None:
    if config.tls_cert is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(config.tls_cert, config.tls_key)
    return context


async def serve(config: DaemonConfig) -> None:
    app = create_app(config)
    runner = web.AppRunner(app, access_log_class=AccessLogger, handle_signals=False)
    await runner.setup()
    context = _ssl_context(config)
    site = web.TCPSite(runner, config.host, config.port, ssl_context=context)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    async def drain() -> None:
        await app[CALLS].drain()
        log.info("drained: the last call here ended")
        stop.set()

    draining: list[asyncio.Task[None]] = []  # held: a task nobody holds may be collected

    def start_draining() -> None:
        if not draining:  # once, however often it is asked
            draining.append(asyncio.ensure_future(drain()))

    loop.add_signal_handler(signal.SIGUSR1, start_draining)
    pid_file = config.data_dir / PID_FILE
    try:
        await site.start()
        port = runner.addresses[0][1]
        scheme = "https" if context else "http"
        url = f"{scheme}://{config.host}:{port}"
        log.info("listening", extra={"url": url, "data_dir": str(config.data_dir)})
        # One line on stdout for people and for scripts that start the daemon on port 0.
        pid_file.write_text(f"{os.getpid()}\n")
        print(f"coope daemon listening on {url} (data in {config.data_dir})", flush=True)
        await stop.wait()
        log.info("shutting down")
    finally:
        await runner.cleanup()
        with contextlib.suppress(OSError, ValueError):
            if int(pid_file.read_text()) == os.getpid():  # not that of a daemon started since
                pid_file.unlink()
        log.info("stopped")


def run(config: DaemonConfig, *, log_level: str = "info", log_format: str = "text") -> None:
    configure_logging(log_level, log_format)
    asyncio.run(serve(config))
