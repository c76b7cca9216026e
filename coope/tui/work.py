"""`Spawn`: how the TUI's controllers hand their I/O to the app (`CoopeApp.spawn`)."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, Protocol


class Spawn(Protocol):
    """Run `work` as a worker of the app; one of a `group` replaces the one before it. A
    `CoopeError` it raises becomes a notification."""

    def __call__(self, work: Coroutine[Any, Any, Any], group: str | None = None) -> None: ...
