"""Transcripts: timed, attributed segments and the merge of many speakers into one.

Times are seconds from the meeting's start, so a speaker's track transcribed on its own is
shifted by the offset at which its recording began before the tracks are merged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

_LINE = re.compile(r"^\[(?:(\d+):)?(\d+):(\d{2})\]\s*([^:]{1,80}):\s*(.*)$")
TRANSCRIPT_HEADING = "## Transcript"  # where a notes page's transcript starts


@dataclass(frozen=True)
class Segment:
    """What one speaker said from `start` to `end` (seconds from the meeting's start)."""

    speaker: str
    start: float
    end: float
    text: str

    def shifted(self, offset: float) -> Segment:
        return replace(self, start=self.start + offset, end=self.end + offset)


def merge(tracks: Iterable[Iterable[Segment]]) -> list[Segment]:
    """All speakers' segments in time order; a tie goes to the earlier end, then the name."""
    segments = [s for track in tracks for s in track if s.text.strip()]
    return sorted(segments, key=lambda s: (s.start, s.end, s.speaker))


def clock(seconds: float) -> str:
    """`mm:ss`, or `h:mm:ss` from an hour on."""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def line(segment: Segment) -> str:
    """`[mm:ss] Speaker: text`, as the notes page shows it."""
    return f"[{clock(segment.start)}] {segment.speaker}: {segment.text.strip()}"


def plain_text(segments: Iterable[Segment]) -> str:
    """One line per segment, the form summarizers read."""
    return "\n".join(line(s) for s in segments)


def parse_lines(text: str) -> list[Segment]:
    """A transcript read back from its text: `[mm:ss] Speaker: text` lines (as `line` writes
    them) become timed segments; any other non-empty line is a segment of its own with no
    speaker, at the previous line's time, so plain notes can be summarized too."""
    segments: list[Segment] = []
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped:
            continue
        match = _LINE.match(stripped)
        if match is None:
            at = segments[-1].start if segments else 0.0
            segments.append(Segment("", at, at, stripped))
            continue
        hours, minutes, secs, speaker, said = match.groups()
        at = float(int(hours or 0) * 3600 + int(minutes) * 60 + int(secs))
        segments.append(Segment(speaker.strip(), at, at, said.strip()))
    return segments


def read_transcript(text: str) -> list[Segment]:
    """The transcript in a notes page's Markdown (the lines under its "## Transcript" heading),
    or in a transcript file or plain notes (all of it when there is no such heading), as
    `parse_lines` reads it."""
    lines = text.splitlines()
    heading = next((i for i, raw in enumerate(lines) if raw.strip() == TRANSCRIPT_HEADING), None)
    return parse_lines("\n".join(lines if heading is None else lines[heading + 1 :]))
