"""How chat looks in a terminal: a message, and one change to a message (an update line).

    10:02  12 alice: the first line
                     and the next, indented under the text
    10:03  12 ✎ alice edited: the new text
    10:04  12 + 👍 by bob
    10:04  12 - 👍 by bob
    10:05  12 ✗ deleted

Text from others is untrusted: all of it goes through `output.escape`. A mention of the person
reading (`@you`) is styled; Rich draws styles on a terminal only, so a pipe gets plain text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Literal

from coope.cli import output

if TYPE_CHECKING:
    from coope.core.social_schemas import MessageOut

UpdateKind = Literal[
    "created", "edited", "deleted", "reaction_added", "reaction_removed", "updated"
]
"""What happened to a message. "updated": it changed in a way that cannot be told (a change to
a message seen for the first time), shown whole."""

MENTION_STYLE = "bold reverse"


@dataclass(frozen=True)
class Update:
    """One change to a message as a person sees it; `emoji` and `by` for reactions."""

    kind: UpdateKind
    message: MessageOut
    emoji: str | None = None
    by: str | None = None

    def to_json(self) -> dict[str, object]:
        # "change" is what scripts read before "kind" told more: created, updated or deleted.
        change = self.kind if self.kind in ("created", "deleted") else "updated"
        line: dict[str, object] = {"kind": self.kind, "change": change}
        line |= {"room_id": self.message.room_id, "seq": self.message.seq}
        if self.emoji is not None:
            line |= {"emoji": self.emoji, "by": self.by}
        line["message"] = self.message.model_dump(mode="json")
        return line


@cache
def _mention(username: str) -> re.Pattern[str]:
    # `@bob` but not `@bobby`, `me@bob.org` or `@bob-ops`; `@bob.` ends a sentence.
    return re.compile(rf"(?<![\w@.]){re.escape('@' + username)}(?![\w-]|\.\w)", re.IGNORECASE)


def body_markup(body: str, me: str | None) -> str:
    """`body` as safe markup, with each mention of `me` styled."""
    if not me:
        return output.escape(body)
    pieces, at = [], 0
    for found in _mention(me).finditer(body):
        pieces.append(output.escape(body[at : found.start()]))
        pieces.append(f"[{MENTION_STYLE}]{output.escape(found.group())}[/{MENTION_STYLE}]")
        at = found.end()
    pieces.append(output.escape(body[at:]))
    return "".join(pieces)


def _width(plain: str) -> int:
    from rich.cells import cell_len

    return cell_len(output.visible(plain))


def _hanging(first: str, first_plain: str, body: str, me: str | None) -> str:
    """`first` (markup, shown as `first_plain`) then `body`, whose later lines start under
    where its first line starts."""
    lines = body_markup(body, me).split("\n")
    indent = "\n" + " " * _width(first_plain)
    return first + indent.join(lines)


def _clock(when: datetime | None) -> str:
    return (when or datetime.now().astimezone()).astimezone().strftime("%H:%M")


def render_message(m: MessageOut, me: str | None = None) -> str:
    """The message: time, its number in the room, author, text, reactions."""
    when, author = _clock(m.created_at), output.visible(m.author)
    head = f"[dim]{when} {m.seq:>3}[/dim] [bold]{output.escape(m.author)}[/bold]"
    if m.deleted:
        return f"{head} [dim italic](deleted)[/dim italic]"
    reply = f"↪ {m.reply_to_seq} " if m.reply_to_seq is not None else ""
    first = f"{head}: " + (f"[dim]{reply}[/dim]" if reply else "")
    line = _hanging(first, f"{when} {m.seq:>3} {author}: {reply}", m.body, me)
    edited = " [dim](edited)[/dim]" if m.edited_at else ""
    reactions = "  ".join(f"{output.escape(e)} {len(who)}" for e, who in m.reactions.items())
    return line + edited + (f"  [dim]{reactions}[/dim]" if reactions else "")


def render_update(update: Update, me: str | None = None) -> str:
    """One line (more for a multi-line edit) for a change to a message."""
    m = update.message
    if update.kind == "created":
        return render_message(m, me)
    if update.kind == "updated":
        return render_message(m, me) + " [dim](changed)[/dim]"
    reacted = update.kind in ("reaction_added", "reaction_removed")
    when = _clock(None if reacted else m.edited_at)
    head = f"[dim]{when} {m.seq:>3}[/dim] "
    if update.kind == "deleted":
        return f"{head}✗ [dim italic]deleted[/dim italic]"
    if reacted:
        sign = "+" if update.kind == "reaction_added" else "-"
        emoji, by = output.escape(update.emoji or ""), output.escape(update.by or "")
        return f"{head}{sign} {emoji} [dim]by[/dim] [bold]{by}[/bold]"
    author = output.visible(m.author)
    first = f"{head}✎ [bold]{output.escape(m.author)}[/bold] edited: "
    return _hanging(first, f"{when} {m.seq:>3} ✎ {author} edited: ", m.body, me)


def with_room(line: str, label: str | None) -> str:
    """`line` marked with the room it happened in (`#team`, `@bob`) when given."""
    if label is None:
        return line
    mark = f"[cyan]{output.escape(label)}[/cyan] "
    return mark + line.replace("\n", "\n" + " " * _width(label + " "))
