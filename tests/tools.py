"""External tools and servers some tests need (Node.js, Chromium, espeak-ng, Redis...): skip
without them, or fail.

A developer without a tool gets a skip with the reason; CI sets `COOPE_REQUIRE_ALL=1`, where a
missing tool is a failure, so that a broken setup cannot pass as a green run full of skips.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import NoReturn

import pytest
import redis.asyncio as redis
from redis.exceptions import RedisError

from coope.daemon.bus_redis import RedisBus


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
    missing(f"{name} not found {where}" + (f"; {hint}" if hint else ""))


def missing(message: str) -> NoReturn:
    """Skip the calling test for want of a tool or a server (fail under COOPE_REQUIRE_ALL=1)."""
    if os.environ.get("COOPE_REQUIRE_ALL") == "1":
        pytest.fail(f"{message} (COOPE_REQUIRE_ALL=1: every tool is required)", pytrace=False)
    pytest.skip(message)


REDIS_URL = os.environ.get("COOPE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


async def redis_bus(*, prefix: str | None = None, max_pending: int = 1000) -> RedisBus:
    """A Redis event bus on the test Redis server (COOPE_TEST_REDIS_URL), with a prefix of its
    own unless given one; skips without Redis (fails under COOPE_REQUIRE_ALL=1)."""
    client = redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        missing(f"no Redis server at {REDIS_URL} ({exc}); set COOPE_TEST_REDIS_URL")
    finally:
        await client.aclose()
    prefix = prefix or f"coope-test-{uuid.uuid4().hex}:"
    return RedisBus(REDIS_URL, prefix=prefix, max_pending=max_pending)
