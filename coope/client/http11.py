"""A small HTTP/1.1 client on asyncio streams: what the client's requests need, and no more.

Loading aiohttp costs a one-shot command (`coope chat send`) more than everything else it does
(about 0.12 s of a 0.5 s run), and a request to the daemon needs none of what it adds. Requests
go through here; websockets stay on aiohttp, which only what goes live loads.

Connections are kept alive and reused, one request at a time each, as HTTP/1.1 allows; an answer
is read whole (by its Content-Length, in chunks, or to the end of the connection).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from coope import __version__

if TYPE_CHECKING:
    import ssl

# Methods that may be sent again when a kept-alive connection turns out to have been closed by
# the server before it answered (RFC 9110 9.2.2): the same rule as browsers and aiohttp.
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
HEADER_LIMIT = 64 * 1024  # the status line and headers of one answer, at most
KEEP_IDLE = 8  # idle connections kept for reuse; more run at once, then close


class BadResponse(ConnectionError):
    """The server answered something that is not HTTP/1.1 as this client reads it."""


class BadHeader(ValueError):
    """A header of the request that would break it (a line break forges another header)."""


class Connections:
    """Requests to one server (`http://host:port` or `https://...`), on kept-alive connections."""

    def __init__(self, server: str) -> None:
        url = urlsplit(server)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"not an http:// or https:// address: {server!r}")
        self._tls = url.scheme == "https"
        self._host = url.hostname
        self._port = url.port or (443 if self._tls else 80)
        self._prefix = url.path.rstrip("/")
        netloc = f"[{self._host}]" if ":" in self._host else self._host
        self._host_header = netloc if url.port is None else f"{netloc}:{url.port}"
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._ssl: ssl.SSLContext | None = None
        self._closed = False

    async def request(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes | None
    ) -> tuple[int, bytes]:
        """Send one request for `target` (a path with its query) and read the whole answer."""
        head = self._head(method, target, headers, body)
        self._closed = False  # a closed client opens new connections when used again
        while True:
            reused, (reader, writer) = await self._connection()
            try:
                writer.write(head + body if body else head)
                await writer.drain()
                status, keep_alive, answer = await _read_response(reader, method)
            except BaseException as exc:
                writer.close()
                if reused and method in IDEMPOTENT and _closed_before_answering(exc):
                    continue  # the server had let this idle connection go: once more, anew
                if isinstance(exc, asyncio.IncompleteReadError):
                    where = "in the middle of" if exc.partial else "before"
                    raise BadResponse(f"the connection closed {where} the answer") from exc
                if isinstance(exc, asyncio.LimitOverrunError):
                    raise BadResponse(f"a line of the answer is over {HEADER_LIMIT} bytes") from exc
                raise
            if keep_alive and not self._closed and len(self._idle) < KEEP_IDLE:
                self._idle.append((reader, writer))
            else:
                writer.close()
            return status, answer

    async def aclose(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for _, writer in idle:
            writer.close()
        for _, writer in idle:
            try:
                await writer.wait_closed()
            except OSError:
                pass  # already gone: nothing to tidy

    def _head(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes | None
    ) -> bytes:
        lines = [f"{method} {self._prefix}{target} HTTP/1.1", f"Host: {self._host_header}"]
        fields = {"User-Agent": f"coope/{__version__}", **headers}
        if body is not None or method in ("POST", "PUT", "PATCH"):
            fields["Content-Length"] = str(len(body or b""))
        for name, value in fields.items():
            if not _is_field_text(name) or not _is_field_text(value):
                # A token pasted with a line break would otherwise forge a header of its own.
                raise BadHeader(f"the {name} header cannot hold a line break or control character")
            lines.append(f"{name}: {value}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")

    async def _connection(self) -> tuple[bool, tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
        """An idle connection the server has not closed (True), or a new one (False)."""
        while self._idle:
            reader, writer = self._idle.pop()
            if not reader.at_eof() and not writer.is_closing():
                return True, (reader, writer)
            writer.close()
        opened = await asyncio.open_connection(
            self._host,
            self._port,
            ssl=self._tls_context() if self._tls else None,
            limit=HEADER_LIMIT,
        )
        return False, opened

    def _tls_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            import ssl  # only for https: loading it and the system's certificates takes a while

            self._ssl = ssl.create_default_context()
        return self._ssl


def _is_field_text(text: str) -> bool:
    return all(ch == "\t" or " " <= ch != "\x7f" for ch in text)


def _closed_before_answering(exc: BaseException) -> bool:
    """Whether `exc` says the server closed the connection before a byte of its answer."""
    if isinstance(exc, asyncio.IncompleteReadError):
        return not exc.partial
    return isinstance(exc, ConnectionResetError | BrokenPipeError)


async def _read_response(reader: asyncio.StreamReader, method: str) -> tuple[int, bool, bytes]:
    """The status, whether the connection may carry another request, and the body."""
    while True:
        head = await reader.readuntil(b"\r\n\r\n")
        status, version, fields = _parse_head(head)
        if not 100 <= status < 200:
            break  # an interim answer (100 Continue, 103 Early Hints) is followed by the real one
    keep_alive = version == "HTTP/1.1" and "close" not in fields.get("connection", "").lower()
    if method == "HEAD" or status in (204, 304):
        return status, keep_alive, b""
    if "chunked" in fields.get("transfer-encoding", "").lower():
        return status, keep_alive, await _read_chunked(reader)
    length = fields.get("content-length")
    if length is not None:
        if not (length.isascii() and length.isdigit()):
            raise BadResponse(f"a Content-Length that is not a number: {length[:40]!r}")
        return status, keep_alive, await reader.readexactly(int(length))
    return status, False, await reader.read()  # the body ends where the connection does


def _parse_head(head: bytes) -> tuple[int, str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    code = rest[:3]
    if version not in ("HTTP/1.0", "HTTP/1.1") or not (code.isdigit() and len(code) == 3):
        raise BadResponse(f"not an HTTP/1.1 status line: {lines[0][:80]!r}")
    fields: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise BadResponse(f"a malformed header line: {line[:80]!r}")
        key, value = name.lower(), value.strip()
        if key in fields:  # repeated fields join with commas (RFC 9110 5.3)
            if key == "content-length" and fields[key] != value:
                raise BadResponse("two different Content-Length headers")
            value = value if key == "content-length" else f"{fields[key]}, {value}"
        fields[key] = value
    return int(code), version, fields


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while True:
        size_line = (await reader.readuntil(b"\r\n"))[:-2]
        size_text = size_line.split(b";", 1)[0].strip()
        if not size_text or size_text.strip(b"0123456789abcdefABCDEF"):
            raise BadResponse(f"a malformed chunk size: {size_text[:20]!r}")
        size = int(size_text, 16)
        if size == 0:
            break
        body += await reader.readexactly(size)
        if await reader.readexactly(2) != b"\r\n":
            raise BadResponse("a chunk not followed by CRLF")
    while await reader.readuntil(b"\r\n") != b"\r\n":
        pass  # trailer fields: none matter here
    return bytes(body)
