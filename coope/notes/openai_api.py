"""The `openai` client built from `NotesSettings`, and its exceptions turned into coope errors.

openai exception                    coope error
missing key and base URL            Unavailable   (how to set COOPE_OPENAI_API_KEY / _BASE_URL)
APIConnectionError (refused, DNS)   Unavailable   (names the base URL)
APITimeoutError                     Unavailable   (names COOPE_OPENAI_TIMEOUT_S)
401 AuthenticationError             KeyRejected   (Unauthenticated and Unavailable)
400, 413, 415, 422                  InvalidInput  (the server refused what it was sent)
429, 5xx after the retries, other   Unavailable
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import openai

from coope.core.errors import CoopeError, InvalidInput, Unauthenticated, Unavailable
from coope.notes.settings import NotesSettings

OPENAI_BASE_URL = "https://api.openai.com/v1"
# The openai client refuses to start without a key, but a local OpenAI-compatible server
# (a Whisper server, vLLM, Ollama) usually wants none: it gets this instead.
NO_KEY_PLACEHOLDER = "no-key"

NOT_CONFIGURED = (
    "no AI server is configured: set COOPE_OPENAI_API_KEY to an OpenAI API key, or "
    "COOPE_OPENAI_BASE_URL to an OpenAI-compatible server's URL ending in /v1 "
    "(e.g. http://127.0.0.1:8000/v1)"
)

_INPUT_REFUSED = {400, 413, 415, 422}


class KeyRejected(Unauthenticated, Unavailable):
    """The server refused the API key.

    It is both on purpose: engine callers catch `Unavailable` (the `Transcriber` and
    `Summarizer` contract), while the CLI, which checks `Unauthenticated` first, exits with the
    bad-credentials code.
    """

    retryable = False


def base_url(settings: NotesSettings) -> str:
    """The server the settings point at, as error messages name it."""
    return settings.base_url or OPENAI_BASE_URL


def require_configured(settings: NotesSettings) -> None:
    """Raise `Unavailable` saying how to configure a server when neither key nor URL is set."""
    if not settings.openai_configured:
        raise Unavailable(NOT_CONFIGURED)


def client(settings: NotesSettings) -> openai.OpenAI:
    """An `openai.OpenAI` client for the configured server; close it (`with`) after use.

    Raises:
        Unavailable: neither COOPE_OPENAI_API_KEY nor COOPE_OPENAI_BASE_URL is set.
    """
    require_configured(settings)
    # Both are passed explicitly so the client never falls back to OPENAI_API_KEY or
    # OPENAI_BASE_URL from the environment: coope reads only its own variables.
    return openai.OpenAI(
        api_key=settings.api_key or NO_KEY_PLACEHOLDER,
        base_url=base_url(settings),
        max_retries=settings.retries,
        timeout=settings.timeout_s,
    )


@contextmanager
def session(settings: NotesSettings) -> Iterator[openai.OpenAI]:
    """A client for the `with` block, closed after it, its exceptions turned into coope errors."""
    with client(settings) as opened, translated_errors(settings):
        yield opened


@contextmanager
def translated_errors(settings: NotesSettings) -> Iterator[None]:
    """Turn the openai exceptions raised inside the block into coope errors."""
    try:
        yield
    except openai.OpenAIError as exc:
        raise coope_error(exc, settings) from exc


def coope_error(exc: openai.OpenAIError, settings: NotesSettings) -> CoopeError:
    """The coope error, with a message that says what to do, for an openai exception."""
    url = base_url(settings)
    if isinstance(exc, openai.APITimeoutError):
        return Unavailable(
            f"{url} did not answer within {settings.timeout_s:g} s "
            "(COOPE_OPENAI_TIMEOUT_S sets the limit)"
        )
    if isinstance(exc, openai.APIConnectionError):
        cause = f" ({exc.__cause__})" if exc.__cause__ else ""
        return Unavailable(
            f"cannot reach the AI server at {url}{cause}: is it running, and is "
            "COOPE_OPENAI_BASE_URL right?"
        )
    if isinstance(exc, openai.APIStatusError):
        return _status_error(exc, settings)
    return Unavailable(f"the AI server at {url} failed: {exc}")


def _status_error(exc: openai.APIStatusError, settings: NotesSettings) -> CoopeError:
    url = base_url(settings)
    status = exc.status_code
    said = _server_message(exc)
    if status == 401:
        return KeyRejected(
            f"the AI server at {url} rejected the API key (HTTP 401: {said}): "
            "check COOPE_OPENAI_API_KEY"
        )
    if status in _INPUT_REFUSED:
        return InvalidInput(f"the AI server at {url} refused the request (HTTP {status}): {said}")
    if status == 404:
        return Unavailable(
            f"the AI server at {url} has no such endpoint or model (HTTP 404: {said}): "
            "COOPE_OPENAI_BASE_URL should end in /v1; COOPE_STT_MODEL and COOPE_CHAT_MODEL "
            "name the models"
        )
    if status == 429:
        return Unavailable(f"the AI server at {url} is rate limiting or out of quota: {said}")
    if status >= 500:
        tries = "once" if settings.retries == 0 else f"{settings.retries + 1} times"
        return Unavailable(
            f"the AI server at {url} failed (HTTP {status}: {said}), tried {tries} "
            "(COOPE_OPENAI_RETRIES sets the retries)"
        )
    return Unavailable(f"the AI server at {url} answered HTTP {status}: {said}")


def _server_message(exc: openai.APIStatusError) -> str:
    """The server's own explanation: the `message` of its error body when there is one."""
    body = exc.body
    if isinstance(body, dict) and isinstance(body.get("message"), str) and body["message"]:
        return str(body["message"])
    return exc.message
