"""Who owns an action item: the people who were in the meeting, by the names they are called."""

from __future__ import annotations

from coope.notes.extractive import ExtractiveSummarizer
from coope.notes.pipeline import summarize
from coope.notes.summary import ActionItem, Participant
from coope.notes.transcript import Segment

IN_THE_CALL = [
    Participant("alice", "Alice Moreau"),
    Participant("bkim", "Bob Kim"),
    Participant("carol"),  # no display name: her username is what she is called
]


def meeting(*lines: tuple[str, str]) -> list[Segment]:
    return [Segment(who, i * 5.0, i * 5.0 + 4.0, text) for i, (who, text) in enumerate(lines)]


def items(*lines: tuple[str, str]) -> list[ActionItem]:
    return ExtractiveSummarizer().summarize(meeting(*lines), IN_THE_CALL).action_items


def test_a_thing_before_will_is_nobody() -> None:
    assert (
        items(
            ("alice", "Postgres will handle the concurrent writes for us."),
            ("bkim", "Kubernetes should restart the workers on failure."),
        )
        == []
    )


def test_people_are_named_by_first_name_last_name_or_username() -> None:
    assert items(
        ("carol", "Alice will write the migration script."),
        ("alice", "Kim should review the pull request."),
        ("alice", "bkim will update the dashboards."),
        ("bkim", "Carol, please send the invoice samples to finance."),
    ) == [
        ActionItem("Write the migration script", "alice"),
        ActionItem("Review the pull request", "bkim"),
        ActionItem("Update the dashboards", "bkim"),
        ActionItem("Send the invoice samples to finance", "carol"),
    ]


def test_i_is_whoever_said_it() -> None:
    assert items(
        ("bkim", "I will prepare the release notes."),
        ("carol", "And I'll book the demo room."),
    ) == [
        ActionItem("Prepare the release notes", "bkim"),
        ActionItem("Book the demo room", "carol"),
    ]


def test_someone_not_in_the_meeting_owns_nothing_but_the_task_stays_if_asked() -> None:
    assert items(
        ("alice", "Dave will book the review meeting for next week."),
        ("bkim", "Action item: renew the staging certificate."),
    ) == [ActionItem("Renew the staging certificate", None)]


def test_a_participant_who_never_spoke_can_own_a_task() -> None:
    # carol was in the call but said nothing: her name still names her.
    assert items(("alice", "Carol will draft the announcement.")) == [
        ActionItem("Draft the announcement", "carol")
    ]


def test_a_first_name_two_people_share_names_neither() -> None:
    people = [Participant("ann1", "Ann Lee"), Participant("ann2", "Ann Roy")]
    said = meeting(("ann1", "Ann will send the agenda."), ("ann2", "Roy will book the room."))

    assert ExtractiveSummarizer().summarize(said, people).action_items == [
        ActionItem("Book the room", "ann2")
    ]


def test_without_participants_a_transcript_keeps_its_name_guess() -> None:
    said = meeting(("alice", "Dave will book the review meeting for next week."))

    assert ExtractiveSummarizer().summarize(said).action_items == [
        ActionItem("Book the review meeting for next week", "Dave")
    ]


async def test_the_pipeline_hands_the_participants_to_the_summarizer() -> None:
    said = meeting(("alice", "Postgres will handle it and Bob will write the schema."))

    summary = await summarize(said, ExtractiveSummarizer(), IN_THE_CALL)
    guessed = await summarize(said, ExtractiveSummarizer())

    assert summary.action_items == [ActionItem("Write the schema", "bkim")]
    assert ActionItem("Handle it", "Postgres") in guessed.action_items
