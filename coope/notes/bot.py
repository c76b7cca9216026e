"""The meeting bot as a library: record a room's call, transcribe it, summarize it, write the
notes page, telling a front end how it goes.

    bot = MeetingBot(client, room_id, workspace_id, transcriber=t, summarizer=s)
    notes = await bot.run(on_progress=show)      # elsewhere, bot.stop() ends the recording
    print(notes.path, notes.summary.decisions)

The bot joins the call as a recording participant (everyone in it is told), keeps each
speaker's audio in a file of their own (`coope.notes.recorder`), and once the recording ends
transcribes every track, summarizes the merged transcript and creates the page: Summary,
Decisions, Action items and the Transcript (`coope.notes.pipeline`). The recording ends when
everyone else has left (`stop_when_empty`), after `max_duration_s`, on `stop()`, or when the
call ends it (taken over from another device, the daemon gone); in every case but a failure
before anyone was heard, the notes are made from what was recorded.

Progress comes as `BotProgress` updates, in order: each step `started`, then `running` updates
while it lasts (in the call: its events and, every `refresh_s` while recording, its facts),
then `finished`. The steps: joining, recording, leaving (the call, and the files closed), then
transcribing (once per speaker), summarizing and writing. A step that fails raises from
`run()` instead of finishing.
The recording stays on disk (`BotOptions.data_dir`), so notes that failed after the meeting
can be made again from it; a run that fails before anyone was heard leaves nothing behind.
Old recordings are deleted only when `BotOptions.recording_days` says so: front ends pass
`NotesSettings.recording_days` (COOPE_RECORDING_DAYS, 30 by default), and a bot given none
deletes nothing.
Once the page is created nothing can fail the run: its path is made from the workspace and the
parent page looked up before joining.
Cancelling `run()` leaves the call and keeps what was recorded, but writes no notes.

Everything a person sees is the front end's: this module prints nothing.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from coope.client.names import PageEntry, page_paths, room_label
from coope.core.errors import Conflict, CoopeError, Forbidden, InvalidInput, NotFound
from coope.media.levels import LevelMeter
from coope.media.pcm import frame_to_mono
from coope.notes.pipeline import notes_title, summarize, transcribe_recording, write_notes
from coope.notes.recorder import (
    Recording,
    SpeakerRecorder,
    new_recording_dir,
    parse_started,
    prune_recordings,
)
from coope.notes.settings import data_dir
from coope.notes.stt import Transcriber
from coope.notes.summary import Participant, Summarizer, Summary
from coope.notes.transcript import Segment

if TYPE_CHECKING:
    from coope.client import CoopeClient
    from coope.client.calls import CallSession
    from coope.core.events import Event
    from coope.core.workspace_schemas import PageOut, WorkspaceOut

Step = Literal["joining", "recording", "leaving", "transcribing", "summarizing", "writing"]
StepState = Literal["started", "running", "finished"]


@dataclass(frozen=True)
class CallFacts:
    """The call as the bot hears it at one moment."""

    seconds: float  # recorded so far, from the moment the bot started joining
    participants: frozenset[str]  # everyone in the call but the bot
    recorders: frozenset[str]  # those who record it, the bot included
    speaking: frozenset[str]  # who is speaking now
    levels: Mapping[str, float]  # each participant's audio level (RMS, 0..1) just now
    heard: tuple[str, ...]  # everyone recorded so far, each in a track of their own


@dataclass(frozen=True)
class BotProgress:
    """One step of the bot starting, going on or finished.

    `detail` says what the step does, for people ("transcribing ann (12 s of audio)"); the
    transcribing step comes once per speaker, each with its own detail. `running` updates carry
    the call's facts, and `event` when a call event (as the daemon sent it) caused them. The
    recording step's `finished` update carries `error` when the call ended on its own (taken
    over, the daemon gone) after someone was heard: the notes are then made from what there is.
    """

    step: Step
    state: StepState
    detail: str
    call: CallFacts | None = None
    event: Event | None = None
    error: CoopeError | None = None


ProgressCallback = Callable[[BotProgress], None]
"""Called on the event loop as things happen: it must not block, and should not raise (an
exception from a live update ends the run; one from a call event is logged and dropped)."""


@dataclass(frozen=True)
class BotOptions:
    """How the bot records and where its notes go.

    Args:
        title: The page's title (default: "Meeting notes — #room — date time").
        parent_id: Write the page under this page of the workspace (default: at its top).
        stop_when_empty: End the recording once someone else has been in the call and nobody
            else (other recorders aside) is any more.
        max_duration_s: End the recording after this many seconds.
        takeover: Move this account's place in the call here if it is in it elsewhere.
        data_dir: Where recordings are kept, under `recordings/` (default: the user's coope
            data directory, `coope.notes.settings.data_dir()`).
        recording_days: Recordings older than this many days are deleted first (None, the
            default, or 0 keeps them all); front ends pass `NotesSettings.recording_days`.
        refresh_s: How often the live call's facts are reported while recording.
    """

    title: str | None = None
    parent_id: int | None = None
    stop_when_empty: bool = True
    max_duration_s: float | None = None
    takeover: bool = False
    data_dir: Path | None = None
    recording_days: float | None = None
    refresh_s: float = 0.2

    def check(self) -> None:
        if self.max_duration_s is not None and self.max_duration_s < 0:
            raise InvalidInput("the recording's maximum duration must not be negative")
        if self.recording_days is not None and self.recording_days < 0:
            raise InvalidInput("the days recordings are kept must not be negative")
        if self.refresh_s <= 0:
            raise InvalidInput("the refresh interval must be positive")


@dataclass(frozen=True)
class MeetingNotes:
    """What a run made: the page, where it is, what it says, and the recording it came from."""

    page: PageOut
    path: str  # "Workspace/Parent/Title", as pages are named
    workspace: WorkspaceOut
    recording: Recording
    segments: list[Segment]
    summary: Summary
    stopped_early: CoopeError | None = None  # why the call ended on its own, if it did


class MeetingBot:
    """Records one meeting in `room_id`'s call and writes its notes into `workspace_id`.

    While it runs, `call` is its place in the call and `meter` hears everyone's level, for
    front ends that draw the call themselves; `directory` is where the recording is kept
    (None again if a run failed before anyone was heard, and the directory with it).

    Args:
        client: A logged-in client; the bot records as this account.
        room_id: The chat room whose call to record.
        workspace_id: The workspace the notes page goes into (the account must be an editor).
        transcriber: Speech-to-text, e.g. `coope.notes.engines.transcriber(settings)`.
        summarizer: Summaries, e.g. `coope.notes.engines.summarizer(settings)`.
        options: How to record and where; see `BotOptions`.
    """

    def __init__(
        self,
        client: CoopeClient,
        room_id: int,
        workspace_id: int,
        *,
        transcriber: Transcriber,
        summarizer: Summarizer,
        options: BotOptions | None = None,
    ) -> None:
        self.client = client
        self.room_id = room_id
        self.workspace_id = workspace_id
        self.transcriber = transcriber
        self.summarizer = summarizer
        self.options = options or BotOptions()
        self.call: CallSession | None = None
        self.meter = LevelMeter(time.monotonic)
        self.directory: Path | None = None
        self._stop = asyncio.Event()
        self._on_progress: ProgressCallback | None = None
        self._recorder: SpeakerRecorder | None = None
        self._step: Step = "joining"
        self._detail = ""
        self._started = False
        self._present: set[str] = set()  # everyone who was in the call at some point

    def stop(self) -> None:
        """End the recording; the notes are still written from what was recorded. Stopping
        before the bot is in the call ends the recording as soon as it is."""
        self._stop.set()

    async def run(self, on_progress: ProgressCallback | None = None) -> MeetingNotes:
        """Record, transcribe, summarize and write the notes page; see the module's docstring.

        Raises:
            Forbidden: The account only views the workspace (found out before joining).
            NotFound: No such room, workspace or parent page for this account.
            Conflict: The account is in the call elsewhere and `takeover` is off, or this bot
                has run before.
            Unavailable: The media could not connect, or an engine failed after the meeting
                (the recording is kept in `directory`).
        """
        if self._started:
            raise Conflict("a meeting bot records one meeting: make a new one for the next")
        self._started = True
        self.options.check()
        self._on_progress = on_progress
        room = await self.client.chat.room(self.room_id)
        destination = await self._destination()
        label = room_label(room)
        home = self.options.data_dir or data_dir()
        if self.options.recording_days is not None:
            prune_recordings(home, self.options.recording_days)
        directory = self.directory = new_recording_dir(home, room.name)
        try:
            recording, stopped_early = await self._record(label, directory)
            return await self._notes(label, destination, recording, stopped_early)
        except BaseException:
            if not any(directory.glob("*.wav")):  # nobody was heard: nothing worth keeping
                shutil.rmtree(directory, ignore_errors=True)
                self.directory = None
            raise

    # --- before joining: what can be found out now is not found out after the meeting -----

    async def _destination(self) -> _Destination:
        workspace = await self.client.workspaces.get(self.workspace_id)
        if not workspace.role.can_edit:
            raise Forbidden(
                f"you are a viewer of {workspace.name}: writing the notes needs an editor"
            )
        parent = self.options.parent_id
        if parent is None:
            return _Destination(workspace, ())
        paths = page_paths(await self.client.pages.tree(workspace.id))
        if parent not in paths:
            raise NotFound(f"no page {parent} in {workspace.name} to write the notes under")
        return _Destination(workspace, paths[parent])

    # --- recording ---------------------------------------------------------------------------

    async def _record(self, label: str, directory: Path) -> tuple[Recording, CoopeError | None]:
        recorder = self._recorder = SpeakerRecorder(directory, room=label, room_id=self.room_id)
        session = self.call = self.client.calls.join(
            self.room_id,
            takeover=self.options.takeover,
            recording=True,
            on_event=self._on_call_event,
        )
        stopped_early: CoopeError | None = None
        try:
            self._begin("joining", f"joining the call in {label}")
            async with session:
                self._report("finished")
                self._begin("recording", f"recording into {directory}")
                try:
                    await self._until_done(session, recorder)
                except CoopeError as exc:  # taken over, the daemon gone, the media lost
                    if not recorder.speakers:
                        raise
                    stopped_early = exc
                self._present |= session.participants - {session.username}
                self._report("finished", error=stopped_early)
                self._begin("leaving", "leaving the call")
        finally:
            recording = await recorder.finish()
        self._report("finished")
        return recording, stopped_early

    def _on_call_event(self, event: Event) -> None:
        if self.call is not None:
            self._present |= self.call.participants - {self.call.username}
        self._report("running", event=event)

    async def _until_done(self, session: CallSession, recorder: SpeakerRecorder) -> None:
        """Record until `stop()`, the duration is up, the call empties or ends us (raising
        why)."""
        workers: list[Coroutine[Any, Any, None]] = [
            self._keep(session, recorder),
            self._report_live(),
        ]
        if self.options.stop_when_empty:  # the only worker that ends by itself
            workers.append(_until_empty(session))
        await session.run_until(*workers, stop=self._stop, duration_s=self.options.max_duration_s)

    async def _keep(self, session: CallSession, recorder: SpeakerRecorder) -> None:
        async for user, frame in session.audio_frames():
            self.meter.push(user, frame_to_mono(frame))
            await recorder.add(user, frame)

    async def _report_live(self) -> None:
        while True:
            await asyncio.sleep(self.options.refresh_s)
            self._report("running")

    def _facts(self) -> CallFacts | None:
        session, recorder = self.call, self._recorder
        if session is None or recorder is None:
            return None
        others = sorted(session.participants - {session.username})
        levels = {user: self.meter.level(user) for user in others}
        return CallFacts(
            seconds=recorder.seconds(),
            participants=frozenset(others),
            recorders=frozenset(session.recorders),
            speaking=frozenset(user for user in others if self.meter.speaking(user)),
            levels=levels,
            heard=tuple(recorder.speakers),
        )

    # --- after the meeting ---------------------------------------------------------------------

    async def _notes(
        self,
        label: str,
        destination: _Destination,
        recording: Recording,
        stopped_early: CoopeError | None,
    ) -> MeetingNotes:
        segments = await self._transcribe(recording)
        self._begin("summarizing", f"summarizing {len(segments)} lines")
        summary = await summarize(segments, self.summarizer, await self._participants(recording))
        self._report("finished")
        title = self.options.title or notes_title(label, parse_started(recording.started_at))
        workspace = destination.workspace
        self._begin("writing", f"writing the page into {workspace.name}")
        page = await write_notes(
            self.client, workspace.id, title, summary, segments, parent_id=self.options.parent_id
        )
        # Nothing that can fail from here: the page exists, and a failed run would tell
        # people to make the notes again.
        path = PageEntry(page, workspace, (*destination.parent_titles, page.title)).path
        self._report("finished")
        return MeetingNotes(page, path, workspace, recording, segments, summary, stopped_early)

    async def _participants(self, recording: Recording) -> list[Participant]:
        """Everyone who was in the call or was heard, with the display names the account
        knows (its friends'): the names action items can be given to."""
        usernames = self._present | {track.speaker for track in recording.tracks}
        try:
            known = {f.user.username: f.user.display_name for f in await self.client.friends.list()}
        except CoopeError:  # the names help the summary; the meeting's notes matter more
            known = {}
        return [Participant(name, known.get(name, "")) for name in sorted(usernames)]

    async def _transcribe(self, recording: Recording) -> list[Segment]:
        """Every track in turn, each a transcribing step of its own."""

        def next_track(detail: str) -> None:
            if self._step == "transcribing":
                self._report("finished")
            self._begin("transcribing", detail)

        segments = await transcribe_recording(recording, self.transcriber, next_track)
        if self._step == "transcribing":
            self._report("finished")
        return segments

    # --- progress ----------------------------------------------------------------------------

    def _begin(self, step: Step, detail: str) -> None:
        self._step, self._detail = step, detail
        self._report("started")

    def _report(
        self, state: StepState, *, event: Event | None = None, error: CoopeError | None = None
    ) -> None:
        if self._on_progress is None:
            return
        facts = self._facts() if state == "running" else None
        self._on_progress(BotProgress(self._step, state, self._detail, facts, event, error))


@dataclass(frozen=True)
class _Destination:
    """Where the notes go, as found out before joining."""

    workspace: WorkspaceOut
    parent_titles: tuple[str, ...]  # the parent page's path within the workspace; () at the top


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
        await session.participants_changed()
