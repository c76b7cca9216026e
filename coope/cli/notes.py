"""coope notes ...: record a call and write its notes into a workspace; transcribe; summarize.

The engines come from the environment (see `coope.notes.settings`): OpenAI or a compatible
server when `COOPE_OPENAI_API_KEY` or `COOPE_OPENAI_BASE_URL` is set, the offline ones
otherwise (speech-to-text needs `pip install 'coope[offline]'`).
"""

from __future__ import annotations

import asyncio
import shlex
import signal
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from coope.cli import output, runtime
from coope.cli.args import RoomArg
from coope.client.social import room_label
from coope.core.errors import CoopeError, Forbidden, InvalidInput

if TYPE_CHECKING:
    from rich.live import Live
    from rich.progress import Progress, TaskID

    from coope.cli.call_view import CallView
    from coope.client import CoopeClient
    from coope.core.social_schemas import RoomOut
    from coope.notes.bot import BotProgress, MeetingBot
    from coope.notes.recorder import Recording
    from coope.notes.settings import NotesSettings
    from coope.notes.stt import Transcriber
    from coope.notes.summary import Summarizer, Summary
    from coope.notes.transcript import Segment

app = typer.Typer(
    help="Meeting notes: record a call into a page, transcribe, summarize.", no_args_is_help=True
)


@app.command()
@runtime.command
async def record(
    client: CoopeClient,
    json: bool,
    room: RoomArg,
    workspace: Annotated[
        str, typer.Option("--workspace", "-w", help="Workspace (name or id) for the notes page.")
    ],
    title: Annotated[
        str | None,
        typer.Option(help='Page title (default: "Meeting notes — ROOM — date").'),
    ] = None,
    until_empty: Annotated[
        bool,
        typer.Option(
            "--until-empty",
            help="Stop when everyone else has left (the default without --duration).",
        ),
    ] = False,
    duration: Annotated[
        float | None, typer.Option(min=0.0, help="Stop after this many seconds.")
    ] = None,
    takeover: Annotated[
        bool, typer.Option("--takeover", help="Move this account's place in the call here.")
    ] = False,
) -> None:
    """Join ROOM's call as a recording participant, then write its notes into a new page.

    Everyone in the call sees that it records. It stops when the call empties, the
    --duration is up or on Ctrl-C; then it transcribes every speaker, summarizes, and creates
    the page: Summary, Decisions, Action items and the Transcript. The recording stays in the
    data dir for COOPE_RECORDING_DAYS days (default 30).

    With --json: the call's events as JSON lines, then a `notes.written` line with the page,
    the summary and the transcript.
    """
    if until_empty and duration is not None:
        raise typer.BadParameter("use either --until-empty or --duration", param_hint="--duration")

    from coope.notes.bot import BotOptions, MeetingBot
    from coope.notes.settings import NotesSettings

    settings = NotesSettings.from_env()
    transcriber, summarizer = _engines(settings)  # a missing engine fails before joining
    target = await client.chat.resolve(room)
    ws = await client.workspaces.resolve(workspace)
    # The bot refuses a viewer too; said here, the message can name the command.
    if not ws.role.can_edit:
        raise Forbidden(
            f"you are a viewer of {ws.name}: writing the notes needs an editor"
            " (an owner can run `coope ws role`)"
        )
    options = BotOptions(
        title=title,
        stop_when_empty=duration is None,
        max_duration_s=duration,
        takeover=takeover,
        recording_days=settings.recording_days,
    )
    bot = MeetingBot(
        client, target.id, ws.id, transcriber=transcriber, summarizer=summarizer, options=options
    )
    with (
        _kept_on_failure(bot, ws.name),
        _ctrl_c_ends_the_recording(bot) as recorded,
        _RecordView(bot, target, duration, json, on_recorded=recorded) as view,
    ):
        notes = await bot.run(view.show)
    _report_notes(
        notes.page.id,
        notes.page.title,
        ws.name,
        notes.recording,
        notes.summary,
        notes.segments,
        json,
        lines=True,
    )


