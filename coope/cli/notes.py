"""coope notes ...: record a call and write its notes into a workspace; transcribe; summarize.

The engines come from the environment (see `coope.notes.settings`): OpenAI or a compatible
server when `COOPE_OPENAI_API_KEY` or `COOPE_OPENAI_BASE_URL` is set, the offline ones
otherwise (speech-to-text needs `pip install 'coope[offline]'`).
"""

from __future__ import annotations

import asyncio
import shlex
import shutil
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from coope.cli import output, runtime
from coope.cli.chat import RoomArg, resolve_room, room_label
from coope.cli.runtime import JsonOpt, ServerOpt, TokenOpt
from coope.core.errors import CoopeError, Forbidden, InvalidInput

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from coope.client import CoopeClient
    from coope.client.calls import CallSession
    from coope.core.social_schemas import RoomOut
    from coope.notes.recorder import Recording, SpeakerRecorder
    from coope.notes.settings import NotesSettings
    from coope.notes.stt import Transcriber
    from coope.notes.summary import Summarizer, Summary
    from coope.notes.transcript import Segment

app = typer.Typer(
    help="Meeting notes: record a call into a page, transcribe, summarize.", no_args_is_help=True
)

EMPTY_POLL_S = 0.5


@app.command()
def record(
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
    server: ServerOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
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

    async def body() -> None:
        from coope.cli.workspaces import resolve_workspace
        from coope.notes.recorder import new_recording_dir, prune_recordings
        from coope.notes.settings import NotesSettings, data_dir

        settings = NotesSettings.from_env()
        transcriber, summarizer = _engines(settings)  # a missing engine fails before joining
        home = data_dir()
        prune_recordings(home, settings.recording_days)
        async with runtime.client(server, token) as c:
            target = await resolve_room(c, room)
            ws = await resolve_workspace(c, workspace)
            if not ws.role.can_edit:  # found out now, not after the meeting
                raise Forbidden(
                    f"you are a viewer of {ws.name}: writing the notes needs an editor"
                    " (an owner can run `coope ws role`)"
                )
            directory = new_recording_dir(home, target.name)
            from coope.notes.pipeline import notes_title, transcribe_recording, write_notes
            from coope.notes.recorder import parse_started

            with _kept_on_failure(directory, ws.name):
                recording = await _record(c, target, directory, takeover, duration, json)
                step = Steps(enabled=not json)
                with step:
                    segments = await transcribe_recording(recording, transcriber, step)
                    step(f"summarizing {len(segments)} lines")
                    summary = await _summarize(segments, summarizer)
                    started = parse_started(recording.started_at)
                    name = title or notes_title(room_label(target), started)
                    step(f"writing the page into {ws.name}")
                    page = await write_notes(c, ws.id, name, summary, segments)
        _report_notes(page.id, page.title, ws.name, recording, summary, segments, json, lines=True)

    runtime.run(body)


@contextmanager
def _kept_on_failure(directory: Path, workspace: str) -> Iterator[None]:
    """Whatever stops the notes once someone was recorded (an error, a second Ctrl-C) says
    where the recording is and how to finish the notes from it."""
    try:
        yield
    except BaseException as exc:
        if not any(directory.glob("*.wav")):  # nothing recorded (e.g. the join was refused)
            shutil.rmtree(directory, ignore_errors=True)
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


def _engines(settings: NotesSettings) -> tuple[Transcriber, Summarizer]:
    from coope.notes import engines

    return engines.transcriber(settings), engines.summarizer(settings)


async def _record(
    client: CoopeClient,
    room: RoomOut,
    directory: Path,
    takeover: bool,
    duration: float | None,
    json: bool,
) -> Recording:
    """In the call as a recording participant until it empties, the duration is up, Ctrl-C or
    SIGTERM; every speaker's audio goes to their own file."""
    from coope.cli.call_view import CallView, emit_event
    from coope.cli.calls import show_view, until_done
    from coope.client.calls import CallSession
    from coope.core.schemas import Event
    from coope.media.levels import LevelMeter
    from coope.notes.recorder import SpeakerRecorder

    loop = asyncio.get_running_loop()
    meter = LevelMeter(loop.time)
    recorder = SpeakerRecorder(directory, room=room_label(room), room_id=room.id)
    stop = asyncio.Event()
    # Ctrl-C ends the recording, not the command: the notes are what it is for. The handlers
    # in place before (asyncio.run's own for SIGINT) come back once the files are closed.
    signals = (signal.SIGINT, signal.SIGTERM)
    previous = {signum: signal.getsignal(signum) for signum in signals}
    for signum in signals:
        loop.add_signal_handler(signum, stop.set)
    try:
        session = CallSession(
            client,
            room.id,
            takeover=takeover,
            recording=True,
            on_event=lambda event: view.event(event),
        )
        view = CallView(session, room_label(room), meter, json_lines=json, duration=duration)
        view.notes.append(f"recording into {directory}")
        async with session:
            if json:
                connected = {"room_id": room.id, "user": session.username, "recording": True}
                emit_event(Event(type="call.connected", data=connected))
            workers = [_keep(session, recorder, meter), show_view(view)]
            if duration is None:
                workers.append(_until_empty(session))
            try:
                await until_done(session, stop, duration, *workers)
            except CoopeError as exc:  # taken over, the daemon gone, the media lost
                if not recorder.speakers:
                    raise
                output.warning(
                    f"the recording stopped early ({exc.message}); the notes are made from"
                    " what was recorded"
                )
    finally:
        try:
            recording = await recorder.finish()
        finally:
            for signum, handler in previous.items():
                loop.remove_signal_handler(signum)
                signal.signal(signum, handler)
    return recording


async def _keep(session: CallSession, recorder: SpeakerRecorder, meter: Any) -> None:
    from coope.media.pcm import frame_to_mono

    async for user, frame in session.audio_frames():
        meter.push(user, frame_to_mono(frame))
        await recorder.add(user, frame)


async def _until_empty(session: CallSession) -> None:
    """Returns once someone else has been in the call and nobody else is any more."""
    seen_others = False
    while True:
        # Other recorders are not a meeting: two bots must not keep each other in the call.
        others = session.participants - session.recorders - {session.username}
        if others:
            seen_others = True
        elif seen_others:
            return
        await asyncio.sleep(EMPTY_POLL_S)


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
            from coope.core.schemas import Event

            emit_event(Event(type="notes.written", data=result))
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
def transcribe(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True, readable=True, help="A WAV file, or a recording directory (all speakers)."
        ),
    ],
    speaker: Annotated[
        str | None, typer.Option(help="Who speaks in the file (default: the file's name).")
    ] = None,
    json: JsonOpt = False,
) -> None:
    r"""Transcribe a WAV file (or a whole recording) to `\[mm:ss] Speaker: text` lines."""

    async def body() -> None:
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

    runtime.run(body)


@app.command()
def summarize(
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
    server: ServerOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:
    """Summarize a transcript: summary, decisions and action items (with owners)."""

    async def body() -> None:
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
            if into is None:
                await _summarize_text(text, summarizer, json)
                return
        async with runtime.client(server, token) as c:
            if not path.is_file():
                from coope.cli.pages import resolve_page

                page = await resolve_page(c, source)
                text, name = (await c.pages.content(page.id)).markdown, page.title
            if into is None:
                await _summarize_text(text, summarizer, json)
                return
            from coope.cli.workspaces import resolve_workspace
            from coope.notes.pipeline import write_notes

            ws = await resolve_workspace(c, into)
            segments = parse_lines(_transcript_part(text))
            summary = await _summarize(segments, summarizer)
            made = await write_notes(c, ws.id, f"Notes — {name}", summary, segments)
        _report_notes(made.id, made.title, ws.name, None, summary, segments, json)

    runtime.run(body)


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
