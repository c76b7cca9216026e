"""Text edited in the person's own editor ($VISUAL, $EDITOR, else vi): a page's Markdown, a
chat message.

Shared by `coope doc edit`, `coope chat send` and the TUI: each hands the text over, waits for
the editor to exit and takes back what the person left in the file. Blocking: call it off the
event loop (a thread), or with the terminal handed over (`App.suspend()` in the TUI).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

from coope.core.errors import CoopeError


class EditorFailed(CoopeError):
    """The editor could not start or did not exit cleanly: nothing is sent."""

    code = "editor_failed"
    status = 0


def run_editor(path: Path) -> None:
    """Open `path` in the person's editor and wait for it to exit.

    Raises:
        EditorFailed: The editor command cannot be read or started, or it exited with an error.
    """
    setting = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    try:
        command = shlex.split(setting)
    except ValueError as exc:
        raise EditorFailed(f"cannot read the editor command {setting!r}: {exc}") from None
    if not command:
        raise EditorFailed("$VISUAL / $EDITOR is empty")
    try:
        done = subprocess.run([*command, str(path)], check=False)
    except OSError as exc:
        raise EditorFailed(
            f"cannot start the editor {command[0]!r}: {exc.strerror or exc}; set $VISUAL or $EDITOR"
        ) from None
    if done.returncode != 0:
        raise EditorFailed(f"the editor exited with status {done.returncode}: nothing was saved")


def edited_text(before: str, file_name: str) -> str:
    """`before` as the person left it in their editor, from a file `file_name` of its own
    (then removed) in a folder only they can read (mode 0700): what is being written is
    nobody else's to read.

    Raises:
        EditorFailed: The editor failed (see `run_editor`), or left text that is not UTF-8.
    """
    folder = Path(tempfile.mkdtemp(prefix="coope-edit-"))
    try:
        path = folder / file_name
        path.write_text(before, encoding="utf-8")
        run_editor(path)
        try:
            return path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise EditorFailed(
                "what the editor left is not UTF-8 text: nothing was saved"
            ) from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def edited(title: str, page_id: int, before: str) -> str:
    """A page's Markdown `before` as the person left it in their editor (`edited_text`)."""
    slug = "".join(ch if ch.isalnum() else "-" for ch in title)[:40].strip("-")
    return edited_text(before, f"{slug or 'page'}-{page_id}.md")
