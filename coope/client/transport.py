"""The HTTP seam of the client: requests on the small HTTP/1.1 client, websockets on aiohttp, and
errors rebuilt from the daemon's bodies."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, urlencode

from pydantic import BaseModel

from coope.client.http11 import BadHeader, Connections
from coope.core.errors import DaemonUnreachable, InternalError, InvalidInput, error_from_body

if TYPE_CHECKING:
    import aiohttp

M = TypeVar("M", bound=BaseModel)


class Transport:
    """Every request and websocket of one client.

    Requests go over the client's own kept-alive connections. Websockets (the live connection,
    page replicas) go over an aiohttp session: the one passed in, used as it is and never closed
    here, or else one of the transport's own, opened on first use and closed in `aclose()`.
    """

    def __init__(
        self,
        server: str,
        token: str | None,
        timeout_s: float = 30.0,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        if not timeout_s > 0:  # also refuses NaN
            raise ValueError(f"a timeout must be a positive number of seconds, not {timeout_s!r}")
        self.server = server.rstrip("/")
        self.token = token
        self.timeout_s = float(timeout_s)
        self._http = Connections(self.server)
        self._session = session
        self._owns_session = session is None

    @property
    def session(self) -> aiohttp.ClientSession:
        """The aiohttp session for websockets (loading aiohttp on first use)."""
        import aiohttp

        if self._session is None or (self._owns_session and self._session.closed):
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout_s)
            )
        return self._session

    @property
    def ws_url(self) -> str:
        """The server's address with its websocket scheme (ws:// or wss://)."""
        return self.server.replace("http", "ws", 1)

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def call(
        self,
        method: str,
        path: str,
        model: type[M] | None = None,
        *,
        body: BaseModel | None = None,
        params: dict[str, Any] | None = None,
        data: bytes | None = None,
    ) -> Any:
        """Send one request; return `model` parsed from the answer (None for 204).

        Bodies are built unvalidated (`model_construct`): the daemon is the one judge of input, so
        a script gets the same `InvalidInput` and message whether it uses this client or not.
        `data` sends raw bytes instead (uploads, Yjs updates).
        """
        raw, status = await self.send(method, path, body=body, params=params, data=data)
        if model is None or status == 204:
            return None
        parsed = _json_or_none(raw)
        if parsed is None:
            raise InternalError(f"the daemon answered {method} {path} with a non-JSON body")
        # Fields this client does not know are ignored, not refused: a newer daemon may add
        # some to its answers, and an older client must still read them (events do the same).
        return model.model_validate(parsed, extra="ignore")

    async def send(
        self,
        method: str,
        path: str,
        *,
        body: BaseModel | None = None,
        params: dict[str, Any] | None = None,
        data: bytes | None = None,
    ) -> tuple[bytes, int]:
        """One request; the raw answer and its status, or the daemon's error raised."""
        headers = self.headers()
        if body is not None:
            # Stated: the daemon refuses JSON sent as anything else.
            headers["Content-Type"] = "application/json"
            payload = json.dumps(body.model_dump(mode="json", exclude_none=True)).encode()
        elif data is not None:
            headers["Content-Type"] = "application/octet-stream"
            payload = data
        else:
            payload = None
        query = {
            k: str(v).lower() if isinstance(v, bool) else str(v)
            for k, v in (params or {}).items()
            if v is not None
        }
        target = f"{path}?{urlencode(query, quote_via=quote)}" if query else path
        try:
            async with asyncio.timeout(self.timeout_s):
                status, raw = await self._http.request(method, target, headers, payload)
        except BadHeader as exc:  # nothing was sent
            raise InvalidInput(str(exc)) from None
        except (OSError, TimeoutError) as exc:
            raise DaemonUnreachable(
                f"cannot reach the daemon at {self.server}: {self._why(exc)}"
                " (is `coope daemon` running? set --server or COOPE_SERVER)"
            ) from exc
        if status >= 400:
            raise error_from_body(_json_or_none(raw), status)
        return raw, status

    def _why(self, exc: OSError | TimeoutError) -> str:
        """Why a request failed, as a person reads it."""
        if isinstance(exc, ConnectionRefusedError):
            return "connection refused"
        if isinstance(exc, TimeoutError) and exc.errno is None:  # ours, not the system's
            return f"no answer within {self.timeout_s:g} s"
        if isinstance(exc, socket.gaierror):
            return f"no such host ({exc.strerror})"
        return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__

    async def aclose(self) -> None:
        await self._http.aclose()
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None


def segment(value: str) -> str:
    """`value` quoted to stand as one segment of a URL path."""
    return quote(value, safe="")


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None
