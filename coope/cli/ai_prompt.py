"""The `you>` prompt of `coope ai chat`: line editing and the lines typed in earlier chats.

The standard library's `readline` edits the line (arrows, Ctrl-A/E, Ctrl-R to search) and
keeps what was typed in `<data dir>/ai-chat-input.history` (mode 0600, like the chat history:
it is what the person typed), the newest `HISTORY_LENGTH` lines. Each line is appended as it is
entered, so two chats at once keep both theirs. Where `readline` is missing, the prompt is a
plain one.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType

HISTORY_FILE = "ai-chat-input.history"
HISTORY_LENGTH = 1000
# Around escape codes in a prompt, so that readline does not count them as columns.
_INVISIBLE_START, _INVISIBLE_END = "\001", "\002"


def default_history_path() -> Path:
    from coope.notes.settings import data_dir

    return data_dir() / HISTORY_FILE


class Prompt:
    """Reads lines at the terminal with editing and a kept history (`ask`)."""

    def __init__(self, path: Path | None = None, *, styled: bool = True) -> None:
        self.path = path if path is not None else default_history_path()
        self._styled = styled
        self._readline = _readline()
        if self._readline is not None:
            self._load(self._readline)

    def _load(self, readline: ModuleType) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
        # A file made before (by hand, by an older version) is made private too.
        os.chmod(self.path, 0o600)
        readline.set_history_length(HISTORY_LENGTH)
        try:
            readline.read_history_file(self.path)
            readline.write_history_file(self.path)  # trimmed to the newest HISTORY_LENGTH
        except OSError:
            pass  # an unreadable history is only a convenience lost: the chat goes on

    def ask(self, label: str = "you> ") -> str:
        """A line typed by the person (EOFError at the end of input, KeyboardInterrupt on
        Ctrl-C), kept in the history unless it is blank."""
        line = input(self._prompt(label))
        if self._readline is not None and line.strip():
            try:
                self._readline.append_history_file(1, self.path)
            except (OSError, AttributeError):  # AttributeError: an old libedit without it
                pass
        return line

    def _prompt(self, label: str) -> str:
        if not self._styled:
            return label
        bold = f"{_INVISIBLE_START}\033[1m{_INVISIBLE_END}"
        reset = f"{_INVISIBLE_START}\033[0m{_INVISIBLE_END}"
        return f"{bold}{label.rstrip()}{reset} "


def _readline() -> ModuleType | None:
    import sys

    if not sys.stdin.isatty():
        return None  # lines from a pipe: nothing to edit, nothing worth keeping
    try:
        import readline
    except ImportError:  # Python built without it
        return None
    return readline
