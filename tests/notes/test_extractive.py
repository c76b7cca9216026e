"""The offline summarizer on realistic transcripts, punctuated and in raw speech-to-text form."""

from __future__ import annotations

import random

from coope.notes.extractive import MAX_SUMMARY_SENTENCES, ExtractiveSummarizer
from coope.notes.summary import ActionItem, Summary
from coope.notes.transcript import Segment

FILLER = ("Okay, can everyone hear me?", "Yeah, I can hear you.", "Thanks everyone for joining.")

BILLING_MEETING = [
    ("Alice", "Okay, can everyone hear me?"),
    ("Bob", "Yeah, I can hear you."),
    ("Carol", "Thanks everyone for joining."),
    ("Alice", "So today we need to choose a database for the new billing service."),
    (
        "Bob",
        "The billing service writes a lot of invoices, so the database has to handle "
        "concurrent writes well.",
    ),
    ("Carol", "SQLite struggles with concurrent writes from several billing workers."),
    ("Alice", "Postgres handles concurrent writes and gives us proper transactions for invoices."),
    ("Bob", "By the way, the coffee machine on the third floor is broken again."),
    ("Carol", "Okay."),
    ("Alice", "After comparing them, we decided to use Postgres for the billing service, okay?"),
    ("Bob", "Sounds good."),
    ("Alice", "Bob will write the migration script for the invoices table by Friday."),
    ("Carol", "I'll update the billing documentation."),
    ("Alice", "Someone needs to renew the staging certificate."),
    ("Bob", "Can you, Carol, review the migration pull request?"),
    ("Alice", "Thanks everyone, bye."),
]


def meeting(lines: list[tuple[str, str]]) -> list[Segment]:
    return [
        Segment(speaker, i * 10.0, i * 10.0 + 8.0, text) for i, (speaker, text) in enumerate(lines)
    ]