@contextmanager
def _kept_on_failure(bot: MeetingBot, workspace: str) -> Iterator[None]:
    """Whatever stops the notes once someone was recorded (an error, a second Ctrl-C) says
    where the recording is and how to finish the notes from it."""
    try:
        yield
    except BaseException as exc:
        directory = bot.directory
        if directory is None:  # nothing recorded (e.g. the join was refused): nothing kept
            raise
        where, into = shlex.quote(str(directory)), shlex.quote(workspace)
        hint = (
            f"The recording is kept in {where}: `coope notes transcribe {where} >"
            f" transcript.txt` then `coope notes summarize transcript.txt --into {into}`"
        )
        if isinstance(exc, CoopeError):
            exc.message += f". {hint}"
        else:
            output.warning(hint)
        raise


@contextmanager
def _ctrl_c_ends_the_recording(bot: MeetingBot) -> Iterator[Callable[[], None]]:
    """Ctrl-C and SIGTERM end the recording, not the command: the notes are what it is for.

    The handlers in place before (asyncio.run's own for SIGINT) come back when the function
    given is called (once the recording is done) or at the latest on the way out, so that a
    second Ctrl-C while the notes are made stops the command.
    """
    loop = asyncio.get_running_loop()
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    for signum in previous:
        loop.add_signal_handler(signum, bot.stop)

    def restore() -> None:
        while previous:
            signum, handler = previous.popitem()
            loop.remove_signal_handler(signum)
            signal.signal(signum, handler)

    try:
        yield restore
    finally:
        restore()


def _engines(settings: NotesSettings) -> tuple[Transcriber, Summarizer]:
    from coope.notes import engines

    return engines.transcriber(settings), engines.summarizer(settings)


class _RecordView:
    """The bot's progress as `coope notes record` shows it: the call while it records (the
    live view of `coope call join`, or its JSON lines with --json), then each later step on
    stderr (`Steps`)."""

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
        self._live: Live | None = None
        self._steps = ExitStack()
        self._step: Steps | None = None

    def __enter__(self) -> _RecordView:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._stop_live()
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
        from coope.cli.call_view import CallView, emit_event
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
            case "recording", "running" if call is not None:
                self._refresh(call)
            case "joining", "finished" if self._json and bot.call is not None:
                connected = CallConnectedData(
                    room_id=self._room.id, user=bot.call.username, recording=True
                )
                emit_event(CallConnected(data=connected))
            case "recording", "started" if call is not None:
                call.notes.append(progress.detail)
                if not self._json:
                    self._start_live(call)
            case "recording", "finished":
                self._stop_live()  # showing the call as it was, before leaving it
                if progress.error is not None:
                    output.warning(
                        f"the recording stopped early ({progress.error.message}); the notes are"
                        " made from what was recorded"
                    )
            case "leaving", "finished":
                self._on_recorded()

    def _refresh(self, call: CallView) -> None:
        if self._live is not None:
            self._live.update(call.render(), refresh=True)
        elif self._json:
            from coope.cli.call_view import emit_event

            for event in call.speaking_changes():
                emit_event(event)

    def _start_live(self, call: CallView) -> None:
        from rich.live import Live

        from coope.cli.call_view import console

        self._live = Live(call.render(), console=console(), auto_refresh=False)
        self._live.start(refresh=True)

    def _stop_live(self) -> None:
        """The last state stays on screen."""
        live, self._live = self._live, None
        if live is None or self._call is None:
            return
        try:
            live.update(self._call.render(), refresh=True)
        finally:
            live.stop()
            if not live.console.is_terminal:  # Live ends a terminal's last line, not a file's
                live.console.line()


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


async def _summarize(segments: list[Segment], summarizer: Summarizer) -> Summary:
    from coope.notes.pipeline import summarize

    return await summarize(segments, summarizer)


def _report_notes(
    page_id: int,
    title: str,
    workspace: str,
    recording: Recording | None,
    summary: Summary,
    segments: list[Segment],
    json: bool,
    *,
    lines: bool = False,
) -> None:
    """Say where the notes went; with `lines`, as the last of the JSON lines already printed
    (`{"type": "notes.written", "data": ...}`), else as one JSON document."""
    if json:
        result = {
            "page_id": page_id,
            "title": title,
            "workspace": workspace,
            "recording": str(recording.directory) if recording else None,
            "speakers": sorted({s.speaker for s in segments if s.speaker}),
            **_summary_json(summary),
            "transcript": [_segment_json(s) for s in segments],
        }
        if lines:
            from coope.cli.call_view import emit_event
            from coope.core.events import GenericEvent

            # The command's own last line, in the shape of the call's event lines before it.
            emit_event(GenericEvent(type="notes.written", data=result))
        else:
            output.emit_json(result)
        return
    output.success(f"notes written: {title} (page {page_id} in {workspace})")
    if recording is not None:
        output.info(f"recording kept in {recording.directory}")


