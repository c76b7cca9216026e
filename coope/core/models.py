"""Domain models: what the daemon stores and reasons about. Plain values, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """A daemon-wide role. Admins manage accounts; everyone else is a user."""

    USER = "user"
    ADMIN = "admin"


class AuthKind(StrEnum):
    """How a request proved who it is."""

    SESSION = "session"
    API_TOKEN = "api_token"
    IDP = "idp"


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    display_name: str
    role: Role
    disabled: bool
    created_at: float
    external_id: str | None = None
    email: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


@dataclass(frozen=True, slots=True)
class Session:
    """A login. Its id is the JWT's `jti`, so logging out revokes exactly this session."""

    id: str
    user_id: int
    created_at: float
    expires_at: float
    revoked: bool


@dataclass(frozen=True, slots=True)
class ApiToken:
    """A long-lived credential for bots and scripts. Only its hash is stored."""

    id: int
    user_id: int
    name: str
    prefix: str
    created_at: float
    expires_at: float | None
    last_used_at: float | None
    revoked: bool


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is making a request, and through which credential."""

    user: User
    kind: AuthKind
    credential_id: str
    expires_at: float | None

    @property
    def is_admin(self) -> bool:
        return self.user.is_admin
