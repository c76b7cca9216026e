"""A call from the TUI: alice joins the call of the room on screen (audio from and to WAV
files), bob is a real aiortc peer through the client; the call bar, mute, leaving, the
takeover question, a call that ends on its own, and no sound hardware."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import numpy as np
import pytest
from textual.pilot import Pilot
from textual.widgets import OptionList

from coope.client import CoopeClient
from coope.client.calls import CallSession
from coope.client.profiles import Profiles
from coope.core.errors import Conflict, Unavailable
from coope.core.social_schemas import RoomOut
from coope.media.call_audio import CallAudio
from coope.media.choice import AudioChoice
from coope.media.pcm import frame_to_mono
from coope.media.sinks import WavSink
from coope.media.sources import SilenceSource, WavSource
from coope.tui.app import CoopeApp
from coope.tui.call_bar import CallBar, CallShown
from coope.tui.call_pick import WorkspacePicker
from coope.tui.call_rooms import LiveCalls, call_mark
from coope.tui.dialogs import ConfirmScreen
from tests.conftest import DaemonFactory
from tests.daemon.social_helpers import group_room
from tests.helpers import RunningDaemon, assert_eventually
from tests.media.audio import band_energy, read_mono, tone, write_wav
from tests.notes.openai_server import CannedSegment, CannedTranscription, FakeOpenAI
from tests.tui.conftest import SIZE, main_screen, shows, tui, until

# Real aiortc peers: connecting takes a few seconds on a busy machine.
pytestmark = pytest.mark.timeout(90)

CALL_S = 20.0  # joining, media flowing, leaving
TONE_S = 120.0  # longer than a test may take: the tones never run out into silence


@pytest.fixture
async def daemon(start_daemon: DaemonFactory) -> RunningDaemon:
    """Calls on 127.0.0.1 only."""
    return await start_daemon(ice_hosts=("127.0.0.1",))


@pytest.fixture
def files(tmp_path: Path) -> AudioChoice:
    """alice says a 440 Hz tone and what she hears goes into a file."""
    return AudioChoice(
        input=write_wav(tmp_path / "alice.wav", tone(440, TONE_S)), output=tmp_path / "heard.wav"
    )


def calling_tui(
    daemon: RunningDaemon, client: CoopeClient, profiles: Profiles, audio: AudioChoice | None
) -> CoopeApp:
    return CoopeApp(daemon.url, client.token, profiles=profiles, call_audio=audio)


def bar(pilot: Pilot[None]) -> CallBar:
    return main_screen(pilot).query_one(CallBar)


def bar_says(pilot: Pilot[None], text: str) -> bool:
    call_bar = bar(pilot)
    return call_bar.display and text in call_bar.shown_text


def said(app: CoopeApp) -> list[str]:
    """Every notification so far, as the person reads it."""
    return [n.message for n in app._notifications]


async def room_on_screen(pilot: Pilot[None], room: RoomOut) -> None:
    app = pilot.app
    assert isinstance(app, CoopeApp)

    def shown() -> bool:
        return app.session is not None and app.session.rooms.shown == room.id

    await until(pilot, shown, f"{room.name} on screen")


class Listener:
    """bob in the call: says a 1000 Hz tone, and keeps what he hears of alice."""

    def __init__(self, session: CallSession) -> None:
        self.session = session
        self.heard: list[np.ndarray] = []

    async def listen(self) -> None:
        async for user, frame in self.session.audio_frames():
            if user == "alice":
                self.heard.append(frame_to_mono(frame))

    def recent(self, frames: int = 25) -> np.ndarray:
        return np.concatenate(self.heard[-frames:]) if len(self.heard) >= frames else np.ones(1)

    def level(self) -> float:
        """The loudest of alice lately (0 to 1)."""
        return float(np.abs(self.recent()).max())


@asynccontextmanager
async def bob_in_call(
    client: CoopeClient, room: RoomOut, tmp_path: Path
) -> AsyncIterator[Listener]:
    source = WavSource(write_wav(tmp_path / "bob.wav", tone(1000, TONE_S)))
    try:
        async with client.calls.join(room.id, audio=source) as session:
            listener = Listener(session)
            task = asyncio.create_task(listener.listen())
            try:
                yield listener
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
    finally:
        source.stop()


async def test_join_hear_mute_and_leave_from_the_tui(
    daemon: RunningDaemon,
    alice: CoopeClient,
    bob: CoopeClient,
    profiles: Profiles,
    files: AudioChoice,
    tmp_path: Path,
) -> None:
    team = await group_room(alice, "team", [bob])
    app = calling_tui(daemon, alice, profiles, files)
    async with app.run_test(size=SIZE) as pilot:
        await room_on_screen(pilot, team)
        assert not bar(pilot).display
        await pilot.press("j")
        await until(pilot, lambda: bar_says(pilot, "Call in #team · 00:0"), "in the call", CALL_S)
        assert bar_says(pilot, "alice (you)") and bar_says(pilot, "mic on")

        async with bob_in_call(bob, team, tmp_path) as listener:
            await until(pilot, lambda: bar_says(pilot, "● bob"), "bob speaking in the bar", CALL_S)
            # bob hears alice's tone.
            await until(
                pilot,
                lambda: band_energy(listener.recent(50), 440) > 100,
                "bob hears alice",
                CALL_S,
            )
            assert listener.session.participants == {"alice", "bob"}
            loud = listener.level()  # alice's tone as bob hears it, unmuted (about 0.3)
            assert loud > 0.1

            # Muted, alice sends silence; unmuted, her tone again (it lasts longer than the
            # test: silence here can only be the mute's).
            await pilot.press("m")
            await until(pilot, lambda: bar_says(pilot, "muted (m)"), "muted in the bar")
            await until(
                pilot, lambda: listener.level() < loud / 100, "bob hears silence from alice", CALL_S
            )
            await pilot.press("m")
            await until(
                pilot,
                lambda: band_energy(listener.recent(50), 440) > 100 and listener.level() > loud / 2,
                "bob hears alice again",
                CALL_S,
            )

            # alice leaves from the bar; bob sees it, and the bar goes.
            await pilot.click("#call-leave")
            await until(pilot, lambda: not bar(pilot).display, "the bar gone")
            await until(
                pilot, lambda: listener.session.participants == {"bob"}, "alice gone for bob"
            )
            assert "You left the call in #team." in said(app)
    heard, _ = read_mono(tmp_path / "heard.wav")
    assert band_energy(heard, 1000) > 10 * band_energy(heard, 440) > 0  # alice heard bob


async def test_the_takeover_question_and_a_call_that_ends_on_its_own(
    daemon: RunningDaemon,
    alice: CoopeClient,
    bob: CoopeClient,
    profiles: Profiles,
    files: AudioChoice,
) -> None:
    team = await group_room(alice, "team", [bob])
    silence = SilenceSource()
    try:
        # alice is in the call already, on another device (a client of her own).
        elsewhere = alice.calls.join(team.id, audio=silence)
        await elsewhere.start()
        app = calling_tui(daemon, alice, profiles, files)
        async with app.run_test(size=SIZE) as pilot:
            await room_on_screen(pilot, team)
            await pilot.press("j")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
            assert isinstance(app.screen, ConfirmScreen)
            assert (
                app.screen.question == "You are in this call on another device. Move the call here?"
            )
            await pilot.press("y")
            await until(pilot, lambda: bar_says(pilot, "Call in #team · 00:"), "moved here", CALL_S)
            with pytest.raises(Conflict):
                await asyncio.wait_for(elsewhere.wait(), CALL_S)
            await elsewhere.aclose()

            # Taken over in turn: the bar closes and says why in plain words.
            again = alice.calls.join(team.id, audio=silence, takeover=True)
            await again.start()
            try:
                await until(pilot, lambda: not bar(pilot).display, "the bar closed", CALL_S)
                assert (
                    "You joined the call in #team on another device: you are no longer in it here."
                    in said(app)
                )
            finally:
                await again.aclose()
    finally:
        silence.stop()


async def test_without_portaudio_joining_says_so(
    daemon: RunningDaemon,
    alice: CoopeClient,
    bob: CoopeClient,
    profiles: Profiles,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With no PortAudio library (as on a server), joining with the microphone and speaker is
    refused in plain words, and nothing is joined."""
    from coope.media import devices

    def missing() -> None:
        raise Unavailable(devices.PORTAUDIO_MISSING)

    monkeypatch.setattr(devices, "load_sounddevice", missing)
    team = await group_room(alice, "team", [bob])
    app = calling_tui(daemon, alice, profiles, None)
    async with app.run_test(size=SIZE) as pilot:
        await room_on_screen(pilot, team)
        await pilot.press("j")
        await until(pilot, lambda: devices.PORTAUDIO_MISSING in said(app), "told")
        assert not bar(pilot).display
        assert await bob.calls.list() == []


