"""`MessageLog`: one room's messages, a line or a few each, with one of them selected.

It draws a `Timeline` it is handed (attributes down) and says what the person asked for about
the selected message (messages up): reply, edit, delete, react, or older history. The timeline
is a window of the room: going past its newest message while the room has newer ones publishes
`newer_wanted` (a signal: the session listens to it directly).
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.signal import Signal
from textual.widgets import OptionList
from textual.widgets.option_list import Option, OptionDoesNotExist

from coope.core.rules import visible
from coope.core.social_schemas import MessageOut
from coope.tui.state import Timeline

UNREAD_MARKER_ID = "unread-marker"
QUOTE_CHARS = 60


BODY_INDENT = len("00:00 ")


def message_text(message: MessageOut, timeline: Timeline, me: str) -> Text:
    """A message as drawn: the quoted message it answers, time, author, body, reactions."""
    text = Text()
    if message.reply_to is not None:
        quoted = timeline.by_id(message.reply_to)
        if quoted is None:
            text.append("  ┃ an earlier message\n", style="dim")
        else:
            snippet = "(deleted)" if quoted.deleted else quoted.body.replace("\n", " ")
            if len(snippet) > QUOTE_CHARS:
                snippet = snippet[: QUOTE_CHARS - 1] + "…"
            text.append(f"  ┃ {visible(quoted.author)}: {visible(snippet)}\n", style="dim")
    text.append(_clock(message.created_at) + " ", style="dim")
    text.append(visible(message.author), style="bold green" if message.author == me else "bold")
    text.append(" ")
    if message.deleted:
        text.append("(message deleted)", style="dim italic")
    else:
        # A message's further lines start under its first word, not under the time.
        text.append(visible(message.body).replace("\n", "\n" + " " * BODY_INDENT))
        if message.edited_at is not None:
            text.append(" (edited)", style="dim")
    if message.reactions and not message.deleted:
        text.append("\n     ")
        for emoji, users in sorted(message.reactions.items()):
            # Yours stand out: picking that emoji again takes it back.
            text.append(" ")
            text.append(
                f"{visible(emoji)} {len(users)}", style="reverse cyan" if me in users else "cyan"
            )
            text.append(" ")
    return text


def _clock(moment: datetime) -> str:
    return moment.astimezone().strftime("%H:%M")


def message_option_id(message: MessageOut) -> str:
    return f"m{message.seq}"


class MessageLog(OptionList):
    """The messages of the room on screen; the highlighted one is "the selected message"."""

    BINDINGS = [
        Binding("r", "reply", "Reply"),
        Binding("e", "edit", "Edit"),
        Binding("d", "delete", "Delete"),
        Binding("a", "react", "React"),
        Binding("pageup", "older", "Older", show=False),
    ]

    class Asked(Message):
        """The person asked for `action` ("reply", "edit", "delete", "react") on `message`."""

        def __init__(self, action: str, message: MessageOut) -> None:
            super().__init__()
            self.action = action
            self.message = message

    class OlderWanted(Message):
        """The person scrolled past the oldest message shown."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.timeline = Timeline()
        self.me = ""
        self.unread_after: int | None = None  # the marker line goes before seq > this
        self.newer_wanted: Signal[None] = Signal(self, "newer-wanted")
        self._redrawing = False
        self._newest_wanted = False  # End was pressed: select the newest once it is here

    # --- attributes down ---------------------------------------------------------------------

    def show(
        self, timeline: Timeline, me: str, unread_after: int | None, *, select: int | None = None
    ) -> None:
        """Draw every message of `timeline` (a room just opened) with the newest selected, or
        the one with seq `select` (in the middle of the screen)."""
        self.timeline, self.me, self.unread_after = timeline, me, unread_after
        self._newest_wanted = False
        self._redraw(anew=True)
        wanted = f"m{select}"
        if select is None or not self._drawn(wanted):
            super().action_last()
            return
        self._redrawing = True  # scrolling there from the top asks for no other page
        try:
            self.highlighted = self.get_option_index(wanted)
        finally:
            self._redrawing = False
        self.call_after_refresh(self._center_selected)

    def _center_selected(self) -> None:
        """The selected message in the middle of the list, not at its bottom edge: what came
        before and after it shows too."""
        self._redrawing = True
        try:
            self.scroll_to_highlight(top=True)
            self.scroll_to(
                y=max(0, self.scroll_y - self.size.height // 3), animate=False, immediate=True
            )
        finally:
            self._redrawing = False

    @property
    def at_end(self) -> bool:
        """Whether the selection is on the last message drawn (or there is none)."""
        return self.highlighted is None or self.highlighted >= self.option_count - 1

    def older_added(self) -> None:
        """Older messages went into the timeline (and perhaps the newest out): draw them,
        keeping the selection."""
        self._redraw()

    def newer_added(self) -> None:
        """Newer messages went into the timeline (and perhaps the oldest out): draw them,
        keeping the selection, or on the newest when that is what the person asked for."""
        first = next((o.id for o in self.options if o.id != UNREAD_MARKER_ID), None)
        if first is None or int(first[1:]) != self.timeline.oldest_seq:
            self._redraw()
        else:
            self._draw_newer()
        if self._newest_wanted:
            self._newest_wanted = False
            self.action_last()

    def trimmed(self, *, follow: bool) -> None:
        """Messages left the timeline at one end: draw what is left, keeping the selection
        (on the newest if `follow`)."""
        self._redraw()
        if follow:
            super().action_last()

    def changed(self, message: MessageOut) -> None:
        """`message` (already in the timeline) is new or changed: draw it where it belongs."""
        option_id = message_option_id(message)
        at_end = self.at_end
        if self._drawn(option_id):
            self.replace_option_prompt(option_id, self._prompt(message))
            # Answers quote it: their drawing changes with it.
            for other in self.timeline.ordered():
                if other.reply_to == message.id:
                    self.replace_option_prompt(message_option_id(other), self._prompt(other))
        elif self.timeline.newest_seq == message.seq:
            self._draw_newer()
            if at_end:
                super().action_last()
        else:
            self._redraw()

    def _drawn(self, option_id: str) -> bool:
        """Whether the option is in the list: looked up by id, not by a walk over the list
        (a message arriving in a long room would cost a pass over all of them)."""
        try:
            self.get_option(option_id)
        except OptionDoesNotExist:
            return False
        return True

    @property
    def selected(self) -> MessageOut | None:
        option = self.highlighted_option
        if option is None or option.id is None or not option.id.startswith("m"):
            return None
        return self.timeline.messages.get(int(option.id[1:]))

    def _prompt(self, message: MessageOut) -> Text:
        return message_text(message, self.timeline, self.me)

    def _build_options(
        self, messages: list[MessageOut], drawn: dict[str, Option], *, marker_drawn: bool
    ) -> list[Option]:
        """Options for `messages`, with the unread marker if it goes among them. An option in
        `drawn` is taken again (its rendering is kept), except an answer's: its quote may
        have come into the window or left it."""
        options: list[Option] = []
        marker_placed = self.unread_after is None or marker_drawn
        for message in messages:
            # Before the first unread message of someone else's: our own (sent from
            # another device) are not news to us.
            unread = message.seq > (self.unread_after or 0) and message.author != self.me
            if not marker_placed and unread:
                marker = Text("──── new messages ────", style="bold red", justify="center")
                options.append(Option(marker, id=UNREAD_MARKER_ID, disabled=True))
                marker_placed = True
            option_id = message_option_id(message)
            option = drawn.get(option_id)
            if option is None or message.reply_to is not None:
                option = Option(self._prompt(message), id=option_id)
            options.append(option)
        return options

    def _draw_newer(self) -> None:
        """Add the messages after the last one drawn at the bottom (no redraw of the rest)."""
        last = self.options[-1].id if self.options else None
        after = -1 if last is None else int(last[1:])
        newer = [m for m in self.timeline.ordered() if m.seq > after]
        self.add_options(self._build_options(newer, {}, marker_drawn=self._drawn(UNREAD_MARKER_ID)))

    def _redraw(self, *, anew: bool = False) -> None:
        """Draw the whole window again (at most `WINDOW` options), taking the options of the
        messages drawn already (Textual's option list can add only at the bottom)."""
        selected = self.highlighted_option.id if not anew and self.highlighted_option else None
        # Only while the same timeline is drawn (a new room's ids are the same numbers).
        drawn = {
            o.id: o
            for o in self.options
            if not anew and o.id is not None and o.id != UNREAD_MARKER_ID
        }
        self._redrawing = True  # set_options scrolls to the top: that is no request for more
        try:
            self.set_options(
                self._build_options(self.timeline.ordered(), drawn, marker_drawn=False)
            )
        finally:
            self._redrawing = False
        if selected is not None and self._drawn(selected):
            self.highlighted = self.get_option_index(selected)

    # --- messages up -------------------------------------------------------------------------

    def _ask(self, action: str) -> None:
        message = self.selected
        if message is not None and not message.deleted:
            self.post_message(self.Asked(action, message))

    def action_reply(self) -> None:
        self._ask("reply")

    def action_edit(self) -> None:
        self._ask("edit")

    def action_delete(self) -> None:
        self._ask("delete")

    def action_react(self) -> None:
        self._ask("react")

    def action_older(self) -> None:
        if self.timeline.has_older:
            self.post_message(self.OlderWanted())
        else:
            self.action_page_up()  # type: ignore[no-untyped-call]

    def action_last(self) -> None:
        super().action_last()
        if self.timeline.has_newer:
            self._newest_wanted = True
            self.newer_wanted.publish(None)

    def action_cursor_down(self) -> None:
        if self.at_end and self.timeline.has_newer:
            self.newer_wanted.publish(None)
            return
        super().action_cursor_down()

    def action_page_down(self) -> None:
        if self.at_end and self.timeline.has_newer:
            self.newer_wanted.publish(None)
            return
        super().action_page_down()  # type: ignore[no-untyped-call]

    def action_cursor_up(self) -> None:
        first = 1 if self.option_count and self.get_option_at_index(0).disabled else 0
        if self.highlighted is not None and self.highlighted <= first and self.timeline.has_older:
            self.post_message(self.OlderWanted())
            return
        super().action_cursor_up()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        # Scrolled to the top with the mouse: the page before comes.
        if self._redrawing:
            return
        if new_value == 0 and old_value > 0 and self.timeline.has_older:
            self.post_message(self.OlderWanted())
        # And to the bottom while the room has newer messages: the page after comes.
        elif new_value >= self.max_scroll_y > old_value and self.timeline.has_newer:
            self.newer_wanted.publish(None)
