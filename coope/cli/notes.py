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
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from coope.cli import output, runtime
from coope.cli.args import RoomArg
from coope.core.errors import CoopeError, Forbidden, InvalidInput

if TYPE_CHECKING:
    from coope.client import CoopeClient
    from coope.notes.bot import MeetingBot
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
    data dir for COOPE_RECORDING_DAYS days (default 30; 0 keeps every recording): older ones
    are deleted when the next recording starts.

    With --json: the call's events as JSON lines, then a `notes.written` line with the page,
    the summary and the transcript.
    """
    if until_empty and duration is not None:
        raise typer.BadParameter("use either --until-empty or --duration", param_hint="--duration")

    from coope.cli.notes_view import RecordView
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
        RecordView(bot, target, duration, json, on_recorded=recorded) as view,
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
    from coope.cli.notes_view import Steps
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
    from coope.notes import engines, pipeline
    from coope.notes.settings import NotesSettings
    from coope.notes.transcript import read_transcript

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
    segments = read_transcript(text)
    if into is None:
        if not segments:
            raise InvalidInput("there is nothing to summarize: the transcript is empty")
        _show_summary(await pipeline.summarize(segments, summarizer), json)
        return
    runtime.require_login(client)
    ws = await client.workspaces.resolve(into)
    summary = await pipeline.summarize(segments, summarizer)
    made = await pipeline.write_notes(client, ws.id, f"Notes — {name}", summary, segments)
    _report_notes(made.id, made.title, ws.name, None, summary, segments, json)


def _show_summary(summary: Summary, json: bool) -> None:
    if json:
        output.emit_json(_summary_json(summary))
        return
    from rich.markdown import Markdown

    from coope.notes.pipeline import summary_markdown

    output.print_renderable(Markdown(summary_markdown(summary)))