@pytest.fixture
def notes_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    """The notes engines talk to a fake OpenAI-compatible server (the outside service);
    recordings go into the test's own data directory."""
    with FakeOpenAI() as server:
        server.transcription = CannedTranscription(
            segments=[CannedSegment(0.3, 2.0, "We ship on Friday.")], duration=3.0
        )
        server.chat_responder = lambda request: json.dumps(
            {"summary": ["The release."], "decisions": ["Ship on Friday."], "action_items": []}
        )
        monkeypatch.setenv("COOPE_OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("COOPE_OPENAI_RETRIES", "0")
        monkeypatch.setenv("COOPE_OPENAI_TIMEOUT_S", "10")
        monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
        yield server


async def test_the_notes_bot_records_the_call_and_shows_how_it_goes(
    daemon: RunningDaemon,
    alice: CoopeClient,
    bob: CoopeClient,
    profiles: Profiles,
    files: AudioChoice,
    notes_service: FakeOpenAI,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    team = await group_room(alice, "team", [bob])
    minutes = await alice.workspaces.create("Minutes")
    lines: list[str] = []
    draw = CallBar.show

    def show(self: CallBar, shown: CallShown | None) -> None:
        if shown is not None and shown.notes and (not lines or lines[-1] != shown.notes):
            lines.append(shown.notes)
        draw(self, shown)

    monkeypatch.setattr(CallBar, "show", show)
    app = calling_tui(daemon, alice, profiles, files)
    async with app.run_test(size=SIZE) as pilot:
        await room_on_screen(pilot, team)
        async with bob_in_call(bob, team, tmp_path) as listener:
            await pilot.press("b")  # alice is not in the call: the bot joins as her
            await until(pilot, lambda: bar_says(pilot, "Notes bot: recording"), "recording", CALL_S)
            await until(pilot, lambda: bar_says(pilot, "● bob"), "bob speaking, seen by the bot")
            assert bar_says(pilot, "● recording: alice")
            assert listener.session.recorders == {"alice"}
            await until(pilot, lambda: bar_says(pilot, "1 heard"), "bob recorded", CALL_S)
        # bob left: the bot stops recording and makes the notes.
        await until(
            pilot, lambda: any("Meeting notes written to Minutes/" in s for s in said(app)), "done"
        )
        await until(pilot, lambda: not bar(pilot).display, "the bar gone")
    steps = [line.split(" ")[2] for line in lines]
    assert lines[0] == "Notes bot: loading models…" and steps[1] == "starting", lines
    assert "recording" in steps, lines
    assert steps.index("transcribing") < steps.index("summarizing") < steps.index("writing")
    [page] = await alice.pages.tree(minutes.id)
    assert page.title.startswith("Meeting notes")
    assert "Ship on Friday." in (await alice.pages.content(page.id)).markdown


async def test_the_notes_bot_takes_your_place_in_the_call_when_you_say_so(
    daemon: RunningDaemon,
    alice: CoopeClient,
    bob: CoopeClient,
    profiles: Profiles,
    files: AudioChoice,
    notes_service: FakeOpenAI,
    tmp_path: Path,
) -> None:
    """One account has one place in a call: from inside it, b asks first; yes hands the
    place to the bot, and b again ends its recording (the notes are still written)."""
    team = await group_room(alice, "team", [bob])
    await alice.workspaces.create("Minutes")
    await alice.workspaces.create("Other")
    app = calling_tui(daemon, alice, profiles, files)
    async with app.run_test(size=SIZE) as pilot:
        await room_on_screen(pilot, team)
        async with bob_in_call(bob, team, tmp_path) as listener:
            await pilot.press("j")
            await until(pilot, lambda: bar_says(pilot, "Call in #team · 00:"), "in", CALL_S)
            await pilot.press("b")
            await until(pilot, lambda: isinstance(app.screen, WorkspacePicker), "which workspace")
            await pilot.press("enter")  # the first: Minutes
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
            await pilot.press("y")
            await until(pilot, lambda: bar_says(pilot, "Notes bot in the call"), "bot in", CALL_S)
            await until(pilot, lambda: listener.session.recorders == {"alice"}, "recording")
            await until(pilot, lambda: bar_says(pilot, "1 heard"), "bob recorded", CALL_S)

            # Quitting now would lose the notes: asked first, and no keeps the bot at work.
            await pilot.press("ctrl+q")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "asked")
            assert isinstance(app.screen, ConfirmScreen)
            assert app.screen.question.startswith("The notes bot is recording: quit anyway?")
            await pilot.press("n")
            await until(pilot, lambda: bar_says(pilot, "Notes bot: recording"), "still recording")
            assert app.is_running

            await pilot.press("b")
            await until(
                pilot,
                lambda: any("Meeting notes written to Minutes/" in s for s in said(app)),
                "notes written",
            )
            assert listener.session.participants == {"bob"}
            assert not bar(pilot).display


async def test_live_calls_follow_calls_starting_and_ending(
    alice: CoopeClient, bob: CoopeClient, tmp_path: Path
) -> None:
    """What the room list's call marker is drawn from."""
    team = await group_room(alice, "team", [bob])
    seen: list[frozenset[int]] = []
    work: list[asyncio.Task[None]] = []
    calls = LiveCalls(
        alice, lambda coro, group=None: work.append(asyncio.create_task(coro)), seen.append
    )
    calls.start()
    try:
        await asyncio.gather(*work)
        assert calls.rooms == frozenset() and seen == []
        async with bob_in_call(bob, team, tmp_path):
            await assert_eventually(lambda: calls.rooms == {team.id}, CALL_S, "the call seen")
        await assert_eventually(lambda: calls.rooms == frozenset(), CALL_S, "its end seen")
        assert seen == [frozenset({team.id}), frozenset()]
        assert str(call_mark()) == " ◉"
    finally:
        calls.stop()


def test_the_audio_options_reach_the_app(
    tmp_path: Path, profiles: Profiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    from coope.tui.__main__ import main

    started: list[CoopeApp] = []
    monkeypatch.setattr(CoopeApp, "run", lambda app: started.append(app))
    wav = write_wav(tmp_path / "in.wav", tone(440, 0.1))
    out = tmp_path / "out.wav"
    argv = ["--server", "http://127.0.0.1:1", "--input", str(wav), "--output", str(out)]
    assert main([*argv, "--device", "2"]) == 0
    assert main([*argv, "--device", "USB headset"]) == 0
    assert main(["--server", "http://127.0.0.1:1"]) == 0
    assert [app.call_audio for app in started] == [
        AudioChoice(wav, out, 2),
        AudioChoice(wav, out, "USB headset"),
        AudioChoice(),
    ]
    assert main(["--server", "http://127.0.0.1:1", "--input", str(tmp_path / "nope.wav")]) == 2
    assert len(started) == 3


async def test_rooms_with_a_call_going_on_are_marked(
    daemon: RunningDaemon, alice: CoopeClient, bob: CoopeClient, profiles: Profiles, tmp_path: Path
) -> None:
    team = await group_room(alice, "team", [bob])
    app = tui(daemon, alice, profiles)
    async with app.run_test(size=SIZE) as pilot:
        rooms = main_screen(pilot).sidebar.query_one("#rooms", OptionList)
        await until(pilot, lambda: shows(rooms, "#team"), "the room")
        assert not shows(rooms, call_mark().plain)
        async with bob_in_call(bob, team, tmp_path):
            await until(pilot, lambda: shows(rooms, "#team" + call_mark().plain), "marked", CALL_S)
        await until(pilot, lambda: not shows(rooms, call_mark().plain), "the mark gone", CALL_S)


async def test_quitting_in_a_call_leaves_it_and_finishes_the_file(
    daemon: RunningDaemon,
    alice: CoopeClient,
    bob: CoopeClient,
    profiles: Profiles,
    files: AudioChoice,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    team = await group_room(alice, "team", [bob])
    app = calling_tui(daemon, alice, profiles, files)
    in_call_when_the_client_closed: list[bool] = []
    close_client = CoopeClient.aclose

    async def aclose(client: CoopeClient) -> None:
        if client is app.client and app._calls is not None:
            in_call_when_the_client_closed.append(app._calls.call is not None)
        await close_client(client)

    close_audio = CallAudio.aclose

    async def slow_close(audio: CallAudio) -> None:
        await asyncio.sleep(3.0)  # a device slow to close: longer than Textual waits
        await close_audio(audio)

    monkeypatch.setattr(CoopeClient, "aclose", aclose)
    monkeypatch.setattr(CallAudio, "aclose", slow_close)
    async with bob_in_call(bob, team, tmp_path) as listener:
        async with app.run_test(size=SIZE) as pilot:
            await room_on_screen(pilot, team)
            await pilot.press("j")
            await until(pilot, lambda: listener.session.participants == {"alice", "bob"}, "in")
            await until(pilot, lambda: len(listener.heard) > 50, "alice heard", CALL_S)
            await pilot.press("ctrl+q")  # not at work, the notes bot asks nothing
        # The call was left before the app's client closed (its leave said through it), and
        # the file's sizes are written.
        assert in_call_when_the_client_closed == [False]
        [call] = await bob.calls.list()
        assert call.participants == ["bob"]
        assert files.output is not None
        heard, _ = read_mono(files.output)
        assert len(heard) > 0 and files.output.stat().st_size == 44 + 2 * len(heard)


async def test_a_join_that_fails_closes_the_audio_it_opened(
    daemon: RunningDaemon,
    alice: CoopeClient,
    bob: CoopeClient,
    profiles: Profiles,
    files: AudioChoice,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from coope.media import call_audio

    opened: list[object] = []

    def opening(open_: Callable[..., object]) -> Callable[..., object]:
        def wrapped(*args: object) -> object:
            opened.append(open_(*args))
            return opened[-1]

        return wrapped

    def refused(room_id: int, **options: object) -> CallSession:
        raise Unavailable("no calls today")

    monkeypatch.setattr(call_audio, "open_source", opening(call_audio.open_source))
    monkeypatch.setattr(call_audio, "open_sink", opening(call_audio.open_sink))
    team = await group_room(alice, "team", [bob])
    app = calling_tui(daemon, alice, profiles, files)
    async with app.run_test(size=SIZE) as pilot:
        await room_on_screen(pilot, team)
        assert app.client is not None
        monkeypatch.setattr(app.client.calls, "join", refused)
        await pilot.press("j")
        await until(pilot, lambda: "no calls today" in said(app), "told")
        source, sink = opened
        assert isinstance(source, WavSource) and isinstance(sink, WavSink)
        await until(pilot, lambda: source.readyState == "ended" and sink._closed, "closed")
        assert not bar(pilot).display


async def test_signed_in_again_calls_go_through_the_new_client(
    daemon: RunningDaemon, alice: CoopeClient, bob: CoopeClient, profiles: Profiles
) -> None:
    app = calling_tui(daemon, alice, profiles, None)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.people is not None, "signed in")
        await pilot.press("m")
        first = app._calls
        assert first is not None and first.client is app.client
        # What a login the daemon no longer takes, then a new sign-in, do (`CoopeApp._begin`).
        assert app.session is not None
        app.session.stop()
        await app.session.client.aclose()
        app.session = app.client = None
        await app._start(CoopeClient(daemon.url, alice.token))
        await until(pilot, lambda: app.people is not None and app.session is not None, "again")
        await pilot.press("m")
        await until(pilot, lambda: app._calls is not first, "a new controller")
        assert app._calls is not None and app._calls.client is app.client
        assert said(app).count("You are in no call: j joins the call of the room on screen.") == 2


async def test_b_while_the_notes_bot_loads_its_models_stops_it(
    daemon: RunningDaemon,
    alice: CoopeClient,
    bob: CoopeClient,
    profiles: Profiles,
    files: AudioChoice,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from coope.notes import engines

    loading = threading.Event()
    loaded = threading.Event()

    def slow_transcriber(settings: object) -> object:
        loading.set()
        loaded.wait(CALL_S)  # a local model being read from disk
        raise AssertionError("the bot was stopped: its models are not used")

    monkeypatch.setattr(engines, "transcriber", slow_transcriber)
    team = await group_room(alice, "team", [bob])
    await alice.workspaces.create("Minutes")
    app = calling_tui(daemon, alice, profiles, files)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await room_on_screen(pilot, team)
            await pilot.press("b")
            await until(pilot, lambda: bar_says(pilot, "Notes bot: loading models…"), "loading")
            assert loading.is_set()
            await pilot.press("b")
            await until(pilot, lambda: not bar(pilot).display, "the bar gone")
            assert "The notes bot does not start." in said(app)
            loaded.set()
            calls = app._calls
            assert calls is not None
            await until(pilot, lambda: calls._bot_task is None, "the bot's work over")
            assert calls.bot is None and not bar(pilot).display
            assert await bob.calls.list() == []
    finally:
        loaded.set()
