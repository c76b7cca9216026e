"""A fake OpenAI-compatible server for the tests: the external service, never coope's own code.

It speaks the two endpoints coope uses, on 127.0.0.1 and an ephemeral port:

    POST /v1/audio/transcriptions   multipart upload; answers `verbose_json`, `json` or `text`
                                    from the canned `transcription`, and records each `Upload`
    POST /v1/chat/completions       JSON, or SSE chunks then `data: [DONE]` with `"stream": true`;
                                    replies come from `queue_chat(...)`, else `chat_responder`

`fail_next(n)` makes the next n requests answer HTTP 500, `api_key` makes it check the
`Authorization: Bearer` header, `hold_stream(k)` pauses a streamed reply after k chunks. An
exception in a handler is a bug of the fake: `stop()` raises it.

The server runs its own event loop on a background thread, so sync tests (the openai client is
sync), async tests and subprocesses can all reach it.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesHeaderParser
from typing import Any

from aiohttp import web

ChatResponder = Callable[[dict[str, Any]], str]


def echo_last_user_message(request: dict[str, Any]) -> str:
    """The default chat reply: says back the last user message, so tests can tell turns apart."""
    users = [m for m in request.get("messages", []) if m.get("role") == "user"]
    return f"echo: {users[-1]['content']}" if users else "echo: (nothing)"


@dataclass(frozen=True)
class CannedSegment:
    start: float
    end: float
    text: str


@dataclass
class CannedTranscription:
    """What the transcription endpoint answers; `segments` make up `text` unless it is given."""

    segments: list[CannedSegment] = field(default_factory=list)
    text: str | None = None
    duration: float = 0.0
    language: str = "english"

    def full_text(self) -> str:
        return self.text if self.text is not None else " ".join(s.text for s in self.segments)


@dataclass(frozen=True)
class Upload:
    """One transcription request as the server received it."""

    filename: str | None
    content_type: str | None
    data: bytes
    model: str | None
    response_format: str | None
    timestamp_granularities: list[str]
    stream: str | None
    fields: dict[str, list[str]]


@dataclass(frozen=True)
class Held:
    """A streamed reply that stops after `after_chunks` chunks until `release` is set."""

    after_chunks: int
    reached: threading.Event
    release: threading.Event


class FakeOpenAI:
    """The fake server; use `with FakeOpenAI() as server:` or `start()`/`stop()`."""

    def __init__(self, api_key: str | None = None) -> None:
        self.api_key = api_key
        self.transcription = CannedTranscription()
        self.chat_responder: ChatResponder = echo_last_user_message
        self.uploads: list[Upload] = []
        self.chat_requests: list[dict[str, Any]] = []
        self.requests: list[str] = []  # every request's path, failed ones included
        self.handler_errors: list[Exception] = []
        self.chunk_size = 4  # characters per streamed chunk: several chunks even for short replies
        self._lock = threading.Lock()
        self._queued_replies: deque[str] = deque()
        self._failures = 0
        self._failure_status = 500
        self._held: Held | None = None  # the hold the next streamed reply takes
        self._holds: list[Held] = []  # every hold made, all released by stop()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- what tests call ------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The URL to give as COOPE_OPENAI_BASE_URL."""
        return f"http://127.0.0.1:{self.port}/v1"

    def queue_chat(self, *replies: str) -> None:
        """Answer the next chat requests with these contents, in order."""
        with self._lock:
            self._queued_replies.extend(replies)

    def fail_next(self, count: int, status: int = 500) -> None:
        """Answer the next `count` requests (any endpoint) with `status` and an error body."""
        with self._lock:
            self._failures = count
            self._failure_status = status

    def hold_stream(self, after_chunks: int) -> Held:
        """Make the next streamed reply pause after `after_chunks` chunks until released."""
        held = Held(after_chunks, threading.Event(), threading.Event())
        with self._lock:
            self._held = held
            self._holds.append(held)
        return held

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> FakeOpenAI:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="fake-openai", daemon=True)
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._serve(), loop).result(timeout=10)
        except BaseException:
            self.stop()  # no thread or loop left behind by a failed start
            raise
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        for held in self._holds:
            held.release.set()  # a held stream would otherwise keep its handler waiting
        try:
            if self._runner is not None:
                asyncio.run_coroutine_threadsafe(self._runner.cleanup(), loop).result(timeout=10)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            loop.close()
            self._loop = self._thread = self._runner = None
        if self.handler_errors:
            raise AssertionError(f"the fake OpenAI server failed: {self.handler_errors!r}")

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def _serve(self) -> None:
        app = web.Application(middlewares=[self._gate])
        app.router.add_post("/v1/audio/transcriptions", self._transcriptions)
        app.router.add_post("/v1/chat/completions", self._chat_completions)
        # A short shutdown timeout: a client that hangs up mid-stream must not stall stop().
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    # -- request handling -----------------------------------------------------------------------

    @web.middleware
    async def _gate(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        """Record the request, then answer injected failures and bad keys before the handler."""
        with self._lock:
            self.requests.append(request.path)
            failing = self._failures > 0
            if failing:
                self._failures -= 1
        if failing:
            # retry-after-ms is a header OpenAI sends too; a tiny value keeps retry tests fast.
            return _error(
                self._failure_status,
                "the fake server was told to fail",
                "server_error",
                headers={"retry-after-ms": "10"},
            )
        if self.api_key is not None:
            if request.headers.get("Authorization") != f"Bearer {self.api_key}":
                return _error(401, "Incorrect API key provided.", "invalid_api_key")
        try:
            response: web.StreamResponse = await handler(request)
        except ConnectionError:
            raise  # the client hung up, e.g. right after `data: [DONE]`: not the fake's fault
        except Exception as exc:
            self.handler_errors.append(exc)  # reported by stop(): a broken fake is no test
            raise
        return response

    async def _transcriptions(self, request: web.Request) -> web.StreamResponse:
        upload = await _read_upload(request)
        with self._lock:
            self.uploads.append(upload)
        canned = self.transcription
        text = canned.full_text()
        if upload.response_format == "text":
            return web.Response(text=text)
        if upload.response_format != "verbose_json":
            return web.json_response({"text": text})
        body: dict[str, Any] = {
            "task": "transcribe",
            "language": canned.language,
            "duration": canned.duration,
            "text": text,
        }
        granularities = upload.timestamp_granularities or ["segment"]
        if "segment" in granularities:
            body["segments"] = [_segment_body(i, s) for i, s in enumerate(canned.segments)]
        if "word" in granularities:
            body["words"] = [w for s in canned.segments for w in _word_bodies(s)]
        return web.json_response(body)

    async def _chat_completions(self, request: web.Request) -> web.StreamResponse:
        payload = await request.json()
        with self._lock:
            self.chat_requests.append(payload)
            reply = self._queued_replies.popleft() if self._queued_replies else None
        if reply is None:
            reply = self.chat_responder(payload)
        model = str(payload.get("model", ""))
        if payload.get("stream"):
            return await self._stream_reply(request, model, reply)
        return web.json_response(
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": reply},
                        "finish_reason": "stop",
                    }
                ],
            }
        )

    async def _stream_reply(
        self, request: web.Request, model: str, reply: str
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        with self._lock:
            held, self._held = self._held, None
        pieces = [reply[i : i + self.chunk_size] for i in range(0, len(reply), self.chunk_size)]
        deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
        deltas += [{"content": piece} for piece in pieces]
        for sent, delta in enumerate(deltas):
            if held is not None and sent == held.after_chunks + 1:  # +1: the role-only chunk
                held.reached.set()
                await _wait_for(held.release)
            await response.write(_sse(_chunk(model, delta, None)))
        await response.write(_sse(_chunk(model, {}, "stop")))
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response


async def _wait_for(event: threading.Event, timeout: float = 120.0) -> None:
    """Wait for a test thread's event on a worker thread, so this server's loop keeps running.

    The timeout is only a backstop (`stop()` releases a held stream): it is longer than any
    test waits, so a reply can never look streamed just because the hold ran out.
    """
    await asyncio.to_thread(event.wait, timeout)


async def _read_upload(request: web.Request) -> Upload:
    fields: dict[str, list[str]] = {}
    filename = content_type = None
    data = b""
    for headers, content in multipart_parts(request.headers["Content-Type"], await request.read()):
        name = headers.get_param("name", header="content-disposition")
        if name == "file":
            filename = headers.get_filename()
            content_type = headers.get("Content-Type")
            data = content
        elif isinstance(name, str):
            fields.setdefault(name, []).append(content.decode())

    def first(name: str) -> str | None:
        values = fields.get(name)
        return values[0] if values else None

    # The openai client sends arrays as `name[]` fields; plain `name` is accepted too.
    granularities = fields.get("timestamp_granularities[]", []) + fields.get(
        "timestamp_granularities", []
    )
    return Upload(
        filename=filename,
        content_type=content_type,
        data=data,
        model=first("model"),
        response_format=first("response_format"),
        timestamp_granularities=granularities,
        stream=first("stream"),
        fields=fields,
    )


def multipart_parts(content_type: str, body: bytes) -> list[tuple[Message, bytes]]:
    """The parts of a multipart/form-data body: each one's headers and its exact bytes.

    Parsed here rather than with aiohttp's reader, which on some chunk boundaries calls a
    deprecated method of its own, and the test suite turns that warning into an error.
    """
    envelope = Message()
    envelope["Content-Type"] = content_type
    boundary = envelope.get_param("boundary")
    if not isinstance(boundary, str):
        raise web.HTTPBadRequest(text="multipart body without a boundary")
    parts = []
    for chunk in body.split(b"--" + boundary.encode())[1:]:
        if chunk.startswith(b"--"):
            break  # the closing delimiter
        head, _, content = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        headers = BytesHeaderParser().parsebytes(head + b"\r\n\r\n")
        parts.append((headers, content.removesuffix(b"\r\n")))
    return parts


def _segment_body(index: int, segment: CannedSegment) -> dict[str, Any]:
    return {
        "id": index,
        "seek": 0,
        "start": segment.start,
        "end": segment.end,
        "text": " " + segment.text,  # Whisper puts a space before each segment's text
        "tokens": [1, 2, 3],
        "temperature": 0.0,
        "avg_logprob": -0.2,
        "compression_ratio": 1.2,
        "no_speech_prob": 0.01,
    }


def _word_bodies(segment: CannedSegment) -> list[dict[str, Any]]:
    words = segment.text.split()
    step = (segment.end - segment.start) / max(1, len(words))
    return [
        {"word": w, "start": segment.start + i * step, "end": segment.start + (i + 1) * step}
        for i, w in enumerate(words)
    ]


def _chunk(model: str, delta: dict[str, Any], finish_reason: str | None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }


def _sse(payload: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(payload)}\n\n".encode()


def _error(
    status: int, message: str, code: str, headers: dict[str, str] | None = None
) -> web.Response:
    body = {"error": {"message": message, "type": "api_error", "param": None, "code": code}}
    return web.json_response(body, status=status, headers=headers)
