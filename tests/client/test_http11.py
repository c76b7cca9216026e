"""The client's own HTTP/1.1 requests, against small servers on loopback that answer exactly as
each test needs: by length, in chunks, to the end, reused connections, broken answers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest

from coope.client import CoopeClient
from coope.client.http11 import BadResponse, Connections
from coope.client.transport import Transport
from coope.core.errors import DaemonUnreachable, InvalidInput, NotFound

Reply = Callable[[bytes, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[bool]]


class Server:
    """A loopback server: for each request it reads, `reply` answers and says whether the
    connection stays open. It counts connections and keeps every request's head."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.connections = 0
        self.requests: list[bytes] = []
        self.url = ""

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = _content_length(head)
                body = await reader.readexactly(length) if length else b""
                self.requests.append(head + body)
                if not await self.reply(head, reader, writer):
                    break
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client went away
        finally:
            writer.close()


@asynccontextmanager
async def serving(reply: Reply) -> AsyncIterator[Server]:
    server = Server(reply)
    listening = await asyncio.start_server(server._serve, "127.0.0.1", 0)
    server.url = f"http://127.0.0.1:{listening.sockets[0].getsockname()[1]}"
    try:
        yield server
    finally:
        listening.close()
        await listening.wait_closed()


def _content_length(head: bytes) -> int:
    for line in head.decode("latin-1").split("\r\n"):
        name, _, value = line.partition(":")
        if name.lower() == "content-length":
            return int(value)
    return 0


def answer(raw: bytes, keep: bool = True) -> Reply:
    async def reply(head: bytes, reader: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        w.write(raw)
        return keep

    return reply


OK_JSON = b'{"ok": true}'
BY_LENGTH = b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n" + OK_JSON


async def test_an_answer_by_length_in_chunks_or_to_the_end_of_the_connection() -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'5;ext=1\r\n{"ok"\r\n7\r\n: true}\r\n0\r\nX-Trailer: yes\r\n\r\n'
    )
    to_the_end = b"HTTP/1.0 200 OK\r\n\r\n" + OK_JSON
    for raw, keep in ((BY_LENGTH, True), (chunked, True), (to_the_end, False)):
        async with serving(answer(raw, keep)) as server:
            http = Connections(server.url)
            assert await http.request("GET", "/a?b=c", {}, None) == (200, OK_JSON)
            assert await http.request("GET", "/a", {}, None) == (200, OK_JSON)
            await http.aclose()
        # Kept alive when the answer's length is known, a new connection when it was not.
        assert server.connections == (1 if keep else 2)
    first = server.requests[0].decode()
    assert first.startswith("GET /a?b=c HTTP/1.1\r\n")
    assert f"Host: {server.url.removeprefix('http://')}\r\n" in first


async def test_an_interim_answer_is_skipped_and_a_body_less_status_reads_nothing() -> None:
    raw = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"
    async with serving(answer(raw)) as server:
        http = Connections(server.url)
        assert await http.request("DELETE", "/x", {}, None) == (204, b"")
        assert await http.request("DELETE", "/x", {}, None) == (204, b"")  # still in step
        await http.aclose()
    assert server.connections == 1


