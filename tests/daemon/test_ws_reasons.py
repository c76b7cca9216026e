"""Close reasons stay valid UTF-8 within the 123 bytes a close frame allows."""

from __future__ import annotations

import pytest

from coope.daemon.ws.reasons import close_reason


@pytest.mark.parametrize("text", ["short", "é" * 100, "x" * 122 + "é", "🙂" * 40, ""])
def test_reasons_fit_and_decode(text: str) -> None:
    reason = close_reason(text)
    assert len(reason) <= 123
    decoded = reason.decode("utf-8")  # raises if cut inside a character
    assert decoded == text or (decoded.endswith("…") and text.startswith(decoded[:-1]))
