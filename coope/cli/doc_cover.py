"""coope doc cover: set, fetch or remove a page's cover image.

`coope doc cover PAGE FILE` and `coope doc cover PAGE --clear` stay what they always were (the
`set` command, taken when the first word names no other command); `coope doc cover get PAGE -o
FILE` saves the image. A page titled `get` or `set` is named after the command: `coope doc cover
set get FILE`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from coope.cli import output, runtime
from coope.cli.args import PageArg
from coope.cli.pages import page_title, show_page
from coope.core.errors import InvalidInput, PayloadTooLarge
from coope.core.rules import COVER_MAX_BYTES, COVER_MAX_MB

if TYPE_CHECKING:
    from coope.client import CoopeClient

# The daemon's limit, checked here first so that a file too large is refused before it is
# sent, in the words of the help.
TOO_LARGE = f"a cover can be at most {COVER_MAX_MB} MB"


class _SetUnlessNamed(TyperGroup):
    """A group whose words, unless the first names one of its commands or asks for help, are
    those of `set`: `doc cover --clear PAGE` and `doc cover --json PAGE FILE` included.

    Decided before the group parses its own options, which `set`'s (`--clear`, `--json`) are
    not: after that, an option first would already be refused as unknown."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["set", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_SetUnlessNamed,
    help="A page's cover image: `doc cover PAGE FILE` sets it, `doc cover PAGE --clear`"
    " removes it, `doc cover get PAGE -o FILE` saves it. For a page titled `get` or `set`,"
    " name the command: `doc cover set PAGE FILE`.",
    no_args_is_help=True,
)


@app.command("set")
@runtime.command
async def set_(
    client: CoopeClient,
    json: bool,
    page: PageArg,
    file: Annotated[
        Path | None,
        typer.Argument(
            metavar="FILE", help=f"A PNG, JPEG, GIF or WebP image (at most {COVER_MAX_MB} MB)."
        ),
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove the cover.")] = False,
) -> None:
    """Set a page's cover image, or remove it with --clear (also: `doc cover PAGE FILE`)."""
    if (file is None) == (not clear):
        raise typer.BadParameter("give an image FILE or --clear (one of them)")
    image = _cover_file(file) if file is not None else b""
    target = await client.pages.resolve(page)
    if clear:
        updated = await client.pages.clear_cover(target.id)
    else:
        try:
            updated = await client.pages.set_cover(target.id, image)
        except PayloadTooLarge as exc:  # a daemon with a lower limit than this one knows
            raise InvalidInput(f"{exc.message} (this image is {_megabytes(len(image))})") from None
    show_page(updated, json, "cover removed" if clear else "cover set")


@app.command()
@runtime.command
async def get(
    client: CoopeClient,
    json: bool,
    page: PageArg,
    out: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Save the image here (default: standard output, when it is not a terminal).",
        ),
    ] = None,
) -> None:
    """Save a page's cover image (as the daemon keeps it: PNG, JPEG or WebP)."""
    if out is None and (json or sys.stdout.isatty()):
        why = "--json prints a report" if json else "the image would go to the terminal"
        raise typer.BadParameter(f"give -o FILE ({why}), or redirect standard output")
    target = await client.pages.resolve(page)
    image = await client.pages.cover(target.id)
    if out is None:
        sys.stdout.buffer.write(image)
        sys.stdout.flush()
        return
    try:
        out.write_bytes(image)
    except OSError as exc:
        raise InvalidInput(f"cannot write {out}: {exc.strerror or exc}") from None
    report: dict[str, Any] = {"page_id": target.id, "file": str(out), "bytes": len(image)}
    output.done(json, report, f"cover of {page_title(target)} saved to {out}")


def _cover_file(path: Path) -> bytes:
    """The image in `path`, refused before it is read when its size is known to be too large;
    from a device or a pipe, which have no size, no more than the limit is read."""
    try:
        size = path.stat().st_size
    except OSError:
        size = 0  # reading it says why it cannot be read
    if size > COVER_MAX_BYTES:
        raise InvalidInput(f"{TOO_LARGE} ({path} is {_megabytes(size)})")
    return output.read_bytes(path, limit=COVER_MAX_BYTES, too_large=TOO_LARGE)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"
