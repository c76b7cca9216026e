"""Password hashing with scrypt from the standard library, off the event loop."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets

# ~16 MiB of memory and a few tens of milliseconds per hash: costly to brute-force, cheap to log in.
_N, _R, _P, _DKLEN = 2**14, 8, 1, 32


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, dklen=dklen, maxmem=256 * 1024 * 1024
    )


def hash_password_sync(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, _N, _R, _P, _DKLEN)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


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


# Verifying against this when the user does not exist keeps "no such user" and "wrong password"
# equally slow, so response times do not reveal which usernames exist.
_DUMMY_HASH = hash_password_sync(secrets.token_urlsafe(16))


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(hash_password_sync, password)


async def verify_password(password: str, encoded: str | None) -> bool:
    ok = await asyncio.to_thread(verify_password_sync, password, encoded or _DUMMY_HASH)
    return ok and encoded is not None
