"""Saved logins: which daemon to talk to and with which token, shared by every front end.

One file, `$XDG_CONFIG_HOME/coope/credentials.json` (else `~/.config/coope/`), mode 0600 in a
0700 directory, written atomically. It holds two kinds of login, like `gh auth` holds hosts:

- the login of a server, keyed by its URL: what `coope login USER --server URL` saves and what a
  command for that server uses by default;
- named profiles (`coope login bot --profile standup`): any number, on any servers, even two
  accounts on one server; picked with `--profile NAME` or `COOPE_PROFILE`.

The last login made is the default for commands that name neither a server nor a profile
(`coope login` says so when that moves the default to another server or account);
`coope profile use NAME|URL` makes another one the default.

    {"servers": {"http://127.0.0.1:8765": {"username": "ada", "token": "..."}},
     "profiles": {"standup": {"server": "...", "username": "bot", "token": "..."}},
     "default_server": "http://127.0.0.1:8765"}      (or "default_profile": "standup")

The file is a plain JSON document rather than a small database: it is rewritten whole on each
change (a few hundred bytes), which is what makes the write atomic and the mode exact.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from coope.core.errors import InvalidInput, NotFound, Unauthenticated

if TYPE_CHECKING:
    from coope.client.client import CoopeClient

PROFILE_ENV = "COOPE_PROFILE"
# Where a front end connects when nothing else is said: the embedded daemon's own address.
DEFAULT_SERVER = "http://127.0.0.1:8765"


@dataclass(frozen=True)
class Login:
    """A saved login. `profile` is its name, or None for a server's own login."""

    server: str
    username: str
    token: str
    profile: str | None = None


@dataclass(frozen=True)
class Target:
    """Where a front end connects and with what: the outcome of `Profiles.target`."""

    server: str
    token: str | None
    login: Login | None  # the saved login the token came from, if it came from one


def not_logged_in(server: str) -> Unauthenticated:
    return Unauthenticated(f"not logged in to {server}: run `coope login USER` or pass --token")


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "coope"


def normalized(server: str) -> str:
    return server.strip().rstrip("/")


def checked_server(server: str) -> str:
    """A daemon URL a person gave, normalized, or `InvalidInput` saying what is wrong with it
    (before anything tries to connect to `notaurl`)."""
    from urllib.parse import urlsplit

    url = normalized(server)
    try:
        parts = urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        _ = parts.port  # a port that is not a number raises here
    except ValueError:
        ok = False
    if not ok:
        raise InvalidInput(
            f"{server!r} is not a daemon URL: give one like http://127.0.0.1:8765 or"
            " https://coope.example.org"
        )
    return url


def is_server(name: str) -> bool:
    """Whether a name given for a saved login is a server's URL (profile names have no ':')."""
    return "://" in name


