"""A chat message written at the terminal: in the person's editor, or typed at a prompt.

Blocking (an editor, a read of the terminal): `chat send` runs it in a thread.
"""

from __future__ import annotations

import os
import sys

from coope.cli import output
from coope.core.errors import InvalidInput


def composed(room: str) -> str:
    """The message a person writes for `room`: in $VISUAL / $EDITOR when one is set, else
    typed at the terminal until Ctrl-D. Only the trailing line breaks are dropped.

    Raises:
        InvalidInput: nothing but blanks was written (nothing is sent).
        EditorFailed: the editor could not start, failed, or left text that is not UTF-8.
    """
    if os.environ.get("VISUAL") or os.environ.get("EDITOR"):
        from coope.client.editor import edited_text

        text = edited_text("", "message.md")
    else:
        output.note(f"your message to {room}: end it with Ctrl-D on a line of its own")
        text = sys.stdin.read()
    body = text.rstrip("\n")
    if not body.strip():
        raise InvalidInput("the message is empty: nothing sent")
    return body
