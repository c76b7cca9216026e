"""What `coope call join` (and `coope notes record` while it records) shows: a live table of who
is in the call and who is speaking, or, with --json, one event per line."""

from __future__ import annotations

import json
import math
import sys
from collections import deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.live import Live

    from coope.client.calls import CallSession
    from coope.core.events import CallSpeaking, Event
    from coope.media.levels import LevelMeter

BAR_WIDTH = 20
FLOOR_DB = -60.0  # the empty end of a level bar
NOTES = 4  # recent happenings shown under the table
HIDDEN = {"call.answer"}  # negotiation details (a page of SDP) nobody watching needs


def level_bar(rms: float, width: int = BAR_WIDTH) -> str:
    """A bar for an RMS level on a 0..1 scale, in decibels from -60 dBFS (empty) to 0 (full)."""
    db = 20 * math.log10(rms) if rms > 0 else FLOOR_DB
    filled = round(width * min(max((db - FLOOR_DB) / -FLOOR_DB, 0.0), 1.0))
    return "█" * filled + "·" * (width - filled)


def emit_event(event: Event) -> None:
    """One JSON line on stdout, flushed at once for whoever is reading the pipe."""
    sys.stdout.write(json.dumps(event.model_dump(mode="json")) + "\n")
    sys.stdout.flush()


class CallView:
    """Told about call events and asked to refresh; renders for people or prints JSON lines.
    Who is in, who records and who speaks come from a `CallRoster`; this only draws them.

    With JSON, speaking is reported as `call.speaking` events when someone starts or stops.
    """

    def __init__(
        self,
        session: CallSession,
        room_label: str,
        meter: LevelMeter,
        *,
        json_lines: bool,
        duration: float | None,
    ) -> None:
        from coope.client.call_roster import CallRoster

        self.session = session
        self.room_label = room_label
        self.json_lines = json_lines
        self.duration = duration
        self.roster = CallRoster(session, meter, notes=NOTES)

    @property
    def notes(self) -> deque[str]:
        """Recent happenings, shown under the table."""
        return self.roster.notes

    def event(self, event: Event) -> None:
        if event.type in HIDDEN:
            return
        if self.json_lines:
            emit_event(event)
        else:
            self.roster.event(event)

    def speaking_changes(self) -> list[CallSpeaking]:
        """`call.speaking` events for everyone who started or stopped speaking since the last
        call."""
        return self.roster.speaking_changes()

    def render(self) -> RenderableType:
        from rich.console import Group
        from rich.markup import escape
        from rich.table import Table
        from rich.text import Text

        roster = self.roster
        until = f" of {self.duration:g} s" if self.duration is not None else ""
        title = (
            f"[bold]call in {escape(self.room_label)}[/bold] · {roster.elapsed}{until}"
            " · Ctrl-C to leave"
        )
        table = Table("", "who", "level", box=None)
        if roster.recorders:
            who = ", ".join(roster.recorders)
            title += f"\n[bold red]● recording[/bold red] by {escape(who)}"
        for person in roster.people():
            rec = " [red]● rec[/red]" if person.recording else ""
            if person.you:
                table.add_row("[cyan]●[/cyan]", f"{escape(person.name)} [dim](you)[/dim]{rec}", "")
                continue
            mark = "[green]●[/green]" if person.speaking else "[dim]○[/dim]"
            name = f"[bold]{escape(person.name)}[/bold]" if person.speaking else escape(person.name)
            table.add_row(mark, name + rec, f"[green]{level_bar(person.level)}[/green]")
        notes = [Text(n, style="dim") for n in self.notes]
        return Group(title, table, *notes)


class CallDisplay:
    """A `CallView` kept on screen as the call goes: redrawn in place (Rich Live) for people,
    or its speaking changes as JSON lines. `refresh()` as often as it should move; after
    `stop()` (or the `with` block) the last state stays on screen."""

    def __init__(self, view: CallView) -> None:
        self.view = view
        self._live: Live | None = None

    def __enter__(self) -> CallDisplay:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        if self.view.json_lines:
            return
        from rich.live import Live

        self._live = Live(self.view.render(), console=console(), auto_refresh=False)
        self._live.start(refresh=True)

    def refresh(self) -> None:
        if self._live is not None:
            self._live.update(self.view.render(), refresh=True)
        elif self.view.json_lines:
            for event in self.view.speaking_changes():
                emit_event(event)

    def stop(self) -> None:
        live, self._live = self._live, None
        if live is None:
            return
        try:
            live.update(self.view.render(), refresh=True)
        finally:
            live.stop()
            if not live.console.is_terminal:  # Live ends a terminal's last line, not a file's
                live.console.line()


def console() -> Console:
    from rich.console import Console

    return Console(highlight=False, emoji=False)
