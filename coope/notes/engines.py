"""The engines the settings choose, imported only when asked for (they are heavy)."""

from __future__ import annotations

from coope.notes.settings import NotesSettings
from coope.notes.stt import Transcriber
from coope.notes.summary import Summarizer


def transcriber(settings: NotesSettings) -> Transcriber:
    if settings.stt_backend == "openai":
        from coope.notes.stt_openai import OpenAITranscriber

        return OpenAITranscriber(settings)
    from coope.notes.stt_local import LocalTranscriber

    return LocalTranscriber(settings.whisper_model)


def summarizer(settings: NotesSettings) -> Summarizer:
    if settings.summary_backend == "openai":
        from coope.notes.summarize_openai import OpenAISummarizer

        return OpenAISummarizer(settings)
    from coope.notes.extractive import ExtractiveSummarizer

    return ExtractiveSummarizer()
