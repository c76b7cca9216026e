"""External tools some tests need (Node.js, Chromium, espeak-ng...): skip without them, or fail.

A developer without a tool gets a skip with the reason; CI sets `COOPE_REQUIRE_ALL=1`, where a
missing tool is a failure, so that a broken setup cannot pass as a green run full of skips.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest


def require_tool(name: str, path: str | Path | None = None, *, hint: str = "") -> Path:
    """The tool's path; skips the calling test if it is missing (fails under COOPE_REQUIRE_ALL=1).

    Args:
        name: An executable looked up on PATH, or what `path` is, for the message.
        path: A file or directory that must exist instead of a PATH lookup (installed packages,
            a browser in a known place...).
        hint: How to get the tool, appended to the message.
    """
    found = shutil.which(name) if path is None else (str(path) if Path(path).exists() else None)
    if found is not None:
        return Path(found)
    where = "on PATH" if path is None else f"at {path}"
    message = f"{name} not found {where}" + (f"; {hint}" if hint else "")
    if os.environ.get("COOPE_REQUIRE_ALL") == "1":
        pytest.fail(f"{message} (COOPE_REQUIRE_ALL=1: every tool is required)", pytrace=False)
    pytest.skip(message)
