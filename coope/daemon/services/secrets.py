"""The session signing secret: kept in the database (`Storage.service_secret`), so that every
daemon serving from one database signs with the same one. Older daemons kept it in a file in the
data dir; its secret becomes the stored one, so their sessions stay valid."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

log = logging.getLogger(__name__)

SESSION_SECRET = "session"
LEGACY_FILE = "jwt-secret"


def session_secret_candidate(data_dir: Path) -> bytes:
    """What to store as the session secret if the database has none yet: the data dir's old
    secret file's, or a new random one. A file that cannot be read as 32 bytes of hex is passed
    over with a warning (it cannot have signed anything that still works)."""
    path = data_dir / LEGACY_FILE
    try:
        older = bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        return secrets.token_bytes(32)
    except (OSError, ValueError) as exc:
        log.warning(
            "ignoring an unreadable old secret file", extra={"path": str(path)}, exc_info=exc
        )
        return secrets.token_bytes(32)
    if len(older) != 32:
        log.warning("ignoring an old secret file of the wrong size", extra={"path": str(path)})
        return secrets.token_bytes(32)
    return older
