"""From a recording to a notes page: transcribe each track, merge, summarize, write.

Each step is a plain function so that the CLI can show progress between them and the
standalone commands (`coope notes transcribe`, `coope notes summarize`) reuse the same pieces.
Engines block (they run models or wait on HTTP), so they run in worker threads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from coope.notes.recorder import Recording
from coope.notes.stt import Transcriber
from coope.notes.summary import Participant, Summarizer, Summary
from coope.notes.transcript import TRANSCRIPT_HEADING, Segment, line, merge

if TYPE_CHECKING:
    from coope.client import CoopeClient
    from coope.core.workspace_schemas import PageOut

Progress = Callable[[str], None]


def notes_title(room: str, started: datetime) -> str:
    return f"Meeting notes — {room} — {started.astimezone().strftime('%Y-%m-%d %H:%M')}"


async def transcribe_recording(
    recording: Recording, transcriber: Transcriber, progress: Progress | None = None
) -> list[Segment]:
    """Every speaker's track transcribed whole, shifted to the meeting's clock, merged."""
    tracks = []
    for track in recording.tracks:
        if progress is not None:
            progress(f"transcribing {track.speaker} ({track.duration_s:.0f} s of audio)")
        segments = await asyncio.to_thread(
            transcriber.transcribe, recording.path(track), track.speaker
        )
        tracks.append([s.shifted(track.offset_s) for s in segments])
    return merge(tracks)


async def summarize(
    segments: list[Segment],
    summarizer: Summarizer,
    participants: Sequence[Participant] | None = None,
) -> Summary:
    """The summary of a transcript; `participants`: who was in the meeting, if known (see
    `Summarizer`)."""
    if not segments:
        return Summary()
    return await asyncio.to_thread(summarizer.summarize, segments, participants)


def notes_markdown(summary: Summary, segments: list[Segment]) -> str:
    """Summary, Decisions, Action items (todos) and the Transcript, as the page's Markdown."""
    transcript = [_one_line(line(s)) for s in segments] or ["(no speech was recognised)"]
    return "\n\n".join([*_summary_parts(summary), TRANSCRIPT_HEADING, *transcript]) + "\n"


def summary_markdown(summary: Summary) -> str:
    """A notes page without its transcript: Summary, Decisions and Action items."""
    return "\n\n".join(_summary_parts(summary)) + "\n"


def _summary_parts(summary: Summary) -> list[str]:
    parts = ["## Summary"]
    parts += [f"- {_one_line(s)}" for s in summary.summary] or ["Nothing was said."]
    parts.append("## Decisions")
    parts += [f"- {_one_line(d)}" for d in summary.decisions] or ["None recorded."]
    parts.append("## Action items")
    parts += [
        f"- [ ] {_one_line(a.text)}" + (f" (owner: {a.owner})" if a.owner else "")
        for a in summary.action_items
    ] or ["None recorded."]
    return parts


def _one_line(text: str) -> str:
    return " ".join(text.split())


async def write_notes(
    client: CoopeClient,
    workspace_id: int,
    title: str,
    summary: Summary,
    segments: list[Segment],
    *,
    parent_id: int | None = None,
) -> PageOut:
    """Create the notes page (`notes_markdown`) in the workspace, under `parent_id` if given."""
    # Two meetings noted in the same minute: the second becomes "Title (2)", not an error.
    return await client.pages.create(
        workspace_id,
        title,
        parent_id=parent_id,
        markdown=notes_markdown(summary, segments),
        number_if_taken=True,
    )
