"""The daemon's signing secret, generated into the data dir on first start (mode 0600)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def load_or_create_secret(path: Path) -> bytes:
    """Read the secret at `path`, creating it atomically (and never world-readable) if absent."""
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_bytes(32)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secret.hex())
        f.flush()
        os.fsync(f.fileno())
    try:
        # link() fails if another process created the file meanwhile; then theirs wins.
        os.link(tmp, path)
    except FileExistsError:
        return bytes.fromhex(path.read_text().strip())
    finally:
        tmp.unlink(missing_ok=True)
    return secret
