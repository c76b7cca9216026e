"""What `coope notes` shows while it works: the call while `record` records it (the live view
of `coope call join`, or its JSON lines with --json), then each later step on stderr."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from typing import TYPE_CHECKING

from coope.cli import output
from coope.client.names import room_label

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from coope.cli.call_view import CallDisplay, CallView
    from coope.core.social_schemas import RoomOut
    from coope.notes.bot import BotProgress, MeetingBot


class RecordView:
    """The bot's progress as `coope notes record` shows it: `show` is the bot's progress
    callback. The call is drawn while the bot records (`CallDisplay`), the steps after it with
    `Steps`; `on_recorded` is called once the bot has left the call."""

    def __init__(
        self,
        bot: MeetingBot,
        room: RoomOut,
        duration: float | None,
        json: bool,
        *,
        on_recorded: Callable[[], None],
    ) -> None:
        self._bot = bot
        self._room = room
        self._duration = duration
        self._json = json
        self._on_recorded = on_recorded
        self._call: CallView | None = None
        self._display: CallDisplay | None = None
        self._steps = ExitStack()
        self._step: Steps | None = None

    def __enter__(self) -> RecordView:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._stop_display()
        finally:
            self._steps.close()

    def show(self, progress: BotProgress) -> None:
        if progress.step in ("joining", "recording", "leaving"):
            self._show_call(progress)
        elif progress.state == "started":
            if self._step is None:
                self._step = self._steps.enter_context(Steps(enabled=not self._json))
            self._step(progress.detail)

    def _show_call(self, progress: BotProgress) -> None:
        from coope.cli.call_view import CallDisplay, CallView, emit_event
        from coope.core.events import CallConnected, CallConnectedData

        bot, call = self._bot, self._call
        match progress.step, progress.state:
            case "joining", "started":
                assert bot.call is not None  # the bot's place in the call is made first
                self._call = CallView(
                    bot.call,
                    room_label(self._room),
                    bot.meter,
                    json_lines=self._json,
                    duration=self._duration,
                )
            case _, "running" if call is not None and progress.event is not None:
                call.event(progress.event)
            case "recording", "running" if self._display is not None:
                self._display.refresh()
            case "joining", "finished" if self._json and bot.call is not None:
                connected = CallConnectedData(
                    room_id=self._room.id, user=bot.call.username, recording=True
                )
                emit_event(CallConnected(data=connected))
            case "recording", "started" if call is not None:
                call.notes.append(progress.detail)
                self._display = CallDisplay(call)
                self._display.start()
            case "recording", "finished":
                self._stop_display()  # showing the call as it was, before leaving it
                if progress.error is not None:
                    output.warning(
                        f"the recording stopped early ({progress.error.message}); the notes are"
                        " made from what was recorded"
                    )
            case "leaving", "finished":
                self._on_recorded()

    def _stop_display(self) -> None:
        display, self._display = self._display, None
        if display is not None:
            display.stop()


class Steps:
    """Long steps as Rich progress on stderr (stdout stays the result): each call starts a step
    and ends the one before, with a spinner and the time it took. Silent when not enabled."""

    def __init__(self, *, enabled: bool) -> None:
        self._enabled = enabled
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> Steps:
        if self._enabled:
            from rich.console import Console
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                SpinnerColumn(finished_text="[green]✓[/green]"),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=Console(stderr=True, highlight=False, emoji=False),
            )
            self._progress.start()
        return self

    def __call__(self, description: str) -> None:
        if self._progress is None:
            return
        self._finish()
        self._task = self._progress.add_task(output.escape(description), total=None)

    def _finish(self) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, total=1, completed=1)
            self._progress.stop_task(self._task)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._finish()
            self._progress.stop()
