"""The OpenAI transcriber and summarizer: the real openai client against a fake server."""

from __future__ import annotations

import io
import json
import socket
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from coope.core.errors import InvalidInput, Unauthenticated, Unavailable
from coope.notes import engines
from coope.notes.openai_api import KeyRejected
from coope.notes.settings import NotesSettings
from coope.notes.stt_openai import OpenAITranscriber, wav_duration
from coope.notes.summarize_openai import (
    CHUNK_CHARS,
    MERGE_PROMPT,
    OpenAISummarizer,
    parse_summary,
)
from coope.notes.summary import ActionItem, Participant, Summary
from coope.notes.transcript import Segment, line
from tests.notes.openai_server import CannedSegment, CannedTranscription, FakeOpenAI

NOTES = {
    "summary": ["The team planned the release."],
    "decisions": ["Ship on Friday."],
    "action_items": [{"text": "Write the changelog", "owner": "Bob"}],
}
NOTES_SUMMARY = Summary(
    summary=["The team planned the release."],
    decisions=["Ship on Friday."],
    action_items=[ActionItem("Write the changelog", "Bob")],
)


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as running:
        yield running


def settings_for(server: FakeOpenAI, **overrides: Any) -> NotesSettings:
    values: dict[str, Any] = {
        "base_url": server.base_url,
        "stt_backend": "openai",
        "summary_backend": "openai",
        "retries": 0,
        "timeout_s": 10.0,
    }
    return NotesSettings(**{**values, **overrides})


