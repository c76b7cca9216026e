"""One place for output: Rich for people, JSON for scripts, `error: ...` on stderr.

Rich is imported on first use, not at start, so `coope --help` stays fast.
"""

from __future__ import annotations

import json
import sys
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "emit_json",
    "error",
    "escape",
    "info",
    "print_renderable",
    "success",
    "table",
    "warning",
]


@cache
def _console(stderr: bool) -> Console:
    from rich.console import Console

    # emoji=False: a name like "bot:smile:" is printed as typed, not turned into a picture.
    return Console(stderr=stderr, highlight=False, soft_wrap=True, emoji=False)


def escape(text: str) -> str:
    """Make user-supplied text safe to embed in Rich markup."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def to_jsonable(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    return value


def emit_json(value: Any) -> None:
    sys.stdout.write(json.dumps(to_jsonable(value), indent=2) + "\n")


def success(message: str) -> None:
    _console(False).print(f"[green]✓[/green] {escape(message)}")


def info(message: str) -> None:
    """Print text that may carry Rich markup; escape user-supplied parts before passing them."""
    _console(False).print(message)


def warning(message: str) -> None:
    _console(True).print(f"[yellow]warning:[/yellow] {escape(message)}")


def error(message: str) -> None:
    _console(True).print(f"[red]error:[/red] {escape(message)}")


def table(columns: list[str], rows: list[list[str]], title: str | None = None) -> None:
    from rich.table import Table

    grid = Table(*columns, title=title, title_justify="left")
    for row in rows:
        grid.add_row(*(escape(cell) for cell in row))
    _console(False).print(grid)


def print_renderable(renderable: Any) -> None:
    """Print something Rich knows how to draw (a Table, a Panel...)."""
    _console(False).print(renderable)
