"""`CallBar`: the call you are in, docked under the main pane while it lasts.

One line for the room, the time, your mute state and who records; one for the people, each
with a speaking dot; one for the meeting-notes bot while it works. It draws the `CallShown` it
is handed (`show`; None hides it) and says what the person asks for with `CallAsked`, as the
main screen's keys do (j, m, b).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Static

from coope.client.call_roster import Person
from coope.core.rules import visible


class CallAsked(Message):
    """The person asked for something about calls (a key of the main screen, or the bar):
    `join` the call of the room on screen, or leave the one you are in (the j key); `leave`
    it; `mute` or unmute; start or stop the meeting-`notes` bot."""

    def __init__(self, ask: str) -> None:
        super().__init__()
        self.ask = ask


@dataclass(frozen=True)
class CallShown:
    """What the bar shows at one moment."""

    room: str  # the room's label, as people typed it
    elapsed: str  # mm:ss
    people: list[Person]
    recorders: list[str]
    muted: bool = False
    connecting: bool = False
    mine: bool = True  # your own place in the call; False: the notes bot's, seen from it
    notes: str | None = None  # the meeting-notes bot, at work


SPEAKING = ("●", "bold green")
SILENT = ("○", "dim")


def status_line(shown: CallShown) -> Text:
    """Call in #team · 01:23 · muted · ● recording: bot"""
    if not (shown.mine or shown.people or shown.connecting):  # the bot is done recording
        return Text(f"Meeting notes of the call in {visible(shown.room)}", style="bold")
    text = Text()
    text.append("Call" if shown.mine else "Notes bot in the call", style="bold")
    text.append(f" in {visible(shown.room)}", style="bold")
    text.append(f" · {'connecting…' if shown.connecting else shown.elapsed}")
    if shown.mine:
        text.append(" · ")
        if shown.muted:
            text.append("muted (m)", style="bold reverse yellow")
        else:
            text.append("mic on (m mutes)", style="green")
    if shown.recorders:
        text.append(" · ")
        text.append("● recording", style="bold red")
        text.append(f": {visible(', '.join(shown.recorders))}")
    return text


def people_line(people: list[Person]) -> Text:
    """● bob  ○ carol  alice (you) ● rec"""
    text = Text()
    for person in people:
        if text:
            text.append("  ")
        if person.you:
            text.append(visible(person.name), style="cyan")
            text.append(" (you)", style="dim")
        else:
            dot, style = SPEAKING if person.speaking else SILENT
            text.append(f"{dot} ", style=style)
            text.append(visible(person.name), style="bold" if person.speaking else "")
        if person.recording:
            text.append(" ● rec", style="red")
    return text


class CallBar(Vertical):
    """Hidden until `show` hands it a call."""

    DEFAULT_CSS = files("coope.tui").joinpath("call_bar.tcss").read_text(encoding="utf-8")

    def compose(self) -> ComposeResult:
        with Horizontal(id="call-top"):
            yield Static(id="call-status", markup=False)
            yield Button("Leave (j)", id="call-leave", variant="error", compact=True)
        yield Static(id="call-people", markup=False)
        yield Static(id="call-notes", markup=False)

    mine = True
    """Whether the bar shows your own place in the call (its button leaves it) or the notes
    bot's (its button stops the bot): set by `show`."""

    def on_mount(self) -> None:
        self.display = False

    def show(self, shown: CallShown | None) -> None:
        self.display = shown is not None
        if shown is None:
            return
        self.query_one("#call-status", Static).update(status_line(shown))
        self.query_one("#call-people", Static).update(people_line(shown.people))
        notes = self.query_one("#call-notes", Static)
        notes.display = shown.notes is not None
        notes.update(Text(visible(shown.notes or ""), style="italic"))
        self.mine = shown.mine
        button = self.query_one("#call-leave", Button)
        button.label = "Leave (j)" if shown.mine else "Stop (b)"
        button.display = shown.mine or bool(shown.people)  # the bot is done recording

    @property
    def shown_text(self) -> str:
        """What the bar says, as plain text (for tests and screen readers)."""
        parts = [
            str(self.query_one(f"#{part}", Static).render())
            for part in ("call-status", "call-people", "call-notes")
        ]
        return "\n".join(parts)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(CallAsked("leave" if self.mine else "notes"))