def as_speech_to_text(lines: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """What a small Whisper model tends to give: all lowercase, no punctuation."""
    return [
        (speaker, "".join(c for c in text.lower() if c not in ".,?!")) for speaker, text in lines
    ]


def summarize(lines: list[tuple[str, str]]) -> Summary:
    return ExtractiveSummarizer().summarize(meeting(lines))


def test_finds_the_decision_and_the_owned_action_item() -> None:
    notes = summarize(BILLING_MEETING)

    assert notes.decisions == [
        "After comparing them, we decided to use Postgres for the billing service."
    ]
    assert ActionItem("Write the migration script for the invoices table by Friday", "Bob") in (
        notes.action_items
    )


def test_summary_leaves_out_filler_and_the_tangent() -> None:
    notes = summarize(BILLING_MEETING)

    assert notes.summary
    joined = " ".join(notes.summary).lower()
    for filler in ("hear me", "hear you", "thanks everyone", "sounds good", "bye"):
        assert filler not in joined
    assert "coffee" not in joined
    assert any("postgres" in sentence.lower() for sentence in notes.summary)


def test_summary_keeps_meeting_order() -> None:
    spoken = [text.lower() for _, text in BILLING_MEETING]
    notes = summarize(BILLING_MEETING)

    said = [sentence.rstrip(".").lower() for sentence in notes.summary]
    positions = [next(i for i, text in enumerate(spoken) if s in text) for s in said]
    assert len(positions) >= 2
    assert positions == sorted(positions)


def test_summary_says_a_repeated_point_once() -> None:
    point = "We will move the search index to the new cluster before the launch."
    lines = [
        ("Alice", point),
        ("Bob", point),
        ("Carol", "The search index on the old cluster keeps timing out under launch traffic."),
        ("Alice", "The new cluster has three times the memory for the search index."),
        ("Bob", "Launch traffic doubles every evening, so the search index needs that memory."),
    ]

    notes = summarize(lines)

    assert len(notes.summary) == 2
    assert notes.summary.count(point) <= 1


def test_summary_is_short_for_a_short_meeting() -> None:
    notes = summarize([("Alice", "The release candidate passed every integration test today.")])

    assert notes.summary == ["The release candidate passed every integration test today."]


def test_first_person_action_belongs_to_the_speaker() -> None:
    notes = summarize(BILLING_MEETING)

    assert ActionItem("Update the billing documentation", "Carol") in notes.action_items


def test_unnamed_action_items_have_no_owner() -> None:
    notes = summarize(
        [
            ("Alice", "Someone needs to renew the staging certificate."),
            ("Bob", "TODO: add the new region to the status page."),
        ]
    )

    assert notes.action_items == [
        ActionItem("Renew the staging certificate", None),
        ActionItem("Add the new region to the status page", None),
    ]


def test_requests_addressed_to_a_person_belong_to_them() -> None:
    notes = summarize(
        [
            ("Bob", "Can you, Carol, review the migration pull request?"),
            ("Alice", "Carol, please send the invoice samples to finance."),
            ("Carol", "Sure."),
        ]
    )

    assert notes.action_items == [
        ActionItem("Review the migration pull request", "Carol"),
        ActionItem("Send the invoice samples to finance", "Carol"),
    ]


def test_action_item_prefix_and_people_who_are_not_in_the_call() -> None:
    notes = summarize(
        [
            ("Alice", "Action item: Bob to benchmark the invoice queries."),
            ("Bob", "Dave will book the review meeting for next week."),
            ("Alice", "And I'll ask Bob to update the onboarding docs."),
        ]
    )

    assert notes.action_items == [
        ActionItem("Benchmark the invoice queries", "Bob"),
        ActionItem("Book the review meeting for next week", "Dave"),
        ActionItem("Update the onboarding docs", "Bob"),
    ]


def test_two_commitments_in_one_sentence_are_two_items() -> None:
    notes = summarize(
        [("Carol", "Alice will draft the announcement and Bob will schedule the rollout.")]
    )

    assert notes.action_items == [
        ActionItem("Draft the announcement", "Alice"),
        ActionItem("Schedule the rollout", "Bob"),
    ]


def test_meeting_chatter_is_not_an_action_item() -> None:
    notes = summarize(
        [
            ("Alice", "I'll share my screen."),
            ("Bob", "Bob will be out next week."),
            ("Carol", "Friday will be busy for everyone."),
            ("Alice", "Let's review the action items from last week."),
        ]
    )

    assert notes.action_items == []


def test_decisions_are_tidied_and_deduplicated() -> None:
    notes = summarize(
        [
            ("Alice", "Okay so we've agreed to freeze the API until the launch, right?"),
            ("Bob", "Yeah, we agreed to freeze the API until the launch."),
            ("Carol", "Let's go with the blue onboarding design then."),
            ("Alice", "The decision is to drop support for Python 3.9."),
        ]
    )

    assert notes.decisions == [
        "We've agreed to freeze the API until the launch.",
        "Let's go with the blue onboarding design.",
        "The decision is to drop support for Python 3.9.",
    ]


def test_questions_about_a_decision_are_not_decisions() -> None:
    notes = summarize(
        [
            ("Alice", "Have we decided on the database yet?"),
            ("Bob", "so did we agree on the release date"),
            ("Carol", "We haven't decided on the pricing page."),
        ]
    )

    assert notes.decisions == []


def test_lowercase_unpunctuated_speech_to_text_still_works() -> None:
    lines = as_speech_to_text(BILLING_MEETING)

    notes = summarize(lines)

    assert notes.decisions == [
        "After comparing them we decided to use postgres for the billing service."
    ]
    assert ActionItem("Write the migration script for the invoices table by friday", "Bob") in (
        notes.action_items
    )
    assert ActionItem("Update the billing documentation", "Carol") in notes.action_items
    assert ActionItem("Renew the staging certificate", None) in notes.action_items
    assert ActionItem("Review the migration pull request", "Carol") in notes.action_items
    joined = " ".join(notes.summary)
    assert notes.summary
    assert "hear" not in joined and "coffee" not in joined


def test_speakers_are_found_by_first_name_in_any_case() -> None:
    segments = [
        Segment("Alice Moreau", 0.0, 4.0, "okay"),
        Segment("Bob Kim", 4.0, 8.0, "alice will send the quarterly report to the board"),
    ]

    notes = ExtractiveSummarizer().summarize(segments)

    assert notes.action_items == [
        ActionItem("Send the quarterly report to the board", "Alice Moreau")
    ]


def test_each_segment_is_at_least_one_sentence() -> None:
    lines = [
        ("Alice", "we decided to ship the beta on monday"),
        ("Bob", "i'll prepare the release notes"),
    ]

    notes = summarize(lines)

    assert notes.decisions == ["We decided to ship the beta on monday."]
    assert notes.action_items == [ActionItem("Prepare the release notes", "Bob")]


def test_empty_transcript_gives_empty_notes() -> None:
    assert ExtractiveSummarizer().summarize([]) == Summary()
    assert summarize([("Alice", "   "), ("Bob", "um")]) == Summary()


def test_an_hour_long_transcript_is_summarized() -> None:
    rng = random.Random(1500)
    topics = ["search latency", "mobile release", "billing invoices", "cache invalidation"]
    openers = ["we should look at", "the dashboard shows", "customers keep asking about"]
    lines = []
    for _ in range(1500):
        if rng.random() < 0.25:
            lines.append((rng.choice(["Alice", "Bob", "Carol"]), rng.choice(FILLER)))
        else:
            text = f"{rng.choice(openers)} the {rng.choice(topics)} numbers from last sprint"
            lines.append((rng.choice(["Alice", "Bob", "Carol"]), text))
    lines[700] = ("Bob", "we decided to move the search index to the new cluster")
    lines[900] = ("Carol", "i'll write the postmortem for the cache outage")

    notes = summarize(lines)

    assert len(notes.summary) == MAX_SUMMARY_SENTENCES  # a long meeting gets the full summary
    assert not any(filler in notes.summary for filler in FILLER)
    # What is picked is what the meeting was about, not its filler.
    assert all(any(topic in s.lower() for topic in topics) for s in notes.summary), notes.summary
    assert notes.decisions == ["We decided to move the search index to the new cluster."]
    assert notes.action_items == [ActionItem("Write the postmortem for the cache outage", "Carol")]
