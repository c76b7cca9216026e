"""API tokens for bots and scripts: created, listed and revoked by their owner (or, for any
account, by an admin: `AdminService`)."""

from __future__ import annotations

from coope.core.errors import NotFound
from coope.core.models import ApiToken, Principal, User
from coope.daemon.clock import Clock
from coope.daemon.services.auth import AuthService
from coope.daemon.storage import Storage

_DAY = 24 * 3600


class TokenService:
    def __init__(self, storage: Storage, auth: AuthService, clock: Clock) -> None:
        self._storage = storage
        self._auth = auth
        self._clock = clock

    async def create(
        self, principal: Principal, name: str, expires_in_days: int | None
    ) -> tuple[str, ApiToken]:
        """Returns the secret (shown to the caller once, never stored) and its record."""
        return await self.create_for(principal.user, name, expires_in_days)

    async def create_for(
        self, user: User, name: str, expires_in_days: int | None
    ) -> tuple[str, ApiToken]:
        """A token of `user`'s, whoever asks: callers check that they may. Raises `Conflict`
        if the account is disabled, `NotFound` if it is deleted, even if that happened after
        `user` was read."""
        secret, prefix, secret_hash = self._auth.new_api_token()
        now = self._clock.now()
        expires_at = now + expires_in_days * _DAY if expires_in_days else None
        token = await self._storage.create_token(
            user.id, name.strip(), prefix, secret_hash, now, expires_at
        )
        return secret, token

    async def list(self, principal: Principal) -> list[ApiToken]:
        return await self._storage.list_tokens(principal.user.id)

    async def revoke(self, principal: Principal, token_id: int) -> None:
        await self.revoke_for(principal.user, token_id, owner="you have")

    async def revoke_for(self, user: User, token_id: int, *, owner: str | None = None) -> None:
        """Revoke `user`'s token `token_id`; `owner` words the refusal ("you have")."""
        if not await self._storage.revoke_token(user.id, token_id):
            who = owner or f"{user.username} has"
            raise NotFound(f"{who} no live API token with id {token_id}")
        await self._auth.announce_revoked(user.id, f"token:{token_id}", "token revoked")
