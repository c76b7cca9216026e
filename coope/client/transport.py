"""The HTTP seam of the client: one aiohttp session, errors rebuilt from the daemon's bodies."""

from __future__ import annotations

import io
import json
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp
from pydantic import BaseModel

from coope.core.errors import DaemonUnreachable, InternalError, error_from_body

M = TypeVar("M", bound=BaseModel)


class Transport:
    """Every request of one client, on one aiohttp session.

    A session passed in is the caller's: used as it is, never closed here. Without one, the
    transport opens its own on first use and closes it in `aclose()`.
    """

    def __init__(
        self,
        server: str,
        token: str | None,
        timeout: aiohttp.ClientTimeout | float = 30.0,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.server = server.rstrip("/")
        self.token = token
        self.timeout = (
            timeout if isinstance(timeout, aiohttp.ClientTimeout) else _total(float(timeout))
        )
        self._session = session
        self._owns_session = session is None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or (self._owns_session and self._session.closed):
            self._session = aiohttp.ClientSession(timeout=self.timeout)
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
        return model.model_validate(parsed)

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
        payload = body.model_dump(mode="json", exclude_none=True) if body is not None else None
        query = {
            k: str(v).lower() if isinstance(v, bool) else str(v)
            for k, v in (params or {}).items()
            if v is not None
        }
        headers = self.headers()
        upload: bytes | io.BytesIO | None = data
        if payload is not None:
            # Stated, not left to the HTTP library: the daemon refuses JSON sent as anything else.
            headers["Content-Type"] = "application/json"
        if data is not None:
            headers["Content-Type"] = "application/octet-stream"
            # aiohttp streams a file-like body in chunks instead of writing it in one go.
            upload = io.BytesIO(data) if len(data) > 64 * 1024 else data
        try:
            async with self.session.request(
                method,
                self.server + path,
                json=payload,
                data=upload,
                params=query,
                headers=headers,
                # Per request: an injected session keeps its own default for everyone else.
                timeout=self.timeout,
            ) as response:
                raw = await response.read()
                status = response.status
        except (aiohttp.ClientConnectionError, TimeoutError) as exc:
            raise DaemonUnreachable(
                f"cannot reach the daemon at {self.server}: {exc or type(exc).__name__}"
                " (is `coope daemon` running? set --server or COOPE_SERVER)"
            ) from exc
        if status >= 400:
            raise error_from_body(_json_or_none(raw), status)
        return raw, status

    async def aclose(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None


def _total(seconds: float) -> aiohttp.ClientTimeout:
    if not seconds > 0:  # also refuses NaN
        raise ValueError(f"a timeout must be a positive number of seconds, not {seconds!r}")
    return aiohttp.ClientTimeout(total=seconds)


def segment(value: str) -> str:
    """`value` quoted to stand as one segment of a URL path."""
    return quote(value, safe="")


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None
