"""One place for output: Rich for people, JSON for scripts, `error: ...` on stderr.

Text from the daemon (names, titles, messages, statuses) is untrusted: every helper here shows
its control characters instead of letting them steer the terminal (`visible`). JSON escapes them.

Rich is imported on first use, not at start, so `coope --help` stays fast.
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, Any

from coope.core.rules import visible

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence
    from datetime import datetime
    from pathlib import Path

    from rich.console import Console, ConsoleOptions, RenderResult

__all__ = [
    "confirm_or_refuse",
    "done",
    "emit_json",
    "error",
    "escape",
    "info",
    "listing",
    "local_time",
    "print_renderable",
    "read_bytes",
    "read_text",
    "success",
    "table",
    "text_or_stdin",
    "visible",
    "warning",
    "write_data",
]


@cache
def _console(stderr: bool) -> Console:
    from rich.console import Console

    # emoji=False: a name like "bot:smile:" is printed as typed, not turned into a picture.
    return Console(stderr=stderr, highlight=False, soft_wrap=True, emoji=False)


def escape(text: str) -> str:
    """Make user-supplied text safe to embed in Rich markup (and its control characters visible)."""
    from rich.markup import escape as rich_escape

    return rich_escape(visible(text))


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
    _console(False).print(visible(message))


def warning(message: str) -> None:
    _console(True).print(f"[yellow]warning:[/yellow] {escape(message)}")


def note(message: str) -> None:
    """A remark on stderr, beside the output (dim; Rich markup is not read)."""
    _console(True).print(f"[dim]{escape(message)}[/dim]")


def error(message: str) -> None:
    _console(True).print(f"[red]error:[/red] {escape(message)}")


def table(columns: list[str], rows: list[list[str]], title: str | None = None) -> None:
    from rich.table import Table

    grid = Table(*columns, title=title, title_justify="left")
    for row in rows:
        grid.add_row(*(escape(cell) for cell in row))
    _console(False).print(grid)


def print_renderable(renderable: Any) -> None:
    """Print something Rich knows how to draw (a Table, a Panel...).

    Build it from `visible` text so that widths come out right; what was missed is still shown,
    not obeyed.
    """
    _console(False).print(_Shown(renderable))


def write_data(text: str) -> None:
    """Write text as it is (Markdown, a transcript) to standard output: byte for byte into a pipe
    or a file, with control characters made visible on a terminal."""
    sys.stdout.write(visible(text) if sys.stdout.isatty() else text)


class _Shown:
    """A renderable drawn with the control characters of its text made visible."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.segment import Segment

        for segment in console.render(self.inner, options):
            if segment.control:  # Rich's own cursor moves, not text
                yield segment
            else:
                yield Segment(visible(segment.text), segment.style)


# --- what many commands do alike: report, list, ask, read --------------------------------------


def done(json: bool, data: Any, message: str) -> None:
    """A command's outcome: `data` as JSON for a script, or `message` as a success line."""
    if json:
        emit_json(data)
    else:
        success(message)


def listing(
    json: bool,
    items: Sequence[Any],
    columns: list[str],
    rows: Iterable[list[str]],
    *,
    empty: str,
) -> None:
    """`items` as JSON for a script; for a person, a table of `rows`, or the line `empty` when
    there are none (Rich markup: escape the daemon's text in it)."""
    if json:
        emit_json(items)
    elif not items:
        info(empty)
    else:
        table(columns, list(rows))


def local_time(value: datetime | None, empty: str = "-") -> str:
    """A moment in the local time zone, to the minute; `empty` for none."""
    return value.astimezone().strftime("%Y-%m-%d %H:%M") if value is not None else empty


def confirm_or_refuse(yes: bool, question: str, flag: str = "--yes") -> None:
    """Go on if `flag` was given or a person at a terminal said yes; refuse otherwise.

    Without a terminal nobody can answer: a script is told to pass `flag` (an error), not left
    waiting. A person who says no ends the command with exit code 1 and "nothing done".
    """
    import typer

    from coope.core.errors import InvalidInput

    if yes:
        return
    if not sys.stdin.isatty():
        raise InvalidInput(f"not asking for confirmation without a terminal: pass {flag}")
    if not typer.confirm(question, default=False):
        info("nothing done")
        raise typer.Exit(1)


def read_text(path: str) -> str:
    """A UTF-8 text file's content ('-': standard input), or a coope error saying why not."""
    from pathlib import Path

    from coope.core.errors import InvalidInput

    if path == "-":
        return sys.stdin.read()
    with _reading(path):
        try:
            return Path(path).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise InvalidInput(f"{path} is not UTF-8 text") from None


def read_bytes(path: str | Path) -> bytes:
    """A file's bytes, or a coope error saying why not."""
    from pathlib import Path

    with _reading(path):
        return Path(path).read_bytes()


@contextmanager
def _reading(path: str | Path) -> Iterator[None]:
    """A file that cannot be read as a coope error: missing, a folder, no permission..."""
    from coope.core.errors import InvalidInput, NotFound

    try:
        yield
    except FileNotFoundError:
        raise NotFound(f"no file {path}") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from None


def text_or_stdin(text: str | None) -> str:
    """`text` as given, or standard input without its last line break when `text` is None or
    '-' (`coope doc append PAGE < file`)."""
    if text is None or text == "-":
        return sys.stdin.read().rstrip("\n")
    return text
