"""`CallControl`: your place in a room's call from the TUI, and the meeting-notes bot.

Joining opens the audio the app was started with (`coope tui --input/--output/--device`, else
the microphone and speaker), joins the call of the room on screen and keeps it until you leave
(j, or the bar's button) or the call ends you (taken over by another device, removed from the
room, the daemon gone: said in plain words). Already in the call on another device, you are
asked whether to move it here. Muting sends silence in place of your voice.

The meeting-notes bot (b) records the call as your account (`coope.notes.bot.MeetingBot`) and
writes its notes into a workspace you edit. One account has one place in a call, so when you
are in it yourself the bot can only take that place: you are asked first. b again ends its
recording; the notes are then made from what it heard (b while its models load: it does not
start). Quitting while it is at work is asked first (`quit_question`): it would stop the bot
before any notes are written, though what it recorded stays on disk. `aclose` leaves the call
and stops the bot.

Every coroutine here runs as a worker of the app (`spawn`), which turns a `CoopeError` into a
notification. What to draw goes to `show` as a `CallShown` (None: no call).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from textual.app import App
from textual.notifications import SeverityLevel

from coope.client import CoopeClient
from coope.client.call_roster import CallRoster
from coope.client.names import room_label
from coope.core.errors import (
    Conflict,
    CoopeError,
    DaemonUnreachable,
    InvalidInput,
    NotFound,
)
from coope.core.events import CallParticipantLeft, Event
from coope.core.rules import visible
from coope.core.social_schemas import RoomOut
from coope.core.workspace_schemas import WorkspaceOut
from coope.media.choice import AudioChoice
from coope.tui.call_bar import CallAsked, CallBar, CallShown
from coope.tui.call_pick import WorkspacePicker
from coope.tui.dialogs import ConfirmScreen
from coope.tui.session import Session
from coope.tui.work import Spawn

if TYPE_CHECKING:
    from coope.client.calls import CallSession
    from coope.media.call_audio import CallAudio
    from coope.notes.bot import BotProgress, MeetingBot

Say = Callable[[str, str], None]
"""`say(words, severity)`: a plain-words notification ("information", "warning", "error")."""
Question = Callable[[str, Callable[[bool], None]], None]
"""`ask(question, answered)`: a yes/no question; `answered(True)` on yes."""
PickWorkspace = Callable[[list[WorkspaceOut], Callable[[int | None], None]], None]
"""`pick(workspaces, chosen)`: which one the notes go into; `chosen(None)` if none."""

REFRESH_S = 0.25  # the bar's timer and speaking dots
CLOSE_S = 5.0  # quitting waits this long at most for the call and the bot to close
TAKEOVER_QUESTION = "You are in this call on another device. Move the call here?"
BOT_QUESTION = (
    "The notes bot records as you, so it takes your place in this call: you will no longer"
    " hear or be heard here. Start it?"
)


@dataclass
class _Call:
    room: RoomOut
    session: CallSession
    audio: CallAudio
    roster: CallRoster
    stop: asyncio.Event
    connected: bool = False


class CallControl:
    """Your call and your notes bot, for one signed-in client.

    Args:
        client: The signed-in client.
        spawn: Runs a coroutine as a worker of the app.
        show: Called with what the call bar shows (None hides it), on the app's loop.
        say: Tells the person something (plain words, never markup) with a severity.
        ask: Asks a yes/no question.
        pick_workspace: Asks which of these workspaces the notes go into.
        audio: Where the audio comes from and goes.
    """

    def __init__(
        self,
        client: CoopeClient,
        spawn: Spawn,
        show: Callable[[CallShown | None], None],
        say: Say,
        ask: Question,
        pick_workspace: PickWorkspace,
        audio: AudioChoice,
    ) -> None:
        self.client, self.spawn, self.show, self.say, self.ask = client, spawn, show, say, ask
        self.pick_workspace = pick_workspace
        self.audio = audio
        self.call: _Call | None = None
        self.bot: MeetingBot | None = None
        self._bot_line: str | None = None
        self._bot_roster: CallRoster | None = None
        self._bot_room: RoomOut | None = None
        self._bot_joining = False
        self._after_leaving: Callable[[], None] | None = None
        # The tasks running the call and the bot, for `aclose` to wait for.
        self._call_task: asyncio.Task[Any] | None = None
        self._bot_task: asyncio.Task[Any] | None = None  # from the models loading on
        self.session: Session | None = None  # the TUI's, when made by `of_app`

    @classmethod
    def of_app(cls, app: App[Any], session: Session, audio: AudioChoice | None) -> CallControl:
        """The controller for the app's signed-in `session`, showing the call in the main
        screen's `CallBar`; `audio` is the app's `AudioChoice` (None: the devices)."""

        def show(shown: CallShown | None) -> None:
            for screen in app.screen_stack:
                for bar in screen.query(CallBar):
                    bar.show(shown)

        def say(words: str, severity: str) -> None:
            level = cast("SeverityLevel", severity)
            app.notify(visible(words), title="coope", severity=level, markup=False)

        def ask(question: str, answered: Callable[[bool], None]) -> None:
            app.push_screen(ConfirmScreen(question), lambda yes: answered(bool(yes)))

        def pick(workspaces: list[WorkspaceOut], chosen: Callable[[int | None], None]) -> None:
            app.push_screen(WorkspacePicker(workspaces), chosen)

        control = cls(session.client, session.spawn, show, say, ask, pick, audio or AudioChoice())
        control.session = session
        return control

    def on_asked(self, event: CallAsked) -> None:
        """A `CallAsked` from the main screen's keys or the bar, about the room on screen."""
        session = self.session
        if session is None:
            return
        shown = session.rooms.shown if session.screen.view == "room" else None
        self.asked(event.ask, session.rooms.by_id.get(shown) if shown is not None else None)

    # --- what the person asks for ---------------------------------------------------------

    def asked(self, ask: str, room: RoomOut | None) -> None:
        """`room` is the room on screen (None: no room is)."""
        if ask == "join":
            if self.call is not None:
                self.leave()
            elif room is None:
                self.say("Open a room first: its call is the one joined.", "warning")
            elif self._bot_recording():
                self.say("The notes bot is in a call as you: b ends its recording.", "warning")
            elif self._bot_starting():
                self.say("The notes bot is starting as you: b stops it.", "warning")
            else:
                self.spawn(self.join(room, takeover=False), group="call")
        elif ask == "leave":
            self.leave()
        elif ask == "mute":
            self.toggle_mute()
        elif ask == "notes":
            self.notes(room)

    def leave(self) -> None:
        if self.call is not None:
            self.call.stop.set()

    def toggle_mute(self) -> None:
        call = self.call
        if call is None:
            self.say("You are in no call: j joins the call of the room on screen.", "warning")
            return
        call.audio.muted = not call.audio.muted
        self._show()

    # --- the call ---------------------------------------------------------------------------

    async def join(self, room: RoomOut, *, takeover: bool) -> None:
        """Be in `room`'s call until you leave or it ends you."""
        from coope.media.call_audio import CallAudio, open_sink, open_source

        # PortAudio blocks (checking devices, opening them): in threads, the warnings said
        # back here on the loop.
        warnings: list[str] = []
        await asyncio.to_thread(self.audio.check)  # no PortAudio, no devices: said first
        loop = asyncio.get_running_loop()
        source = await asyncio.to_thread(open_source, self.audio, warnings.append, loop)
        try:
            sink = await asyncio.to_thread(open_sink, self.audio, warnings.append)
        except BaseException:
            await asyncio.to_thread(source.stop)
            raise
        audio = CallAudio(source, sink, time.monotonic)
        call: _Call | None = None
        elsewhere = False
        try:
            for words in warnings:
                self.say(words[:1].upper() + words[1:] + ".", "warning")
            session = self.client.calls.join(
                room.id,
                takeover=takeover,
                audio=audio.source,
                on_audio=audio.on_audio,
                on_event=self._call_event,
            )
            call = self.call = _Call(
                room, session, audio, CallRoster(session, audio.meter), stop=asyncio.Event()
            )
            self._call_task = asyncio.current_task()
            self._show()
            try:
                elsewhere = await self._be_in(call, takeover)
            finally:
                await session.aclose()
        finally:
            await audio.aclose()
            if call is not None and self.call is call:
                self.call = self._call_task = None
            self._show()
            after, self._after_leaving = self._after_leaving, None
            if after is not None:
                after()
        if elsewhere:  # asked once this try is all closed: yes starts the next one

            def answered(yes: bool) -> None:
                if yes:
                    self.spawn(self.join(room, takeover=True), group="call")

            self.ask(TAKEOVER_QUESTION, answered)

    async def _be_in(self, call: _Call, takeover: bool) -> bool:
        """In the call until it ends; True if it could not be joined because you are in it
        elsewhere (and `takeover` was not asked for)."""
        label = visible_label(call.room)
        try:
            await call.session.start()
        except Conflict:
            if takeover:
                raise
            return True
        call.connected = True
        call.roster.started = call.roster.clock()
        self._show()
        try:
            await call.session.run_until(call.audio.mixer.run(), self._tick(), stop=call.stop)
        except CoopeError as exc:
            self.say(ended_words(label, exc), "warning")
            return False
        if self._after_leaving is None:
            self.say(f"You left the call in {label}.", "information")
        else:
            self.say(f"Your place in the call in {label} goes to the notes bot.", "information")
        return False

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_S)
            self._show()

    def _call_event(self, event: Event) -> None:
        call = self.call
        if call is None:
            return
        if isinstance(event, CallParticipantLeft):
            call.audio.forget(event.data.user)
        call.roster.event(event)
        self._show()

    # --- the meeting-notes bot ----------------------------------------------------------------

    def _bot_recording(self) -> bool:
        return self.bot is not None and self._bot_roster is not None

    def _bot_starting(self) -> bool:
        """Loading its models: no `MeetingBot` yet, but b must stop it, not start another."""
        return self._bot_task is not None and self.bot is None

    def notes(self, room: RoomOut | None) -> None:
        """Start the bot for the room on screen (asking where the notes go), or end its
        recording if it records."""
        if self.bot is not None:
            self.bot.stop()
            self.say(
                "The notes bot stops recording; the notes are made from what it heard.",
                "information",
            )
            return
        if self._bot_starting() and self._bot_task is not None:
            self._bot_task.cancel()
            self.say("The notes bot does not start.", "information")
            return
        call_room = self.call.room if self.call is not None else room
        if call_room is None:
            self.say("Open a room first: the notes bot records its call.", "warning")
            return
        self.spawn(self._choose_workspace(call_room), group="notes")

    async def _choose_workspace(self, room: RoomOut) -> None:
        editable = [w for w in await self.client.workspaces.list() if w.role.can_edit]
        if not editable:
            raise InvalidInput("the notes go into a workspace you edit, and you edit none")

        def chosen(workspace_id: int | None) -> None:
            if workspace_id is not None:
                self._start_bot(room, workspace_id)

        if len(editable) == 1:
            chosen(editable[0].id)
        else:
            self.pick_workspace(list(editable), chosen)

    def _start_bot(self, room: RoomOut, workspace_id: int) -> None:
        call = self.call
        if call is None:
            self.spawn(self.run_bot(room, workspace_id), group="notes")
            return

        def answered(yes: bool) -> None:
            if not yes or self.call is not call:
                return
            # The bot joins once your place is free: the daemon holds one per account.
            self._after_leaving = lambda: self.spawn(self.run_bot(room, workspace_id), "notes")
            self.leave()

        self.ask(BOT_QUESTION, answered)

    async def run_bot(self, room: RoomOut, workspace_id: int) -> None:
        """Record the call, then transcribe, summarize and write the notes page."""
        from coope.notes import engines
        from coope.notes.bot import BotOptions, MeetingBot
        from coope.notes.settings import NotesSettings

        me = self._bot_task = asyncio.current_task()
        self._bot_room, self._bot_joining = room, True
        self._bot_line = "Notes bot: loading models…"
        self._show()
        try:
            settings = NotesSettings.from_env()
            transcriber = await asyncio.to_thread(engines.transcriber, settings)
            summarizer = await asyncio.to_thread(engines.summarizer, settings)
            options = BotOptions(recording_days=settings.recording_days)
            bot = self.bot = MeetingBot(
                self.client,
                room.id,
                workspace_id,
                transcriber=transcriber,
                summarizer=summarizer,
                options=options,
            )
            self._bot_line = "Notes bot: starting"
            self._show()
            try:
                notes = await bot.run(self._bot_progress)
            except CoopeError as exc:
                if bot.directory is not None:
                    exc.message += f". The recording is kept in {bot.directory}"
                raise
        finally:
            if self._bot_task is me:  # not yet replaced by the next bot
                self.bot = self._bot_roster = self._bot_room = self._bot_task = None
                self._bot_line = None
                self._show()
        self.say(f"Meeting notes written to {notes.path}.", "information")
        if self.session is not None:  # the new page, in the sidebar's tree
            self.spawn(self.session.load_pages())

    def _bot_progress(self, progress: BotProgress) -> None:
        bot = self.bot
        if bot is None:
            return
        self._bot_joining = progress.step == "joining"
        if progress.step == "joining" and progress.state == "started" and bot.call is not None:
            self._bot_roster = CallRoster(bot.call, bot.meter)
        if progress.step == "recording" and progress.state == "finished":
            self._bot_roster = None
            if progress.error is not None:
                self.say(
                    f"The notes bot's recording stopped early ({progress.error.message}); the"
                    " notes are made from what it heard.",
                    "warning",
                )
        if progress.step == "recording":
            seconds = int(progress.call.seconds) if progress.call is not None else 0
            heard = len(progress.call.heard) if progress.call is not None else 0
            self._bot_line = (
                f"Notes bot: recording {seconds // 60:02d}:{seconds % 60:02d}"
                f" · {heard} heard · b ends it"
            )
        else:
            self._bot_line = f"Notes bot: {progress.detail}"
        if progress.event is not None and self._bot_roster is not None:
            self._bot_roster.event(progress.event)
        self._show()

    # --- closing -------------------------------------------------------------------------------

    def quit_question(self) -> str | None:
        """What to ask before quitting, while quitting would lose the notes bot's notes."""
        bot = self.bot
        if bot is None:
            return None
        kept = f"; what it recorded stays in {bot.directory}" if bot.directory else ""
        if self._bot_roster is not None or self._bot_joining:
            return f"The notes bot is recording: quit anyway? It stops without notes{kept}."
        return f"The notes bot is still writing the notes: quit anyway? They are lost{kept}."

    async def aclose(self, timeout_s: float = CLOSE_S) -> None:
        """Leave the call and stop the notes bot (no notes are written: what it recorded
        stays on disk), waiting up to `timeout_s` for both to close."""
        self._after_leaving = None  # the bot does not take the place now
        self.leave()
        if self._bot_task is not None:
            self._bot_task.cancel()
        tasks = {t for t in (self._call_task, self._bot_task) if t is not None and not t.done()}
        if tasks:
            await asyncio.wait(tasks, timeout=timeout_s)

    # --- drawing ------------------------------------------------------------------------------

    def _show(self) -> None:
        call = self.call
        if call is not None:
            roster = call.roster
            self.show(
                CallShown(
                    room=room_label(call.room),
                    elapsed=roster.elapsed,
                    people=roster.people(),
                    recorders=roster.recorders,
                    muted=call.audio.muted,
                    connecting=not call.connected,
                    notes=self._bot_line,
                )
            )
        elif self._bot_line is not None and self._bot_room is not None:
            bots = self._bot_roster
            self.show(
                CallShown(
                    room=room_label(self._bot_room),
                    elapsed=bots.elapsed if bots is not None else "",
                    people=bots.people() if bots is not None else [],
                    recorders=bots.recorders if bots is not None else [],
                    connecting=self._bot_joining,
                    mine=False,
                    notes=self._bot_line,
                )
            )
        else:
            self.show(None)


def visible_label(room: RoomOut) -> str:
    return visible(room_label(room))


def ended_words(label: str, error: CoopeError) -> str:
    """Why a call ended on its own, in plain words."""
    if isinstance(error, Conflict):
        return f"You joined the call in {label} on another device: you are no longer in it here."
    if isinstance(error, NotFound):
        return f"You are out of the call in {label}: you are no longer in the room."
    if isinstance(error, DaemonUnreachable):
        return f"The call in {label} ended: the connection to the daemon dropped."
    return f"The call in {label} ended: {error.message}"