def write_wav(path: Path, seconds: float, rate: int = 16_000) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        # Every byte value, CR and LF included: the upload must arrive byte for byte.
        frames = bytes(range(256)) * (int(seconds * rate) * 2 // 256 + 1)
        out.writeframes(frames[: int(seconds * rate) * 2])
    return path


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def meeting(lines: int, words: int = 30) -> list[Segment]:
    speakers = ["Alice", "Bob", "Carol"]
    return [
        Segment(speakers[i % 3], i * 5.0, i * 5.0 + 4.0, f"point {i}: " + "word " * words)
        for i in range(lines)
    ]


# -- transcription --------------------------------------------------------------------------------


def test_whisper_upload_asks_for_timed_segments_and_labels_the_speaker(
    server: FakeOpenAI, tmp_path: Path
) -> None:
    audio = write_wav(tmp_path / "alice.wav", 4.0)
    server.transcription = CannedTranscription(
        [CannedSegment(0.0, 1.5, "Hello everyone."), CannedSegment(1.5, 3.8, "Let's start.")],
        duration=4.0,
    )

    segments = OpenAITranscriber(settings_for(server)).transcribe(audio, "Alice")

    assert segments == [
        Segment("Alice", 0.0, 1.5, "Hello everyone."),
        Segment("Alice", 1.5, 3.8, "Let's start."),
    ]
    [upload] = server.uploads
    assert upload.filename == "alice.wav"
    assert upload.content_type == "audio/wav"
    assert upload.data == audio.read_bytes()
    assert upload.model == "whisper-1"
    assert upload.response_format == "verbose_json"
    assert upload.timestamp_granularities == ["segment"]
    # whisper-1 ignores stream=True and a streaming client would then see nothing.
    assert upload.stream is None


def test_engines_choose_the_openai_engines_from_the_environment(
    server: FakeOpenAI, tmp_path: Path
) -> None:
    settings = NotesSettings.from_env({"COOPE_OPENAI_BASE_URL": server.base_url + "/"})
    server.transcription = CannedTranscription([CannedSegment(0.0, 1.0, "Hi.")], duration=1.0)
    server.queue_chat(json.dumps(NOTES))

    transcriber = engines.transcriber(settings)
    summarizer = engines.summarizer(settings)

    assert transcriber.name == "openai"
    segments = transcriber.transcribe(write_wav(tmp_path / "a.wav", 1.0), "Ann")
    assert segments == [Segment("Ann", 0.0, 1.0, "Hi.")]
    assert summarizer.summarize(segments) == NOTES_SUMMARY


def test_gpt4o_transcribe_gets_json_and_one_segment_spanning_the_file(
    server: FakeOpenAI, tmp_path: Path
) -> None:
    audio = write_wav(tmp_path / "bob.wav", 2.5)
    server.transcription = CannedTranscription(text="  We agreed to ship.  ")

    segments = OpenAITranscriber(settings_for(server, stt_model="gpt-4o-transcribe")).transcribe(
        audio, "Bob"
    )

    assert segments == [Segment("Bob", 0.0, 2.5, "We agreed to ship.")]
    [upload] = server.uploads
    assert upload.model == "gpt-4o-transcribe"
    assert upload.response_format == "json"
    assert upload.timestamp_granularities == []
    assert upload.stream is None


def test_silence_gives_no_segments(server: FakeOpenAI, tmp_path: Path) -> None:
    server.transcription = CannedTranscription(text="", duration=1.0)
    transcriber = OpenAITranscriber(settings_for(server))

    assert transcriber.transcribe(write_wav(tmp_path / "quiet.wav", 1.0), "Ann") == []


def test_wav_duration_reads_the_header_of_non_pcm_files_too(tmp_path: Path) -> None:
    pcm = write_wav(tmp_path / "pcm.wav", 1.25, rate=8000)
    assert wav_duration(pcm, pcm.read_bytes()) == pytest.approx(1.25)
    # 32-bit float, 48 kHz stereo: a format the stdlib `wave` module refuses.
    fmt = (3).to_bytes(2, "little") + (2).to_bytes(2, "little") + (48000).to_bytes(4, "little")
    fmt += (
        (48000 * 8).to_bytes(4, "little") + (8).to_bytes(2, "little") + (32).to_bytes(2, "little")
    )
    samples = b"\0" * (48000 * 8 // 2)  # half a second
    body = b"WAVE" + b"fmt " + len(fmt).to_bytes(4, "little") + fmt
    body += b"data" + len(samples).to_bytes(4, "little") + samples
    data = b"RIFF" + len(body).to_bytes(4, "little") + body
    assert wav_duration(tmp_path / "f.wav", data) == pytest.approx(0.5)


def test_unreadable_audio_is_invalid_input_and_sends_nothing(
    server: FakeOpenAI, tmp_path: Path
) -> None:
    whisper = OpenAITranscriber(settings_for(server))
    gpt4o = OpenAITranscriber(settings_for(server, stt_model="gpt-4o-mini-transcribe"))
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "broken.wav").write_bytes(b"RIFF\0\0\0\0WAVEjunk")

    with pytest.raises(InvalidInput, match="cannot read .*missing.wav"):
        whisper.transcribe(tmp_path / "missing.wav", "Ann")
    with pytest.raises(InvalidInput, match="empty"):
        whisper.transcribe(tmp_path / "empty.wav", "Ann")
    with pytest.raises(InvalidInput, match="not a readable WAV"):
        gpt4o.transcribe(tmp_path / "broken.wav", "Ann")
    assert server.requests == []


# -- summaries ------------------------------------------------------------------------------------


def test_summary_is_asked_as_a_json_object_and_parsed(server: FakeOpenAI) -> None:
    server.queue_chat(json.dumps(NOTES))
    segments = meeting(3)

    summary = OpenAISummarizer(settings_for(server, chat_model="notes-model")).summarize(segments)

    assert summary == NOTES_SUMMARY
    [request] = server.chat_requests
    assert request["model"] == "notes-model"
    assert request["response_format"] == {"type": "json_object"}
    system, user = request["messages"]
    assert system["role"] == "system" and "action_items" in system["content"]
    assert user == {"role": "user", "content": "\n".join(line(s) for s in segments)}


def test_the_people_in_the_meeting_are_named_to_the_model(server: FakeOpenAI) -> None:
    server.queue_chat(json.dumps(NOTES))
    people = [Participant("alice", "Alice Moreau"), Participant("bob")]

    OpenAISummarizer(settings_for(server)).summarize(meeting(3), people)

    [request] = server.chat_requests
    system = request["messages"][0]["content"]
    assert "alice (Alice Moreau); bob." in system
    assert "An owner is one of these usernames" in system


IN_THE_CALL = [Participant("alice", "Alice Moreau"), Participant("bkim", "Bob Kim")]


def notes_owned_by(*owners: str | None) -> str:
    items = [{"text": f"Task {i}", "owner": owner} for i, owner in enumerate(owners)]
    return json.dumps({"summary": ["Planned."], "decisions": [], "action_items": items})


def test_owners_the_model_names_are_made_participants_or_nobody(server: FakeOpenAI) -> None:
    server.queue_chat(
        notes_owned_by("Alice Moreau", "bob", "MOREAU", "BKIM", "Dave", "Alice and Bob", None)
    )

    summary = OpenAISummarizer(settings_for(server)).summarize(meeting(3), IN_THE_CALL)

    assert [item.owner for item in summary.action_items] == [
        "alice",  # the display name
        "bkim",  # a part of it, in any case
        "alice",
        "bkim",  # the username, in any case
        None,  # nobody in the meeting
        None,  # more than one
        None,
    ]


def test_owners_are_participants_in_every_part_and_in_the_merge(server: FakeOpenAI) -> None:
    def answer(request: dict[str, Any]) -> str:
        if request["messages"][0]["content"].startswith(MERGE_PROMPT):
            return notes_owned_by("Bob Kim", "Postgres")
        return notes_owned_by("Alice")

    server.chat_responder = answer

    summary = OpenAISummarizer(settings_for(server)).summarize(meeting(150), IN_THE_CALL)

    assert [item.owner for item in summary.action_items] == ["bkim", None]
    *parts, merge_request = server.chat_requests
    assert len(parts) >= 2
    assert "An owner is one of these usernames" in merge_request["messages"][0]["content"]
    handed_over = json.loads(merge_request["messages"][1]["content"])
    assert {item["owner"] for part in handed_over for item in part["action_items"]} == {"alice"}


def test_without_participants_owners_stay_as_the_model_wrote_them(server: FakeOpenAI) -> None:
    server.queue_chat(notes_owned_by("Dave", "Alice Moreau"))

    summary = OpenAISummarizer(settings_for(server)).summarize(meeting(3))

    assert [item.owner for item in summary.action_items] == ["Dave", "Alice Moreau"]


def test_a_long_transcript_is_summarized_in_parts_then_merged(server: FakeOpenAI) -> None:
    segments = meeting(150)  # about 200 characters a line: several 12k parts
    merged = {"summary": ["The whole meeting."], "decisions": [], "action_items": []}

    def answer(request: dict[str, Any]) -> str:
        if request["messages"][0]["content"] == MERGE_PROMPT:
            return json.dumps(merged)
        part = len(server.chat_requests)
        return json.dumps({"summary": [f"part {part}"], "decisions": [], "action_items": []})

    server.chat_responder = answer

    summary = OpenAISummarizer(settings_for(server)).summarize(segments)

    assert summary == Summary(summary=["The whole meeting."])
    *part_requests, merge_request = server.chat_requests
    assert len(part_requests) >= 3
    parts = [r["messages"][1]["content"] for r in part_requests]
    assert all(len(p) <= CHUNK_CHARS for p in parts)
    # Cut between segments: every line is whole, in one part, in order.
    assert "\n".join(parts).splitlines() == [line(s) for s in segments]
    handed_over = json.loads(merge_request["messages"][1]["content"])
    assert [p["summary"] for p in handed_over] == [[f"part {i}"] for i in range(1, len(parts) + 1)]


def test_no_transcript_needs_no_request(server: FakeOpenAI) -> None:
    assert OpenAISummarizer(settings_for(server)).summarize([]) == Summary()
    assert server.requests == []


def test_invalid_json_is_asked_again_once(server: FakeOpenAI) -> None:
    server.queue_chat("Sure! Here are the notes you asked for.", json.dumps(NOTES))

    assert OpenAISummarizer(settings_for(server)).summarize(meeting(2)) == NOTES_SUMMARY
    assert len(server.chat_requests) == 2


def test_invalid_json_twice_is_unavailable(server: FakeOpenAI) -> None:
    server.queue_chat("not json", "[1, 2, 3]")

    with pytest.raises(Unavailable, match="JSON summary") as caught:
        OpenAISummarizer(settings_for(server, chat_model="tiny")).summarize(meeting(2))
    assert "tiny" in caught.value.message
    assert len(server.chat_requests) == 2


def test_loose_answers_are_read_defensively() -> None:
    fenced = """```json
    {"summary": "One sentence.", "decisions": ["Yes", 3, ""],
     "action_items": ["Call Dana", {"text": "Book a room", "owner": "null"}, {"owner": "Eve"}]}
    ```"""

    assert parse_summary(fenced) == Summary(
        summary=["One sentence."],
        decisions=["Yes"],
        action_items=[ActionItem("Call Dana"), ActionItem("Book a room")],
    )


# -- failures -------------------------------------------------------------------------------------


def test_a_server_error_then_success_succeeds_with_one_retry(server: FakeOpenAI) -> None:
    server.fail_next(1)
    server.queue_chat(json.dumps(NOTES))

    summary = OpenAISummarizer(settings_for(server, retries=1)).summarize(meeting(2))

    assert summary == NOTES_SUMMARY
    assert server.requests == ["/v1/chat/completions", "/v1/chat/completions"]


def test_a_persistent_server_error_is_unavailable(server: FakeOpenAI, tmp_path: Path) -> None:
    server.fail_next(100)
    settings = settings_for(server, retries=1)

    with pytest.raises(Unavailable, match="HTTP 500") as caught:
        OpenAITranscriber(settings).transcribe(write_wav(tmp_path / "a.wav", 1.0), "Ann")
    assert server.base_url in caught.value.message
    assert "2 times" in caught.value.message
    assert len(server.requests) == 2  # the request and its one retry


def test_connection_refused_is_unavailable_naming_the_server() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    settings = NotesSettings(base_url=url, retries=0, timeout_s=5.0)

    with pytest.raises(Unavailable, match="cannot reach") as caught:
        OpenAISummarizer(settings).summarize(meeting(1))
    assert url in caught.value.message


def test_a_rejected_key_says_which_variable_to_fix(tmp_path: Path) -> None:
    with FakeOpenAI(api_key="right-key") as server:
        server.transcription = CannedTranscription([CannedSegment(0.0, 1.0, "Hi.")], duration=1.0)
        audio = write_wav(tmp_path / "a.wav", 1.0)

        good = OpenAITranscriber(settings_for(server, api_key="right-key"))
        assert good.transcribe(audio, "Ann") == [Segment("Ann", 0.0, 1.0, "Hi.")]
        with pytest.raises(KeyRejected, match="COOPE_OPENAI_API_KEY") as caught:
            OpenAITranscriber(settings_for(server, api_key="wrong-key")).transcribe(audio, "Ann")

    # Engine callers catch Unavailable; the CLI reports bad credentials.
    assert isinstance(caught.value, Unavailable)
    assert isinstance(caught.value, Unauthenticated)


def test_without_key_or_base_url_the_error_says_how_to_configure(tmp_path: Path) -> None:
    settings = NotesSettings()  # what from_env gives on a machine with nothing set

    with pytest.raises(Unavailable) as transcribing:
        OpenAITranscriber(settings).transcribe(write_wav(tmp_path / "a.wav", 1.0), "Ann")
    with pytest.raises(Unavailable) as summarizing:
        OpenAISummarizer(settings).summarize(meeting(1))

    for caught in (transcribing, summarizing):
        assert "COOPE_OPENAI_API_KEY" in caught.value.message
        assert "COOPE_OPENAI_BASE_URL" in caught.value.message
        assert "/v1" in caught.value.message


def test_a_track_over_the_upload_limit_is_sent_in_pieces_cut_in_quiet_moments(
    server: FakeOpenAI, tmp_path: Path
) -> None:
    rate, seconds = 16_000, 70
    rng = np.random.default_rng(7)
    speech = (rng.standard_normal(rate * seconds) * 3000).astype("<i2")
    for quiet_s in (25.0, 55.0):  # the pauses the cuts should find
        speech[int(quiet_s * rate) : int((quiet_s + 0.5) * rate)] = 0
    path = tmp_path / "alice.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(speech.tobytes())
    server.transcription = CannedTranscription([CannedSegment(1.0, 2.0, "A piece.")], duration=30)
    limit = 1_000_000  # about 31 s of this audio per upload

    segments = OpenAITranscriber(settings_for(server), max_upload_bytes=limit).transcribe(
        path, "Alice"
    )

    names = [u.filename for u in server.uploads]
    assert names == ["alice-1.wav", "alice-2.wav", "alice-3.wav"]
    assert all(len(u.data) <= limit for u in server.uploads)
    starts = [s.start - 1.0 for s in segments]  # where each piece began
    assert starts[0] == 0.0
    assert 25.0 <= starts[1] <= 25.5 and 55.0 <= starts[2] <= 55.5, starts
    total = 0
    for upload in server.uploads:
        with wave.open(io.BytesIO(upload.data)) as piece:
            assert piece.getframerate() == rate
            total += piece.getnframes()
    assert total == rate * seconds  # nothing lost, nothing twice


def test_an_explicit_openai_backend_without_a_server_fails_before_any_recording() -> None:
    settings = NotesSettings.from_env({"COOPE_STT_BACKEND": "openai"})
    with pytest.raises(Unavailable, match="COOPE_OPENAI_API_KEY"):
        engines.transcriber(settings)
    settings = NotesSettings.from_env({"COOPE_SUMMARY_BACKEND": "openai"})
    with pytest.raises(Unavailable, match="COOPE_OPENAI_BASE_URL"):
        engines.summarizer(settings)