async def test_a_connection_the_server_closed_is_replaced_for_a_read_never_for_a_write() -> None:
    """The server takes the second request on a kept-alive connection and closes it without
    an answer, as one does whose idle timeout ran out at that moment."""
    served: list[int] = []

    async def reply(head: bytes, reader: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        served.append(len(served))
        if len(served) % 2 == 0:
            return False  # the second request on each connection: closed, unanswered
        w.write(BY_LENGTH)
        return True

    async with serving(reply) as server:
        http = Connections(server.url)
        assert await http.request("GET", "/one", {}, None) == (200, OK_JSON)
        assert await http.request("GET", "/two", {}, None) == (200, OK_JSON)  # sent again
        assert server.connections == 2
        with pytest.raises(BadResponse, match="closed before the answer"):
            await http.request("POST", "/three", {}, b"{}")  # maybe done: not sent twice
        await http.aclose()
    posts = [r for r in server.requests if r.startswith(b"POST")]
    assert len(posts) == 1


async def test_what_is_not_http_is_an_unreachable_daemon_with_the_reason() -> None:
    broken = {
        b"SMTP ready\r\n\r\n": "not an HTTP/1.1 status line",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1e3\r\n\r\n": "Content-Length that is not",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n": "two different",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\n": "malformed chunk size",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1_0\r\n": "malformed chunk size",
        b"HTTP/1.1 200 OK\r\n X: folded\r\n\r\n": "malformed header line",
        b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70_000 + b"\r\n\r\n": "over 65536 bytes",
        b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{}": "closed in the middle",
    }
    for raw, why in broken.items():
        async with serving(answer(raw, keep=False)) as server:
            transport = Transport(server.url, None, timeout_s=30)
            with pytest.raises(DaemonUnreachable, match=why):
                await transport.send("GET", "/api/v1/health")
            await transport.aclose()


async def test_errors_come_from_the_daemons_body_and_new_fields_are_read_past() -> None:
    health = {"status": "ok", "version": "9.9.9", "uptime_s": 1.5, "regions": ["added later"]}
    missing = {"error": {"code": "not_found", "message": "no page 7"}}

    async def reply(head: bytes, reader: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        status, body = (200, health) if head.startswith(b"GET /api/v1/health ") else (404, missing)
        raw = json.dumps(body).encode()
        w.write(f"HTTP/1.1 {status} X\r\nContent-Length: {len(raw)}\r\n\r\n".encode() + raw)
        return True

    async with serving(reply) as server, CoopeClient(server.url, "tok") as client:
        assert (await client.health()).version == "9.9.9"
        with pytest.raises(NotFound, match="no page 7"):
            await client.pages.get(7)
    sent = server.requests[-1].decode()
    assert "Authorization: Bearer tok\r\n" in sent
    assert sent.startswith("GET /api/v1/pages/7 HTTP/1.1")


async def test_a_token_that_would_forge_a_header_is_refused_before_anything_is_sent() -> None:
    async with serving(answer(BY_LENGTH)) as server:
        async with CoopeClient(server.url, "tok\r\nX-Admin: yes") as client:
            with pytest.raises(InvalidInput, match="line break"):
                await client.health()
    assert server.requests == []


async def test_a_request_given_up_on_leaves_its_connection_out_of_the_pool() -> None:
    """The first request is never answered and is given up on; the second must not be sent on
    that connection, where the first one's answer may still arrive."""
    seen: list[bytes] = []

    async def reply(head: bytes, reader: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        seen.append(head)
        if head.startswith(b"GET /slow "):
            await reader.read()  # until the client hangs up: no answer
            return False
        w.write(BY_LENGTH)
        return True

    async with serving(reply) as server:
        http = Connections(server.url)
        assert await http.request("GET", "/warm", {}, None) == (200, OK_JSON)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(http.request("GET", "/slow", {}, None), 0.2)
        assert await http.request("GET", "/after", {}, None) == (200, OK_JSON)
        await http.aclose()
        # Reused for /slow, then a new one for /after.
        assert server.connections == 2
        # And a closed client is usable again, as before it was closed.
        assert await http.request("GET", "/reopened", {}, None) == (200, OK_JSON)
        await http.aclose()
    assert [h.split(b" ")[1] for h in seen] == [b"/warm", b"/slow", b"/after", b"/reopened"]


async def test_why_the_daemon_cannot_be_reached_is_said_as_a_person_reads_it() -> None:
    closed = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = closed.sockets[0].getsockname()[1]
    closed.close()
    await closed.wait_closed()  # nothing listens on `port` now
    async with CoopeClient(f"http://127.0.0.1:{port}") as client:
        with pytest.raises(DaemonUnreachable, match=": connection refused \\(is `coope daemon`"):
            await client.health()

    async def silent(head: bytes, reader: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        await reader.read()  # no answer, until the client hangs up
        return False

    async with serving(silent) as server, CoopeClient(server.url, timeout=0.2) as client:
        with pytest.raises(DaemonUnreachable, match=": no answer within 0.2 s"):
            await client.health()
