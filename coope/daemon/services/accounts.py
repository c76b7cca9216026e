"""Accounts: signup, login, logout, and the caller's own profile."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from coope.core import rules
from coope.core.errors import Forbidden, Unauthenticated
from coope.core.models import AuthKind, Principal, Role, Session, User
from coope.daemon.clock import Clock
from coope.daemon.config import SignupPolicy
from coope.daemon.services.auth import AuthService
from coope.daemon.services.passwords import PasswordHasher
from coope.daemon.services.ratelimit import FailureLimiter
from coope.daemon.storage import NewUser, Storage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NewSession:
    token: str
    session: Session
    user: User
    first_user: bool = False


class AccountService:
    def __init__(
        self,
        storage: Storage,
        auth: AuthService,
        clock: Clock,
        limiter: FailureLimiter,
        passwords: PasswordHasher,
        *,
        signup: SignupPolicy,
    ) -> None:
        self._storage = storage
        self._auth = auth
        self._clock = clock
        self._limiter = limiter
        self._passwords = passwords
        self._signup = signup

    async def create_user(
        self,
        username: str,
        password: str,
        display_name: str | None,
        role: Role,
        *,
        only_if_first: bool = False,
    ) -> User:
        """Validate and store a new password account (shared by signup and admin creation)."""
        name = rules.check_username(username)
        rules.check_password(password)
        new = NewUser(
            username=name,
            display_name=(display_name or "").strip() or name,
            password_hash=await self._passwords.hash(password),
            role=role,
            created_at=self._clock.now(),
        )
        user = await self._storage.create_user(new, only_if_first=only_if_first)
        log.info("account created", extra={"user": user.username, "role": user.role.value})
        return user

    async def signup(self, username: str, password: str, display_name: str | None) -> NewSession:
        """Self-service signup. With signup closed only the very first account may be made."""
        user = await self.create_user(
            username,
            password,
            display_name,
            Role.USER,
            only_if_first=self._signup is SignupPolicy.CLOSED,
        )
        token, session = await self._auth.open_session(user)
        return NewSession(token, session, user, first_user=user.role is Role.ADMIN)

    async def login(self, username: str, password: str, client: str) -> NewSession:
        """Log in from the client address `client` (limited per account and per address)."""
        name = username.strip().lower()
        # Checked before the user is looked up: a locked name answers the same, existing or not.
        self._limiter.check(name, client)
        user = await self._storage.get_user_by_name(name)
        stored = await self._storage.get_password_hash(user.id) if user else None
        # Always pay for one hash check, so that unknown names answer as slowly as wrong passwords.
        password_ok = await self._passwords.verify(password, stored)
        if user is None or not password_ok:
            self._limiter.fail(name, client)
            log.info("login failed", extra={"user": name, "client": client})
            raise Unauthenticated("wrong username or password")
        self._limiter.succeeded(name, client)
        if user.disabled:
            raise Forbidden("this account is disabled")
        token, session = await self._auth.open_session(user)
        return NewSession(token, session, user)

    async def logout(self, principal: Principal) -> None:
        """End the session that made the request. API tokens are revoked with `tokens.revoke`."""
        if principal.kind is not AuthKind.SESSION:
            raise Forbidden(f"logout ends a session; this request used a {principal.kind.value}")
        await self._storage.revoke_session(principal.credential_id)
        await self._auth.announce_revoked(principal.user.id, principal.credential_id, "logout")
