"""A notes page's Markdown, and its transcript read back from it."""

from __future__ import annotations

from coope.notes.pipeline import notes_markdown, summary_markdown
from coope.notes.summary import ActionItem, Summary
from coope.notes.transcript import Segment, read_transcript

SUMMARY = Summary(
    summary=["The team  planned\nthe release."],
    decisions=["Ship on Friday (see ## Transcript)."],
    action_items=[ActionItem("Write the changelog", "ann"), ActionItem("Tag it", "")],
)
SEGMENTS = [
    Segment("ann", 1.0, 3.0, "We ship on Friday."),
    Segment("ben", 65.0, 70.0, "Then ## Transcript is just words here."),
]


def test_the_page_holds_the_summary_then_the_transcript() -> None:
    assert notes_markdown(SUMMARY, SEGMENTS) == (
        "## Summary\n\n- The team planned the release.\n\n"
        "## Decisions\n\n- Ship on Friday (see ## Transcript).\n\n"
        "## Action items\n\n- [ ] Write the changelog (owner: ann)\n\n- [ ] Tag it\n\n"
        "## Transcript\n\n[00:01] ann: We ship on Friday.\n\n"
        "[01:05] ben: Then ## Transcript is just words here.\n"
    )
    assert notes_markdown(SUMMARY, SEGMENTS).startswith(summary_markdown(SUMMARY).rstrip())
    assert notes_markdown(Summary(), []) == (
        "## Summary\n\nNothing was said.\n\n## Decisions\n\nNone recorded.\n\n"
        "## Action items\n\nNone recorded.\n\n## Transcript\n\n(no speech was recognised)\n"
    )


def test_the_transcript_is_read_back_from_the_page_alone() -> None:
    # Only a line of its own is the heading: the same words in a decision are not.
    read = read_transcript(notes_markdown(SUMMARY, SEGMENTS))
    assert [(s.speaker, s.start, s.text) for s in read] == [
        ("ann", 1.0, "We ship on Friday."),
        ("ben", 65.0, "Then ## Transcript is just words here."),
    ]


def test_text_without_the_heading_is_all_transcript() -> None:
    read = read_transcript("[00:02] ann: Hello.\nA note of no one's.\n")
    assert [(s.speaker, s.start, s.text) for s in read] == [
        ("ann", 2.0, "Hello."),
        ("", 2.0, "A note of no one's."),
    ]
    assert read_transcript("## Summary\n\n- Nothing.\n\n## Transcript\n\n") == []