class Profiles:
    """The saved logins of this user (or of the file at `path`, for tests and bots)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or config_dir() / "credentials.json"

    # --- reading ------------------------------------------------------------------------------

    def logins(self) -> list[Login]:
        """Every saved login: servers' own first, then profiles by name."""
        data = self._load()
        own = [_login(entry, server, None) for server, entry in sorted(data["servers"].items())]
        named = [_named(entry, name) for name, entry in sorted(data["profiles"].items())]
        return [login for login in own + named if login is not None]

    def default(self) -> Login | None:
        """The login used when a command names neither server nor profile."""
        data = self._load()
        name = data.get("default_profile")
        if isinstance(name, str):
            named = _named(data["profiles"].get(name), name)
            if named is not None:
                return named
            # A default profile edited away by hand: the last server login stands instead.
        server = data.get("default_server")
        return self.of_server(server) if isinstance(server, str) else None

    def default_server(self) -> str | None:
        login = self.default()
        if login is not None:
            return login.server
        server = self._load().get("default_server")
        return server if isinstance(server, str) else None

    def of_server(self, server: str) -> Login | None:
        server = normalized(server)
        return _login(self._load()["servers"].get(server), server, None)

    def _profile_on(self, server: str) -> Login | None:
        """For a server with no login of its own: the default profile if it is on that
        server, else the one profile there (with several, which one is the person's to say)."""
        default = self.default()
        if default is not None and default.server == server:
            return default
        there = [x for x in self.logins() if x.profile is not None and x.server == server]
        return there[0] if len(there) == 1 else None

    def for_server(self, server: str) -> Login | None:
        """The login `--server URL` uses: the server's own, else the default or only profile on
        that server."""
        url = normalized(server)
        return self.of_server(url) or self._profile_on(url)

    def named(self, name: str) -> Login:
        """A profile by its name, or a server's own login by the server's URL."""
        if not is_server(name):
            return self.profile(name)
        login = self.of_server(name)
        if login is None:
            raise NotFound(
                f"no login saved for {normalized(name)}: `coope profile list` shows them"
            )
        return login

    def holding(self, server: str, token: str | None) -> Login | None:
        """The saved login (a server's own or a profile) that holds this token, if one does."""
        found = (x for x in self.logins() if x.server == normalized(server) and x.token == token)
        return next(found, None)

    def profile(self, name: str) -> Login:
        login = _named(self._load()["profiles"].get(name), name)
        if login is None:
            raise NotFound(
                f"no profile named {name!r}: save one with `coope login USER --profile {name}`"
            )
        return login

    def target(
        self,
        server: str | None = None,
        token: str | None = None,
        profile: str | None = None,
        *,
        need_login: bool = True,
    ) -> Target:
        """Where to connect and with which token, from what a person named (each may be None).

        A profile names its server and token; `server` and `token` given as well win over its
        own (a token for another server is never sent). Without a profile: the named server's
        login (its own, else the default or only profile on it), else the default login, else
        the embedded daemon's address.
        """
        login: Login | None
        if server:
            server = checked_server(server)
        if server and token is not None and not profile:
            return Target(server, token, None)  # nothing saved plays a part
        if profile:
            login = self.profile(profile)
            url = server or login.server
        elif server:
            url = server
            login = self.for_server(url)
        else:
            login = self.default()
            url = login.server if login is not None else self.default_server() or DEFAULT_SERVER
        if login is not None and (login.server != url or token not in (None, login.token)):
            login = None  # another server, or an explicit token: the saved login plays no part
        if token is None and login is not None:
            token = login.token
        if token is None and need_login:
            raise not_logged_in(url)
        return Target(url, token, login)

    def client(
        self,
        server: str | None = None,
        token: str | None = None,
        profile: str | None = None,
        *,
        need_login: bool = True,
    ) -> CoopeClient:
        """A client for what `target` picks (not yet connected: use `async with`)."""
        from coope.client.client import CoopeClient

        chosen = self.target(server, token, profile, need_login=need_login)
        return CoopeClient(chosen.server, chosen.token)

    # --- writing ------------------------------------------------------------------------------

    def save(self, login: Login) -> Path:
        """Keep `login` (replacing the one of the same server or profile name) and make it the
        default. Returns the file's path."""
        if login.profile is not None:
            check_profile_name(login.profile)
        data = self._load()
        entry = {"username": login.username, "token": login.token}
        if login.profile is None:
            data["servers"][login.server] = entry
            data["default_server"] = login.server
            data.pop("default_profile", None)
        else:
            data["profiles"][login.profile] = {"server": login.server, **entry}
            data["default_profile"] = login.profile
        self._save(data)
        return self.path

    def forget(self, server: str | None = None, profile: str | None = None) -> bool:
        """Drop a profile, or a server's own login; False when there was none."""
        data = self._load()
        if profile:
            found = data["profiles"].pop(profile, None) is not None
            if data.get("default_profile") == profile:
                data.pop("default_profile")
        else:
            found = data["servers"].pop(normalized(server or ""), None) is not None
        if found:
            self._save(data)
        return found

    def use(self, name: str) -> Login:
        """Make a saved profile (by its name) or a server's own login (by its URL) the default."""
        login = self.named(name)
        data = self._load()
        if login.profile is None:
            data["default_server"] = login.server
            data.pop("default_profile", None)
        else:
            data["default_profile"] = login.profile
        self._save(data)
        return login

    # --- the file -----------------------------------------------------------------------------

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {"servers": {}, "profiles": {}}
        except ValueError as exc:
            raise InvalidInput(f"{self.path} is not valid JSON: fix or delete it") from exc
        if not isinstance(data, dict) or not isinstance(data.get("servers"), dict):
            raise InvalidInput(f"{self.path} is not a coope credentials file: fix or delete it")
        if not isinstance(data.setdefault("profiles", {}), dict):
            raise InvalidInput(f"{self.path} has a broken 'profiles' entry: fix or delete it")
        return data

    def _save(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # A temp file of its own (two saves at once do not mix), created 0600 from the start:
        # a token is never readable by others, not even briefly. Renamed over the file whole.
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".credentials-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(data, f, indent=2)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


def _login(entry: Any, server: str, profile: str | None) -> Login | None:
    if not isinstance(entry, dict):
        return None
    username, token = entry.get("username"), entry.get("token")
    if not (isinstance(username, str) and isinstance(token, str) and server):
        return None
    return Login(server, username, token, profile)


def _named(entry: Any, name: str) -> Login | None:
    server = entry.get("server") if isinstance(entry, dict) else None
    return _login(entry, normalized(server), name) if isinstance(server, str) else None


def check_profile_name(name: str) -> None:
    """Refuse a name that cannot be a profile's (before anything is done in its name)."""
    if not 1 <= len(name) <= 64 or not all(c.isalnum() or c in "-_." for c in name):
        raise InvalidInput("a profile name is 1 to 64 letters, digits, '-', '_' or '.'")
