"""Credentials: session JWTs, API tokens and identity-provider JWTs, turned into a `Principal`.

Every request is checked against storage, not only against a signature, so that logging out,
revoking a token or disabling a user takes effect at once.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from typing import Any

import jwt

from coope.core.errors import InternalError, Unauthenticated
from coope.core.events import AuthRevoked, AuthRevokedData, UserUpdated
from coope.core.models import ApiToken, AuthKind, CredentialsEnded, Principal, Session, User
from coope.core.schemas import UserOut
from coope.daemon.bus import EventBus, user_topic
from coope.daemon.clock import Clock
from coope.daemon.services.secrets import SESSION_SECRET
from coope.daemon.storage import Storage

log = logging.getLogger(__name__)

SESSION_ALGORITHM = "HS256"  # pinned: a token naming any other algorithm is refused
IDP_ALGORITHM = "RS256"
ISSUER = "coope"
API_TOKEN_PREFIX = "coope_"
# Writing last-used on every request would cost an fsync each; once a minute is plenty.
_TOUCH_EVERY_S = 60.0


def hash_api_token(token: str) -> str:
    # API tokens carry 256 bits of randomness, so a fast hash is enough: nobody can brute-force
    # the preimage, and lookups stay one indexed equality.
    return hashlib.sha256(token.encode()).hexdigest()


class AuthService:
    def __init__(
        self,
        storage: Storage,
        bus: EventBus,
        clock: Clock,
        *,
        session_ttl_s: float,
        idp_public_key: str | None = None,
        idp_issuer: str | None = None,
    ) -> None:
        self._storage = storage
        self._bus = bus
        self._clock = clock
        self._secret: bytes | None = None  # from storage, in `start`
        self._ttl = session_ttl_s
        self._idp_key = idp_public_key
        self._idp_issuer = idp_issuer

    async def start(self, candidate: bytes) -> None:
        """Take the service's session secret from storage (`candidate`, stored now, if there
        is none yet): before the first session is issued or checked."""
        self._secret = await self._storage.service_secret(SESSION_SECRET, candidate)

    def _key(self) -> bytes:
        if self._secret is None:
            raise InternalError("sessions are used before the auth service started")
        return self._secret

    # --- issuing ---------------------------------------------------------------------------

    async def open_session(self, user: User, password_hash: str | None) -> tuple[str, Session]:
        """A new session of `user`, whose password hash was `password_hash` when it was checked.

        Raises:
            Unauthenticated: The account changed since (its password was changed or reset, or it
                was disabled or deleted): the check no longer holds, so the login failed. Worded
                as a failed login, which it is.
        """
        now = self._clock.now()
        session = Session(
            id=uuid.uuid4().hex,
            user_id=user.id,
            created_at=now,
            expires_at=now + self._ttl,
            revoked=False,
        )
        if not await self._storage.create_session_if_current(session, password_hash):
            raise Unauthenticated("wrong username or password")
        claims = {
            "iss": ISSUER,
            "sub": str(user.id),
            "jti": session.id,
            "iat": int(now),
            "exp": int(session.expires_at),
        }
        return jwt.encode(claims, self._key(), algorithm=SESSION_ALGORITHM), session

    @staticmethod
    def new_api_token() -> tuple[str, str, str]:
        """A fresh API token: (the secret, a recognisable prefix, the hash to store)."""
        token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
        return token, token[: len(API_TOKEN_PREFIX) + 6], hash_api_token(token)

    # --- checking --------------------------------------------------------------------------

    async def authenticate(self, bearer: str | None) -> Principal:
        """Resolve a bearer credential to a live principal or raise `Unauthenticated`."""
        if not bearer:
            raise Unauthenticated("authentication required: send 'Authorization: Bearer <token>'")
        if bearer.startswith(API_TOKEN_PREFIX):
            return await self._from_api_token(bearer)
        try:
            header = jwt.get_unverified_header(bearer)
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated("invalid token") from exc
        if header.get("alg") == IDP_ALGORITHM and self._idp_key is not None:
            return await self._from_idp(bearer)
        return await self._from_session(bearer)

    async def _from_session(self, token: str) -> Principal:
        claims = self._decode(
            token, self._key(), SESSION_ALGORITHM, ["exp", "iat", "sub", "jti"], issuer=ISSUER
        )
        session = await self._storage.get_session(str(claims["jti"]))
        if session is None or session.user_id != _int(claims["sub"]):
            raise Unauthenticated("session has ended: log in again")
        # A disabled account is told so first (its sessions were ended with the disabling).
        user = await self._live_user(session.user_id)
        if session.revoked:
            raise Unauthenticated("session has ended: log in again")
        if session.expires_at <= self._clock.now():
            raise Unauthenticated("session has expired: log in again")
        return Principal(user, AuthKind.SESSION, session.id, session.expires_at)

    async def _from_idp(self, token: str) -> Principal:
        assert self._idp_key is not None
        claims = self._decode(
            token, self._idp_key, IDP_ALGORITHM, ["exp", "iat", "sub"], issuer=self._idp_issuer
        )
        user = await self._storage.get_user_by_external_id(str(claims["sub"]))
        if user is None:
            raise Unauthenticated("this identity is not known to the daemon yet")
        user = await self._live_user(user.id)
        if (
            user.credentials_ended_at is not None
            and _int(claims["iat"]) <= user.credentials_ended_at
        ):
            raise Unauthenticated(
                "this token was issued before the account was disabled: sign in again"
            )
        return Principal(user, AuthKind.IDP, f"idp:{claims['sub']}", float(claims["exp"]))

    async def _from_api_token(self, token: str) -> Principal:
        found = await self._storage.get_token_by_hash(hash_api_token(token))
        now = self._clock.now()
        if found is None:
            raise Unauthenticated("invalid or revoked API token")
        user = await self._live_user(found.user_id)
        if found.revoked:
            raise Unauthenticated("invalid or revoked API token")
        if found.expires_at is not None and found.expires_at <= now:
            raise Unauthenticated("API token has expired")
        await self._touch(found, now)
        return Principal(user, AuthKind.API_TOKEN, f"token:{found.id}", found.expires_at)

    async def _touch(self, token: ApiToken, now: float) -> None:
        if token.last_used_at is None or now - token.last_used_at >= _TOUCH_EVERY_S:
            await self._storage.touch_token(token.id, now)

    async def _live_user(self, user_id: int) -> User:
        user = await self._storage.get_user(user_id)
        if user is None or user.deleted:
            raise Unauthenticated("this account was deleted")
        if user.disabled:
            raise Unauthenticated("this account is disabled")
        return user

    @staticmethod
    def _decode(
        token: str, key: Any, algorithm: str, required: list[str], issuer: str | None = None
    ) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                issuer=issuer,
                options={"require": required},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("token has expired: log in again") from exc
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated(f"invalid token: {exc}") from exc
        return claims

    # --- revoking --------------------------------------------------------------------------

    async def announce_revoked(self, user_id: int, credential_id: str | None, reason: str) -> None:
        """Tell the user's live connections that a credential (or, with None, every credential)
        stopped working, so they are closed now rather than at their next request."""
        event = AuthRevoked(data=AuthRevokedData(credential_id=credential_id, reason=reason))
        await self._bus.publish([user_topic(user_id)], event)

    async def announce_ended(self, user_id: int, ended: CredentialsEnded, reason: str) -> None:
        """`announce_revoked` for each session and API token in `ended`."""
        for session_id in ended.session_ids:
            await self.announce_revoked(user_id, session_id, reason)
        for token_id in ended.token_ids:
            await self.announce_revoked(user_id, f"token:{token_id}", reason)

    async def announce_user(self, user: User) -> None:
        """Tell the user's live connections that their account changed (`user.updated`)."""
        await self._bus.publish([user_topic(user.id)], UserUpdated(data=UserOut.of(user)))


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise Unauthenticated("invalid token subject") from exc
