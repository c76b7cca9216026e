"""Password hashing with scrypt from the standard library, off the event loop."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets

# 2**14 with r=8: ~16 MiB of memory and a few tens of milliseconds per hash, costly to
# brute-force and cheap to log in with. Each hash records its own cost, so changing the setting
# never locks anyone out.
DEFAULT_LOG2_N = 14
_R, _P, _DKLEN = 8, 1, 32


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, dklen=dklen, maxmem=256 * 1024 * 1024
    )


def hash_password_sync(password: str, log2_n: int = DEFAULT_LOG2_N) -> str:
    salt = secrets.token_bytes(16)
    n = 2**log2_n
    digest = _scrypt(password, salt, n, _R, _P, _DKLEN)
    return f"scrypt${n}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def verify_password_sync(password: str, encoded: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = encoded.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p), len(expected))
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


class PasswordHasher:
    def __init__(self, log2_n: int = DEFAULT_LOG2_N) -> None:
        self._log2_n = log2_n
        # Verifying against this when the user does not exist keeps "no such user" and "wrong
        # password" equally slow, so response times do not reveal which usernames exist.
        self._dummy = hash_password_sync(secrets.token_urlsafe(16), log2_n)

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(hash_password_sync, password, self._log2_n)

    async def verify(self, password: str, encoded: str | None) -> bool:
        ok = await asyncio.to_thread(verify_password_sync, password, encoded or self._dummy)
        return ok and encoded is not None
