"""Which engines the notes and the AI chat use, from the environment.

COOPE_OPENAI_API_KEY     a key for OpenAI or a compatible server
COOPE_OPENAI_BASE_URL    an OpenAI-compatible server, ending in /v1
COOPE_STT_BACKEND        openai | local (default: openai when a key or base URL is set)
COOPE_SUMMARY_BACKEND    openai | local (same default)
COOPE_STT_MODEL          whisper-1 (default) or gpt-4o-transcribe, or the server's name
COOPE_CHAT_MODEL         the chat model for summaries and `coope ai chat`
COOPE_OPENAI_RETRIES     retries of a failed request (default 2)
COOPE_OPENAI_TIMEOUT_S   seconds per request (default 120)
COOPE_WHISPER_MODEL      a CTranslate2 Whisper model directory for the local engine
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

from coope.core.errors import InvalidInput

Backend = Literal["openai", "local"]
N = TypeVar("N", int, float)

DEFAULT_STT_MODEL = "whisper-1"
DEFAULT_CHAT_MODEL = "gpt-4o-mini"


@dataclass(frozen=True)
class NotesSettings:
    api_key: str | None = None
    base_url: str | None = None
    stt_backend: Backend = "local"
    summary_backend: Backend = "local"
    stt_model: str = DEFAULT_STT_MODEL
    chat_model: str = DEFAULT_CHAT_MODEL
    retries: int = 2
    timeout_s: float = 120.0
    whisper_model: str | None = None
    recording_days: float = 30.0

    @property
    def openai_configured(self) -> bool:
        return bool(self.api_key or self.base_url)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> NotesSettings:
        env = os.environ if env is None else env
        api_key = env.get("COOPE_OPENAI_API_KEY") or None
        base_url = (env.get("COOPE_OPENAI_BASE_URL") or "").rstrip("/") or None
        default: Backend = "openai" if (api_key or base_url) else "local"
        return cls(
            api_key=api_key,
            base_url=base_url,
            stt_backend=_backend(env, "COOPE_STT_BACKEND", default),
            summary_backend=_backend(env, "COOPE_SUMMARY_BACKEND", default),
            stt_model=env.get("COOPE_STT_MODEL") or DEFAULT_STT_MODEL,
            chat_model=env.get("COOPE_CHAT_MODEL") or DEFAULT_CHAT_MODEL,
            retries=_number(env, "COOPE_OPENAI_RETRIES", 2, int),
            timeout_s=_number(env, "COOPE_OPENAI_TIMEOUT_S", 120.0, float),
            whisper_model=env.get("COOPE_WHISPER_MODEL") or None,
            recording_days=_number(env, "COOPE_RECORDING_DAYS", 30.0, float),
        )


def data_dir(env: Mapping[str, str] | None = None) -> Path:
    """This user's coope data: `$XDG_DATA_HOME/coope`, else `~/.local/share/coope`."""
    env = os.environ if env is None else env
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "coope"


def _backend(env: Mapping[str, str], name: str, default: Backend) -> Backend:
    value = (env.get(name) or default).strip().lower()
    if value == "openai":
        return "openai"
    if value == "local":
        return "local"
    raise InvalidInput(f"{name} must be 'openai' or 'local', not {value!r}")


def _number(env: Mapping[str, str], name: str, default: N, kind: type[N]) -> N:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise InvalidInput(f"{name} must be a number, not {raw!r}") from None
    if value < 0:
        raise InvalidInput(f"{name} must not be negative")
    return value
