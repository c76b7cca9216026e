"""Daemon configuration: one value object built from flags and environment variables."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


class SignupPolicy(StrEnum):
    OPEN = "open"  # anyone may create an account
    CLOSED = "closed"  # only admins create accounts (the very first account is always allowed)


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "coope"


@dataclass(frozen=True)
class DaemonConfig:
    data_dir: Path = field(default_factory=default_data_dir)
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    tls_cert: Path | None = None
    tls_key: Path | None = None
    signup: SignupPolicy = SignupPolicy.OPEN
    session_ttl_s: float = 30 * 24 * 3600
    scrypt_log2_n: int = 14  # password hashing cost (each stored hash keeps its own)
    # Failed logins allowed per account within the window, whatever address they come from...
    login_max_failures: int = 5
    # ...and per client address across all accounts: much higher, since many people may share
    # one address (a NAT, a proxy) and their mistakes add up.
    login_address_max_failures: int = 50
    login_window_s: float = 300.0
    # Reverse proxies whose X-Forwarded-For is believed (see `http/client_address.py`); a
    # client's own X-Forwarded-For is never believed.
    trusted_proxies: tuple[IPNetwork, ...] = ()
    max_body_bytes: int = 1024 * 1024
    clerk_webhook_secret: str | None = None
    idp_public_key: str | None = None  # PEM text of the identity provider's RS256 key
    idp_issuer: str | None = None  # when set, IdP tokens must carry exactly this `iss`
    max_doc_update_bytes: int = 1024 * 1024  # one Yjs update, over REST or the sync socket
    doc_compact_every: int = 500  # logged updates per page before they become a snapshot
    doc_idle_unload_s: float = 60.0  # a page with no sync peer for this long leaves memory
    # A silent client is closed within ~1.5 heartbeats: a call participant who vanished is
    # removed within 10 s.
    ws_heartbeat_s: float = 5.0
    ice_hosts: tuple[str, ...] = ()  # addresses to gather ICE host candidates on (all if empty)
    ice_ports: tuple[int, int] | None = None  # UDP ports for call media (any if None)
    ice_servers: tuple[str, ...] = ()  # stun:/turn: URLs handed to the SFU and to clients
    turn_username: str | None = None
    turn_password: str | None = None
    ws_auth_timeout_s: float = 10.0
    # Several daemons serving as one: a shared PostgreSQL database instead of the SQLite file in
    # the data dir, and Redis to carry events between them instead of the in-process bus.
    database_url: str | None = None
    redis_url: str | None = None
    # What this service's channels in Redis begin with, to keep apart services sharing one.
    redis_prefix: str = "coope:"
    # With Redis: a socket of a daemon that died (or lost Redis) counts as gone after this long.
    presence_ttl_s: float = 10.0
    # A daemon that stops keeping its calls' leases (it died) frees them after this long.
    call_lease_s: float = 3.0

    @classmethod
    def from_env(cls, **overrides: object) -> DaemonConfig:
        """Read the settings that come from the environment, then apply explicit overrides."""
        env: dict[str, object] = {}
        if secret := os.environ.get("COOPE_CLERK_WEBHOOK_SECRET"):
            env["clerk_webhook_secret"] = secret
        if key := os.environ.get("COOPE_IDP_PUBLIC_KEY"):
            env["idp_public_key"] = _pem_or_file(key)
        if turn_user := os.environ.get("COOPE_TURN_USERNAME"):
            env["turn_username"] = turn_user
        if turn_password := os.environ.get("COOPE_TURN_PASSWORD"):
            env["turn_password"] = turn_password
        if issuer := os.environ.get("COOPE_IDP_ISSUER"):
            env["idp_issuer"] = issuer
        if database := os.environ.get("COOPE_DATABASE_URL"):
            env["database_url"] = database
        if redis := os.environ.get("COOPE_REDIS_URL"):
            env["redis_url"] = redis
        if prefix := os.environ.get("COOPE_REDIS_PREFIX"):
            env["redis_prefix"] = prefix
        env.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**env)  # type: ignore[arg-type]

    @property
    def db_path(self) -> Path:
        return self.data_dir / "coope.db"


def parse_networks(values: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Addresses or CIDR ranges ("10.0.0.1", "10.0.0.0/8", "::1"); `ValueError` names a bad one."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{value!r} is not an IP address or CIDR range") from None
    return tuple(networks)


def _pem_or_file(value: str) -> str:
    """Accept the PEM text itself or the path of a file holding it."""
    if "-----BEGIN" in value:
        return value
    return Path(value).expanduser().read_text()
