"""One place for output: Rich for people, JSON for scripts, `error: ...` on stderr.

What a command produces goes to standard output; what only decorates it for a person (the
"✓ created" lines, remarks, warnings, errors) goes to standard error, so that
`TOK=$(coope token create bot)` captures the secret alone. Tables are drawn for a terminal, and
plain in a pipe or with `--plain`: a header line, then one tab-separated line per row, never cut
to the terminal's width. With `--json`, errors are JSON too.

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
    "configure",
    "emit_json",
    "error",
    "failure",
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


class _Mode:
    """How this command's output looks, set once from its options (`configure`)."""

    json = False
    plain = False


def configure(*, json: bool = False, plain: bool = False) -> None:
    """Set from the command's `--json` and `--plain` before it prints anything."""
    _Mode.json, _Mode.plain = json, plain


def plain() -> bool:
    """Whether tables are drawn plain: asked for, or standard output is not a terminal."""
    return _Mode.plain or not sys.stdout.isatty()


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
    """A done thing told to a person: on stderr, beside the output, never mixed into it."""
    _console(True).print(f"[green]✓[/green] {escape(message)}")


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


def failure(code: str, message: str, exit_code: int) -> None:
    """A command's failure on stderr: `error: message`, or with `--json` one JSON line
    `{"error": {"code", "message", "exit"}}` (a script reads why, not only that)."""
    if _Mode.json:
        body = {"error": {"code": code, "message": message, "exit": exit_code}}
        sys.stderr.write(json.dumps(body) + "\n")
    else:
        error(message)


def table(columns: list[str], rows: list[list[str]], title: str | None = None) -> None:
    """Rows under their column names: a Rich table on a terminal, tab-separated when plain."""
    if plain():
        if title:
            note(title)
        _write_plain(columns, rows)
        return
    from rich.table import Table

    grid = Table(*columns, title=title, title_justify="left")
    for row in rows:
        grid.add_row(*(escape(cell) for cell in row))
    _console(False).print(grid)


def _write_plain(columns: list[str], rows: Iterable[list[str]]) -> None:
    """Header, then rows: one line each, cells split by tabs. A tab or line break inside a cell
    is shown as its symbol (␉, ␊), as other control characters are, so that every row stays
    one line of as many cells as the header and the rest of the text is as typed."""

    def cell(text: str) -> str:
        return visible(text).replace("\t", "\u2409").replace("\n", "\u240a")

    for line in [columns, *rows]:
        sys.stdout.write("\t".join(cell(c) for c in line) + "\n")


def print_renderable(renderable: Any) -> None:
    """Print something Rich knows how to draw (a Table, a Panel...).

    Build it from `visible` text so that widths come out right; what was missed is still shown,
    not obeyed. A Rich `Table` is written plain when tables are (`table`).
    """
    from rich.table import Table

    if isinstance(renderable, Table) and plain():
        _write_plain(*_table_cells(renderable))
        return
    _console(False).print(_Shown(renderable))


def _table_cells(grid: Any) -> tuple[list[str], list[list[str]]]:
    """A Rich table's header and rows as plain text (its markup read, its styles dropped)."""
    from rich.text import Text

    def text(renderable: Any) -> str:
        if isinstance(renderable, Text):
            return renderable.plain
        return Text.from_markup(renderable).plain if isinstance(renderable, str) else ""

    header = [text(column.header) for column in grid.columns]
    columns = [[text(c) for c in column.cells] for column in grid.columns]
    return header, [list(row) for row in zip(*columns, strict=True)]


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
    there are none (Rich markup: escape the daemon's text in it). Plain, none is the header
    alone on stdout, and `empty` goes to stderr: a script reading the rows reads no row."""
    if json:
        emit_json(items)
    elif not items and plain():
        _write_plain(columns, [])
        _console(True).print(visible(empty))
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


def read_bytes(path: str | Path, *, limit: int | None = None, too_large: str = "") -> bytes:
    """A file's bytes, or a coope error saying why not. With `limit`, at most that many bytes
    are read, whatever the file is (a device or a pipe has no size to check first), and more
    is `PayloadTooLarge(too_large)`."""
    from pathlib import Path

    from coope.core.errors import PayloadTooLarge

    with _reading(path), Path(path).open("rb") as file:
        data = file.read() if limit is None else file.read(limit + 1)
    if limit is not None and len(data) > limit:
        raise PayloadTooLarge(too_large or f"{path} is larger than {limit:,} bytes")
    return data


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
