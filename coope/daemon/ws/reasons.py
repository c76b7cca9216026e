"""Close codes and reasons for websockets.

A refusal after the upgrade is a close frame: code 4000 + the HTTP status the same refusal would
get over REST (4400 bad message, 4401 credential missing or gone, 4403 no right to do that, 4404
no such thing, 4422 breaks a rule), so a client maps it back to the same error. Standard Yjs
clients (y-websocket) stop reconnecting on 4400-4499 and retry on anything else: a refusal that
reconnecting cannot fix must be a 44xx code, and one that a reconnect heals must not be.

A reason is at most 123 bytes (RFC 6455), cut on a character boundary.
"""

from __future__ import annotations

from coope.core.errors import CoopeError

MAX_REASON_BYTES = 123
# The server cannot serve the connection now, but a new one will do (RFC 6455 "try again later").
CLOSE_TRY_AGAIN = 1013
CLOSE_INTERNAL = 1011


def close_code(error: CoopeError) -> int:
    """The close code that says what `error` says as an HTTP status: 4000 + a 4xx status, "try
    again later" for a service that is unavailable for now (503), else an internal error."""
    if 400 <= error.status < 500:
        return 4000 + error.status
    return CLOSE_TRY_AGAIN if error.status == 503 else CLOSE_INTERNAL


def close_reason(text: str) -> bytes:
    """`text` as a close reason a client will accept: a reason cut inside a UTF-8 character is
    an invalid frame, which clients report as 1006 instead of the code that was meant."""
    data = text.encode()
    if len(data) <= MAX_REASON_BYTES:
        return data
    cut = data[: MAX_REASON_BYTES - len("…".encode())].decode("utf-8", "ignore")
    return (cut + "…").encode()