def _summary_json(summary: Summary) -> dict[str, Any]:
    return {
        "summary": summary.summary,
        "decisions": summary.decisions,
        "action_items": [{"text": a.text, "owner": a.owner} for a in summary.action_items],
    }


def _segment_json(segment: Segment) -> dict[str, Any]:
    return {
        "speaker": segment.speaker,
        "start": round(segment.start, 2),
        "end": round(segment.end, 2),
        "text": segment.text,
    }


@app.command()
@runtime.command(login=None)
async def transcribe(
    json: bool,
    file: Annotated[
        Path,
        typer.Argument(
            exists=True, readable=True, help="A WAV file, or a recording directory (all speakers)."
        ),
    ],
    speaker: Annotated[
        str | None, typer.Option(help="Who speaks in the file (default: the file's name).")
    ] = None,
) -> None:
    r"""Transcribe a WAV file (or a whole recording) to `\[mm:ss] Speaker: text` lines."""
    from coope.notes import engines
    from coope.notes.pipeline import transcribe_recording
    from coope.notes.recorder import MANIFEST, Recording
    from coope.notes.settings import NotesSettings
    from coope.notes.transcript import line

    transcriber = engines.transcriber(NotesSettings.from_env())
    if file.is_dir():
        if not (file / MANIFEST).exists():
            raise InvalidInput(f"{file} is a directory but not a recording (no {MANIFEST})")
        with Steps(enabled=not json) as step:
            segments = await transcribe_recording(Recording.load(file), transcriber, step)
    else:
        who = speaker or file.stem
        segments = await asyncio.to_thread(transcriber.transcribe, file, who)
    if json:
        output.emit_json({"segments": [_segment_json(s) for s in segments]})
        return
    for segment in segments:
        print(line(segment))


@app.command()
@runtime.command(login=False)
async def summarize(
    client: CoopeClient,
    json: bool,
    source: Annotated[
        str,
        typer.Argument(
            metavar="FILE|PAGE",
            help="A transcript file (`\\[mm:ss] Speaker: text` lines, or plain text), or a page"
            " (id or title path) holding one.",
        ),
    ],
    into: Annotated[
        str | None,
        typer.Option("--into", help="Write the notes as a new page in this workspace."),
    ] = None,
) -> None:
    """Summarize a transcript: summary, decisions and action items (with owners)."""
    from coope.notes import engines
    from coope.notes.settings import NotesSettings
    from coope.notes.transcript import parse_lines

    summarizer = engines.summarizer(NotesSettings.from_env())
    path = Path(source)
    if path.is_file():
        try:
            text, name = path.read_text(encoding="utf-8"), path.stem
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"cannot read {path} as text: {exc}") from exc
    else:
        # A file summarizes offline; a page needs the daemon, and so does --into.
        runtime.require_login(client)
        page = await client.pages.resolve(source)
        text, name = (await client.pages.content(page.id)).markdown, page.title
    if into is None:
        await _summarize_text(text, summarizer, json)
        return
    from coope.notes.pipeline import write_notes

    runtime.require_login(client)
    ws = await client.workspaces.resolve(into)
    segments = parse_lines(_transcript_part(text))
    summary = await _summarize(segments, summarizer)
    made = await write_notes(client, ws.id, f"Notes — {name}", summary, segments)
    _report_notes(made.id, made.title, ws.name, None, summary, segments, json)


def _transcript_part(text: str) -> str:
    """A notes page holds its transcript under "## Transcript": read only that, if present."""
    marker = "## Transcript"
    return text.split(marker, 1)[1] if marker in text else text


async def _summarize_text(text: str, summarizer: Summarizer, json: bool) -> None:
    from coope.notes.transcript import parse_lines

    segments = parse_lines(_transcript_part(text))
    if not segments:
        raise InvalidInput("there is nothing to summarize: the transcript is empty")
    summary = await _summarize(segments, summarizer)
    if json:
        output.emit_json(_summary_json(summary))
        return
    from rich.markdown import Markdown

    from coope.notes.pipeline import notes_markdown

    head = notes_markdown(summary, []).split("## Transcript", 1)[0]
    output.print_renderable(Markdown(head))
