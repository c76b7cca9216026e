"""The session signing secret: kept in the database (`Storage.service_secret`), so that every
daemon serving from one database signs with the same one. Older daemons kept it in a file in the
data dir; its secret becomes the stored one, so their sessions stay valid."""

from __future__ import annotations

import secrets
from pathlib import Path

SESSION_SECRET = "session"
LEGACY_FILE = "jwt-secret"


def session_secret_candidate(data_dir: Path) -> bytes:
    """What to store as the session secret if the database has none yet: the data dir's old
    secret file's, or a new random one."""
    try:
        return bytes.fromhex((data_dir / LEGACY_FILE).read_text().strip())
    except FileNotFoundError:
        return secrets.token_bytes(32)
