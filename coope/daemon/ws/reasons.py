"""Close reasons for websockets: at most 123 bytes (RFC 6455), cut on a character boundary."""

from __future__ import annotations

MAX_REASON_BYTES = 123


def close_reason(text: str) -> bytes:
    """`text` as a close reason a client will accept: a reason cut inside a UTF-8 character is
    an invalid frame, which clients report as 1006 instead of the code that was meant."""
    data = text.encode()
    if len(data) <= MAX_REASON_BYTES:
        return data
    cut = data[: MAX_REASON_BYTES - len("…".encode())].decode("utf-8", "ignore")
    return (cut + "…").encode()
