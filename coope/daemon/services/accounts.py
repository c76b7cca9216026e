"""Accounts: signup, login, logout, and the caller's own password and display name."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from coope.core import rules
from coope.core.errors import Forbidden, Unauthenticated
from coope.core.models import AuthKind, CredentialsEnded, Principal, Role, Session, User
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
        return (await self._create_user(username, password, display_name, role, only_if_first))[0]

    async def _create_user(
        self,
        username: str,
        password: str,
        display_name: str | None,
        role: Role,
        only_if_first: bool,
    ) -> tuple[User, str]:
        """The new user and the password hash stored for them."""
        name = rules.check_username(username)
        rules.check_password(password)
        password_hash = await self._passwords.hash(password)
        new = NewUser(
            username=name,
            display_name=(display_name or "").strip() or name,
            password_hash=password_hash,
            role=role,
            created_at=self._clock.now(),
        )
        user = await self._storage.create_user(new, only_if_first=only_if_first)
        log.info("account created", extra={"user": user.username, "role": user.role.value})
        return user, password_hash

    async def signup(self, username: str, password: str, display_name: str | None) -> NewSession:
        """Self-service signup. With signup closed only the very first account may be made."""
        user, password_hash = await self._create_user(
            username,
            password,
            display_name,
            Role.USER,
            only_if_first=self._signup is SignupPolicy.CLOSED,
        )
        token, session = await self._auth.open_session(user, password_hash)
        return NewSession(token, session, user, first_user=user.role is Role.ADMIN)

    async def login(self, username: str, password: str, client: str) -> NewSession:
        """Log in from the client address `client` (limited per account and per address)."""
        name = username.strip().lower()
        # Checked before the user is looked up: a locked name answers the same, existing or not.
        await self._limiter.check(name, client)
        user = await self._storage.get_user_by_name(name)
        stored = await self._storage.get_password_hash(user.id) if user else None
        # Always pay for one hash check, so that unknown names answer as slowly as wrong passwords.
        password_ok = await self._passwords.verify(password, stored)
        if user is None or not password_ok:
            await self._limiter.fail(name, client)
            log.info("login failed", extra={"user": name, "client": client})
            raise Unauthenticated("wrong username or password")
        await self._limiter.succeeded(name, client)
        if user.disabled:
            raise Forbidden("this account is disabled")
        # The password checked is the one stored when it was read: the session is only made if
        # it still is, and the account still live (a reset during the check wins).
        token, session = await self._auth.open_session(user, stored)
        return NewSession(token, session, user)

    async def logout(self, principal: Principal) -> None:
        """End the session that made the request. API tokens are revoked with `tokens.revoke`."""
        if principal.kind is not AuthKind.SESSION:
            raise Forbidden(f"logout ends a session; this request used a {principal.kind.value}")
        await self._storage.revoke_session(principal.credential_id)
        await self._auth.announce_revoked(principal.user.id, principal.credential_id, "logout")

    async def change_password(
        self, principal: Principal, current: str, new: str, client: str
    ) -> CredentialsEnded:
        """Change the caller's password, proven by the current one (a stolen session alone is
        not enough), from the client address `client` (wrong guesses count as failed logins).
        A wrong current password is `Forbidden`: the credential that asked is fine, and a client
        takes `Unauthenticated` to mean "log in again".

        Every other session of the caller ends; the one that asked goes on. API tokens are
        separate credentials and keep working (`tokens.revoke` ends them).
        """
        user = principal.user
        # Before the current password is checked: a weak new one costs no scrypt run, and no
        # failed guess.
        rules.check_password(new)
        await self._limiter.check(user.username, client)
        stored = await self._storage.get_password_hash(user.id)
        if stored is None:
            raise Forbidden(
                "this account signs in through the identity provider: it has no password here"
            )
        if not await self._passwords.verify(current, stored):
            await self._limiter.fail(user.username, client)
            log.info("password change refused", extra={"user": user.username, "client": client})
            raise Forbidden("the current password is wrong")
        await self._limiter.succeeded(user.username, client)
        keep = principal.credential_id if principal.kind is AuthKind.SESSION else None
        ended = await self._storage.set_password(
            user.id, await self._passwords.hash(new), keep_session=keep
        )
        log.info("password changed", extra={"user": user.username, "sessions": ended.session_ids})
        await self._auth.announce_ended(user.id, ended, "password changed")
        return ended

    async def set_password(self, user: User, new: str, *, revoke_tokens: bool) -> CredentialsEnded:
        """Give `user` a new password (an admin's reset): every session of theirs ends, and
        with `revoke_tokens` every API token too."""
        rules.check_password(new)
        ended = await self._storage.set_password(
            user.id, await self._passwords.hash(new), revoke_tokens=revoke_tokens
        )
        await self._auth.announce_ended(user.id, ended, "password reset by an admin")
        return ended

    async def set_display_name(self, user: User, display_name: str) -> User:
        """`display_name` is validated at the edge (`coope.core.schemas.DisplayName`)."""
        updated = await self._storage.set_display_name(user.id, display_name)
        await self._auth.announce_user(updated)
        return updated
