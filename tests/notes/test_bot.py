"""The meeting bot as a library: `MeetingBot.run()` against a real daemon, in-process.

A person joins the call with a real aiortc peer playing espeak-ng speech; the bot records as
another account; speech-to-text and the summary come from the OpenAI engines talking to a
fake OpenAI-compatible server (the outside service), so what the notes say is known.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from coope.client import CoopeClient
from coope.client.calls import CallSession
from coope.client.transport import Transport
from coope.core.errors import Conflict, DaemonUnreachable, Forbidden, InvalidInput, NotFound
from coope.core.events import CallParticipantJoined
from coope.core.social_schemas import RoomOut
from coope.core.workspace_schemas import WorkspaceOut
from coope.media.sources import WavSource
from coope.notes.bot import BotOptions, BotProgress, MeetingBot, MeetingNotes
from coope.notes.recorder import new_recording_dir
from coope.notes.settings import NotesSettings
from coope.notes.stt_openai import OpenAITranscriber
from coope.notes.summarize_openai import OpenAISummarizer
from coope.notes.summary import ActionItem, Summary
from tests.conftest import DaemonFactory
from tests.daemon.social_helpers import group_room
from tests.helpers import RunningDaemon, assert_eventually
from tests.notes.openai_server import CannedSegment, CannedTranscription, FakeOpenAI
from tests.notes.speech import VOICE_B, track

# Real aiortc peers in a call, then a fake server's transcript and summary.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

SAID = "We decided to ship the new version on Friday."
NOTES = {
    "summary": ["The team planned the release."],
    "decisions": ["Ship on Friday."],
    "action_items": [{"text": "Write the changelog", "owner": "ann"}],
}
SUMMARY = Summary(
    summary=["The team planned the release."],
    decisions=["Ship on Friday."],
    action_items=[ActionItem("Write the changelog", "ann")],
)
CALL_S = 30.0  # joining a call, hearing a sentence, leaving: generous on a busy machine
EVERY_STEP = [
    ("joining", "started"),
    ("joining", "finished"),
    ("recording", "started"),
    ("recording", "finished"),
    ("leaving", "started"),
    ("leaving", "finished"),
    ("transcribing", "started"),
    ("transcribing", "finished"),
    ("summarizing", "started"),
    ("summarizing", "finished"),
    ("writing", "started"),
    ("writing", "finished"),
]


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return track([(0.3, SAID)], tmp_path_factory.mktemp("speech") / "ann.wav", VOICE_B)


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        server.transcription = CannedTranscription(
            segments=[CannedSegment(0.3, 3.2, SAID)], duration=4.0
        )
        server.chat_responder = lambda request: json.dumps(NOTES)
        yield server


@dataclass
class Meeting:
    daemon: RunningDaemon
    ann: CoopeClient  # speaks
    scribe: CoopeClient  # the bot's account, an editor of `workspace`
    room: RoomOut
    workspace: WorkspaceOut
    settings: NotesSettings
    data_dir: Path

    def bot(
        self, client: CoopeClient | None = None, room_id: int | None = None, **options: Any
    ) -> MeetingBot:
        """A bot recording `room` into `workspace` as `scribe`, unless told otherwise."""
        return MeetingBot(
            client or self.scribe,
            self.room.id if room_id is None else room_id,
            self.workspace.id,
            transcriber=OpenAITranscriber(self.settings),
            summarizer=OpenAISummarizer(self.settings),
            options=BotOptions(data_dir=self.data_dir, **options),
        )

    def recordings(self) -> list[Path]:
        root = self.data_dir / "recordings"
        return sorted(root.iterdir()) if root.exists() else []


@pytest.fixture
async def meeting(
    start_daemon: DaemonFactory, openai_server: FakeOpenAI, tmp_path: Path
) -> AsyncIterator[Meeting]:
    daemon = await start_daemon(ice_hosts=("127.0.0.1",))
    clients = [await daemon.user(name) for name in ("root", "ann", "scribe")]
    try:
        _, ann, scribe = clients
        room = await group_room(ann, "standup", [scribe])
        workspace = await scribe.workspaces.create("Minutes")
        settings = NotesSettings(
            base_url=openai_server.base_url,
            stt_backend="openai",
            summary_backend="openai",
            retries=0,
            timeout_s=10.0,
        )
        yield Meeting(daemon, ann, scribe, room, workspace, settings, tmp_path / "data")
    finally:
        for client in clients:
            await client.aclose()


@asynccontextmanager
async def speaking(client: CoopeClient, room_id: int, wav: Path) -> AsyncIterator[CallSession]:
    """`client` in the call, saying what `wav` holds and then nothing, until the block ends."""
    source = WavSource(wav)
    try:
        async with client.calls.join(room_id, audio=source) as call:
            yield call
    finally:
        source.stop()


@asynccontextmanager
async def running(bot: MeetingBot, seen: list[BotProgress]) -> AsyncIterator[asyncio.Task[Any]]:
    """`bot.run()` as a task, cancelled and awaited on the way out if still going."""
    task = asyncio.create_task(bot.run(seen.append))
    try:
        yield task
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def steps(seen: list[BotProgress]) -> list[tuple[str, str]]:
    return [(p.step, p.state) for p in seen if p.state != "running"]


def reached(seen: list[BotProgress], step: str, state: str) -> bool:
    return (step, state) in steps(seen)


def spoke(seen: list[BotProgress], user: str) -> bool:
    """Whether the bot heard `user` speak, then stop speaking."""
    speaking = [user in p.call.speaking for p in seen if p.call is not None]
    return True in speaking and False in speaking[speaking.index(True) :]


async def in_the_call(seen: list[BotProgress]) -> None:
    await assert_eventually(lambda: reached(seen, "recording", "started"), CALL_S, "the bot in")


async def heard_ann(seen: list[BotProgress]) -> None:
    await assert_eventually(lambda: spoke(seen, "ann"), CALL_S, "ann heard speaking, then not")


def assert_in_order(seen: list[BotProgress]) -> None:
    """Every step started and finished, in order; live updates only within their step."""
    assert steps(seen) == EVERY_STEP, steps(seen)
    current: tuple[str, str] | None = None
    for progress in seen:
        if progress.state == "running":
            assert current == (progress.step, "started"), (current, progress)
        else:
            current = (progress.step, progress.state)


async def test_the_bot_records_a_meeting_and_writes_its_notes(
    meeting: Meeting, openai_server: FakeOpenAI, speech: Path
) -> None:
    bot = meeting.bot()
    seen: list[BotProgress] = []
    async with running(bot, seen) as task:
        await in_the_call(seen)  # first, so that the meeting starts with the bot in it
        async with speaking(meeting.ann, meeting.room.id, speech) as call:
            await heard_ann(seen)
            assert "scribe" in call.recorders  # everyone is told that it records
        notes: MeetingNotes = await asyncio.wait_for(task, CALL_S)  # ann left: the call emptied

    assert_in_order(seen)
    details = {(p.step, p.state): p.detail for p in seen}
    assert details["joining", "started"] == "joining the call in #standup"
    assert details["recording", "started"] == f"recording into {notes.recording.directory}"
    assert details["transcribing", "started"].startswith("transcribing ann (")
    assert details["summarizing", "started"] == "summarizing 1 lines"
    assert details["writing", "started"] == "writing the page into Minutes"
    # The live facts: ann came in, was heard, and the recording's clock only went forward.
    live = [p for p in seen if p.call is not None]
    joined = [p.event.data.user for p in live if isinstance(p.event, CallParticipantJoined)]
    assert "ann" in joined, [p.event for p in live if p.event is not None]
    assert any("ann" in p.call.participants and p.call.levels["ann"] > 0 for p in live if p.call)
    clock = [p.call.seconds for p in live if p.call is not None]
    assert clock == sorted(clock)
    assert live[-1].call is not None and live[-1].call.heard == ("ann",)

    # The result: the page, what it says, and where the recording stays.
    assert notes.page.title.startswith("Meeting notes — #standup — ")
    assert notes.path == f"Minutes/{notes.page.title}"
    assert notes.workspace.id == meeting.workspace.id
    assert notes.summary == SUMMARY
    assert [(s.speaker, s.text) for s in notes.segments] == [("ann", SAID)]
    assert notes.stopped_early is None
    assert bot.directory == notes.recording.directory
    assert meeting.recordings() == [notes.recording.directory]
    assert sorted(p.name for p in notes.recording.directory.iterdir()) == [
        "ann.wav",
        "meeting.json",
    ]
    # The transcript the fake server heard is ann's track, and it is what was summarized.
    assert len(openai_server.uploads) == 1
    assert f"ann: {SAID}" in json.dumps(openai_server.chat_requests)

    # The page is really there, as the workspace's members read it.
    content = await meeting.scribe.pages.content(notes.page.id)
    assert content.page.workspace_id == meeting.workspace.id
    markdown = content.markdown
    for expected in ("Ship on Friday.", "Write the changelog (owner: ann)", f"ann: {SAID}"):
        assert expected in markdown, markdown


async def test_stopping_the_bot_writes_what_was_recorded(meeting: Meeting, speech: Path) -> None:
    parent = await meeting.scribe.pages.create(meeting.workspace.id, "Meetings")
    bot = meeting.bot(title="On-call sync", parent_id=parent.id)
    seen: list[BotProgress] = []
    async with running(bot, seen) as task:
        await in_the_call(seen)  # first, so that the meeting starts with the bot in it
        async with speaking(meeting.ann, meeting.room.id, speech) as call:
            await heard_ann(seen)
            bot.stop()  # ann is still in the call: only this ends the recording
            notes: MeetingNotes = await asyncio.wait_for(task, CALL_S)
            await assert_eventually(
                lambda: "scribe" not in call.participants, what="the bot out of the call"
            )
            assert "ann" in call.participants

    assert_in_order(seen)
    assert [s.speaker for s in notes.segments] == ["ann"]
    assert notes.page.title == "On-call sync"
    assert notes.page.parent_id == parent.id
    assert notes.path == "Minutes/Meetings/On-call sync"
    tree = await meeting.scribe.pages.tree(meeting.workspace.id)
    assert [(p.title, p.parent_id) for p in tree if p.id == notes.page.id] == [
        ("On-call sync", parent.id)
    ]


async def test_when_the_call_ends_the_bot_the_notes_are_still_written(
    meeting: Meeting, speech: Path
) -> None:
    bot = meeting.bot()
    seen: list[BotProgress] = []
    async with running(bot, seen) as task:
        await in_the_call(seen)  # first, so that the meeting starts with the bot in it
        async with speaking(meeting.ann, meeting.room.id, speech):
            await heard_ann(seen)
            # The bot's account joins from elsewhere and takes the call over.
            async with (
                meeting.daemon.client(meeting.scribe.token) as elsewhere,
                elsewhere.calls.join(meeting.room.id, takeover=True),
            ):
                notes: MeetingNotes = await asyncio.wait_for(task, CALL_S)

    assert_in_order(seen)
    [finished] = [p for p in seen if (p.step, p.state) == ("recording", "finished")]
    assert isinstance(finished.error, Conflict), finished
    assert notes.stopped_early is finished.error
    assert [s.speaker for s in notes.segments] == ["ann"]
    assert (await meeting.scribe.pages.get(notes.page.id)).title == notes.page.title


async def test_cancelling_the_bot_leaves_the_call_and_keeps_the_recording(
    meeting: Meeting, speech: Path
) -> None:
    bot = meeting.bot()
    seen: list[BotProgress] = []
    async with running(bot, seen) as task:
        await in_the_call(seen)
        async with speaking(meeting.ann, meeting.room.id, speech) as call:
            await heard_ann(seen)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await assert_eventually(lambda: "scribe" not in call.participants, what="the bot out")

    assert not reached(seen, "recording", "finished")
    [kept] = meeting.recordings()
    assert bot.directory == kept
    assert (kept / "ann.wav").stat().st_size > 16_000 * 2  # over a second of ann
    assert await meeting.scribe.pages.tree(meeting.workspace.id) == []  # no notes written


async def test_a_refused_join_raises_and_leaves_no_recording_behind(meeting: Meeting) -> None:
    bot = meeting.bot()
    seen: list[BotProgress] = []
    # The bot's account is already in the call on another device, and takes nothing over.
    async with (
        meeting.daemon.client(meeting.scribe.token) as elsewhere,
        elsewhere.calls.join(meeting.room.id),
    ):
        with pytest.raises(Conflict, match="takeover"):
            await bot.run(seen.append)
    assert steps(seen) == [("joining", "started")]
    assert bot.directory is None
    assert meeting.recordings() == []


async def test_what_cannot_be_written_is_refused_before_joining(meeting: Meeting) -> None:
    # A viewer of the workspace.
    code = (await meeting.scribe.workspaces.invite(meeting.workspace.id, "viewer")).code
    await meeting.ann.workspaces.join(code)
    with pytest.raises(Forbidden, match="you are a viewer of Minutes"):
        await meeting.bot(meeting.ann).run()
    # A parent page of another workspace; a room, a workspace that are not there.
    other = await meeting.ann.workspaces.create("Elsewhere")
    theirs = await meeting.ann.pages.create(other.id, "Not yours")
    with pytest.raises(NotFound, match=f"no page {theirs.id} in Minutes"):
        await meeting.bot(parent_id=theirs.id).run()
    with pytest.raises(NotFound):
        await meeting.bot(room_id=meeting.room.id + 1000).run()
    with pytest.raises(InvalidInput, match="negative"):
        await meeting.bot(max_duration_s=-1).run()
    # A bot records one meeting.
    once = meeting.bot(refresh_s=0)
    with pytest.raises(InvalidInput, match="refresh"):
        await once.run()
    with pytest.raises(Conflict, match="one meeting"):
        await once.run()
    assert meeting.recordings() == []


async def test_once_the_page_exists_nothing_fails_the_run(
    meeting: Meeting, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page's path is made from the workspace and parent looked up before joining: with
    the daemon out of reach from the moment the page exists, the run still returns it (a
    failed run would have people make the notes again, a second page)."""
    parent = await meeting.scribe.pages.create(meeting.workspace.id, "Meetings")
    sub = await meeting.scribe.pages.create(meeting.workspace.id, "Weekly", parent_id=parent.id)
    bot = meeting.bot(title="Quiet sync", parent_id=sub.id)
    bot.stop()  # the recording ends as soon as the bot is in the call: nobody needs to speak
    create = meeting.scribe.pages.create

    async def unreachable(*args: Any, **kwargs: Any) -> Any:
        raise DaemonUnreachable("the daemon is out of reach")

    seen: list[BotProgress] = []
    with monkeypatch.context() as patched:

        async def create_then_lose_the_daemon(*args: Any, **kwargs: Any) -> Any:
            page = await create(*args, **kwargs)
            patched.setattr(Transport, "call", unreachable)
            return page

        patched.setattr(meeting.scribe.pages, "create", create_then_lose_the_daemon)
        notes = await bot.run(seen.append)

    assert steps(seen)[-2:] == [("writing", "started"), ("writing", "finished")]
    assert notes.path == "Minutes/Meetings/Weekly/Quiet sync"
    assert notes.segments == []
    tree = await meeting.scribe.pages.tree(meeting.workspace.id)
    assert [(p.title, p.parent_id) for p in tree if p.id not in (parent.id, sub.id)] == [
        ("Quiet sync", sub.id)
    ]


async def test_old_recordings_are_deleted_only_when_the_bot_is_told_to(meeting: Meeting) -> None:
    old = new_recording_dir(meeting.data_dir, "long ago")
    month_ago = time.time() - 31 * 86400
    os.utime(old, (month_ago, month_ago))

    kept = meeting.bot()  # no `recording_days`: the library deletes nothing by itself
    kept.stop()
    first = await kept.run()
    assert meeting.recordings() == sorted([old, first.recording.directory])

    pruning = meeting.bot(recording_days=30)  # what `coope notes record` passes by default
    pruning.stop()
    second = await pruning.run()
    assert meeting.recordings() == sorted([first.recording.directory, second.recording.directory])
