"""Meeting summaries from a chat model: JSON out, long transcripts summarized in parts.

A transcript longer than `CHUNK_CHARS` is cut on segment boundaries; each part is summarized
on its own and a last call merges the partial summaries, so no request outgrows the model's
context however long the meeting was.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

import openai

from coope.core.errors import Unavailable
from coope.notes import openai_api
from coope.notes.extractive import participant_named
from coope.notes.settings import NotesSettings
from coope.notes.summary import ActionItem, Participant, Summary
from coope.notes.transcript import Segment, line

CHUNK_CHARS = 12_000

SUMMARIZE_PROMPT = """\
You write the notes of a meeting from its transcript, one `[mm:ss] Speaker: text` line per \
utterance. Answer with one JSON object and nothing else, in this form:
{"summary": ["sentence", ...], "decisions": ["decision", ...],
 "action_items": [{"text": "what is to be done", "owner": "who does it, or null"}]}
summary: a few sentences, the most important first. decisions: what the meeting agreed on.
action_items: what someone agreed to do; owner is the person named, else null.
Write in the transcript's language. Invent nothing; use empty lists when there is nothing."""

MERGE_PROMPT = """\
You are given, as a JSON list, the notes of consecutive parts of one meeting. Merge them into \
the notes of the whole meeting: same JSON form, one object and nothing else, repeats dropped, \
the most important points first."""

# Words a model writes for "nobody named" instead of null.
_NO_OWNER = {"", "null", "none", "unknown", "n/a", "-", "unassigned"}


def participants_prompt(participants: Sequence[Participant]) -> str:
    """The people in the meeting, so that owners are named as they are known to the service."""
    if not participants:
        return ""
    people = "; ".join(
        f"{p.username} ({p.display_name})" if p.display_name else p.username for p in participants
    )
    return (
        f"\nThe people in the meeting (username, and the name they are called by): {people}."
        " An owner is one of these usernames, or null."
    )


class NotASummary(ValueError):
    """The model's answer is not the JSON object that was asked for."""


class OpenAISummarizer:
    """Summarizes with the chat model the settings name (COOPE_CHAT_MODEL)."""

    def __init__(self, settings: NotesSettings) -> None:
        openai_api.require_configured(settings)  # found out before a meeting is recorded
        self.settings = settings

    def summarize(
        self, segments: list[Segment], participants: Sequence[Participant] | None = None
    ) -> Summary:
        chunks = transcript_chunks(segments, CHUNK_CHARS)
        if not chunks:
            return Summary()
        people = participants_prompt(participants or [])
        with openai_api.session(self.settings) as client:
            parts = [self._ask(client, SUMMARIZE_PROMPT + people, chunk) for chunk in chunks]
            parts = [owned_by(part, participants) for part in parts]
            if len(parts) == 1:
                return parts[0]
            merged_input = json.dumps([summary_json(p) for p in parts], ensure_ascii=False)
            return owned_by(self._ask(client, MERGE_PROMPT + people, merged_input), participants)

    def _ask(self, client: openai.OpenAI, instructions: str, text: str) -> Summary:
        """One summary from the model; a malformed answer is asked again once."""
        model = self.settings.chat_model
        problem = ""
        for _ in range(2):
            completion = client.chat.completions.create(
                model=model,
                messages=[
                    {"role": "system", "content": instructions},
                    {"role": "user", "content": text},
                ],
                response_format={"type": "json_object"},
            )
            content = completion.choices[0].message.content if completion.choices else None
            try:
                return parse_summary(content or "")
            except NotASummary as exc:
                problem = str(exc)
        raise Unavailable(
            f"the chat model {model} at {openai_api.base_url(self.settings)} twice answered "
            f"something other than the JSON summary asked for ({problem}); try another "
            "COOPE_CHAT_MODEL"
        )


def transcript_chunks(segments: Iterable[Segment], limit: int) -> list[str]:
    """The transcript as text cut into parts of at most `limit` characters between segments.

    A single segment longer than `limit` makes a part of its own rather than being cut.
    """
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for segment in segments:
        if not segment.text.strip():
            continue
        text = line(segment)
        if current and size + 1 + len(text) > limit:
            chunks.append("\n".join(current))
            current, size = [], 0
        size += len(text) + (1 if current else 0)
        current.append(text)
    if current:
        chunks.append("\n".join(current))
    return chunks


def parse_summary(content: str) -> Summary:
    """A `Summary` from the model's answer, tolerant of fences and of loosely typed fields.

    Raises:
        NotASummary: no JSON object with any of the expected keys.
    """
    data = _json_object(content)
    if not {"summary", "decisions", "action_items"} & data.keys():
        raise NotASummary(f"no summary, decisions or action_items in {_preview(content)}")
    return Summary(
        summary=_strings(data.get("summary")),
        decisions=_strings(data.get("decisions")),
        action_items=[
            item for raw in _list(data.get("action_items")) if (item := _action(raw)) is not None
        ],
    )


def owned_by(summary: Summary, participants: Sequence[Participant] | None) -> Summary:
    """`summary` with each owner the model wrote made a participant's username (named the way
    the extractive summarizer finds them), or None when it names nobody in the meeting: a model
    may answer "Alice Moreau", "Bob" or someone never there whatever it was asked. Without
    `participants` the owners stay as written."""
    if participants is None:
        return summary
    items = [
        replace(item, owner=participant_named(item.owner, participants) if item.owner else None)
        for item in summary.action_items
    ]
    return replace(summary, action_items=items)


def summary_json(summary: Summary) -> dict[str, Any]:
    """The JSON form the prompts ask for, used to hand partial summaries to the merge call."""
    return {
        "summary": summary.summary,
        "decisions": summary.decisions,
        "action_items": [{"text": a.text, "owner": a.owner} for a in summary.action_items],
    }


def _json_object(content: str) -> dict[str, Any]:
    text = content.strip()
    try:
        data = json.loads(text)
    except ValueError:
        # Servers that ignore response_format may wrap the object in prose or ``` fences.
        start, end = text.find("{"), text.rfind("}")
        if start < 0 or end <= start:
            raise NotASummary(f"not JSON: {_preview(content)}") from None
        try:
            data = json.loads(text[start : end + 1])
        except ValueError:
            raise NotASummary(f"not JSON: {_preview(content)}") from None
    if not isinstance(data, dict):
        raise NotASummary(f"not a JSON object: {_preview(content)}")
    return data


def _list(value: object) -> list[object]:
    if isinstance(value, list):
        return value
    return [] if value is None else [value]


def _strings(value: object) -> list[str]:
    return [item.strip() for item in _list(value) if isinstance(item, str) and item.strip()]


def _action(raw: object) -> ActionItem | None:
    if isinstance(raw, str):
        return ActionItem(raw.strip()) if raw.strip() else None
    if not isinstance(raw, dict):
        return None
    text = raw.get("text")
    if not isinstance(text, str) or not text.strip():
        return None
    owner = raw.get("owner")
    if not isinstance(owner, str) or owner.strip().lower() in _NO_OWNER:
        owner = None
    return ActionItem(text.strip(), owner.strip() if owner else None)


def _preview(content: str, limit: int = 80) -> str:
    flat = " ".join(content.split())
    return repr(flat if len(flat) <= limit else flat[:limit] + "…")
