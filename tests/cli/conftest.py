"""One daemon subprocess per CLI test module; a fresh config dir per simulated person."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.cli.clitools import Cli
from tests.helpers import DaemonProcess


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with DaemonProcess(tmp_path_factory.mktemp("daemon") / "data").running() as daemon:
        yield daemon.url


@pytest.fixture(scope="module")
def make_cli(server: str, tmp_path_factory: pytest.TempPathFactory) -> Callable[[], Cli]:
    def make() -> Cli:
        return Cli(server, tmp_path_factory.mktemp("config"))

    return make
