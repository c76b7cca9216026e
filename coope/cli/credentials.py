"""Saved logins under the XDG config dir (`~/.config/coope/credentials.json`, mode 0600)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from coope.core.errors import InvalidInput


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "coope"


def _path() -> Path:
    return config_dir() / "credentials.json"


def _load() -> dict[str, Any]:
    try:
        data = json.loads(_path().read_text())
    except FileNotFoundError:
        return {"servers": {}}
    except ValueError as exc:
        raise InvalidInput(f"{_path()} is not valid JSON: fix or delete it") from exc
    if not isinstance(data, dict) or not isinstance(data.get("servers"), dict):
        raise InvalidInput(f"{_path()} is not a coope credentials file: fix or delete it")
    return data


def _save(data: dict[str, Any]) -> None:
    path = _path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    # Created 0600 from the start: the token is never readable by others, not even briefly.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2)
    os.replace(tmp, path)


def default_server() -> str | None:
    server = _load().get("default_server")
    return server if isinstance(server, str) else None


def saved_login(server: str) -> dict[str, str] | None:
    entry = _load()["servers"].get(server)
    return entry if isinstance(entry, dict) else None


def save_login(server: str, username: str, token: str) -> Path:
    data = _load()
    data["servers"][server] = {"username": username, "token": token}
    data["default_server"] = server
    _save(data)
    return _path()


def forget_login(server: str) -> bool:
    data = _load()
    found = data["servers"].pop(server, None) is not None
    if found:
        _save(data)
    return found
