"""Administration: admins list and search accounts, create them, change roles, disable them,
reset passwords, set display names, delete accounts and manage any account's API tokens.

Every change an admin makes to someone's account is logged with who made it (`admin action`).
"""

from __future__ import annotations

import logging

from coope.core.errors import Forbidden, InvalidInput
from coope.core.events import FriendData, FriendRemoved
from coope.core.models import AccountDeleted, ApiToken, CredentialsEnded, Principal, Role, User
from coope.core.social_schemas import UserRef
from coope.daemon.bus import EventBus, user_topics
from coope.daemon.clock import Clock
from coope.daemon.services.accounts import AccountService
from coope.daemon.services.auth import AuthService
from coope.daemon.services.presence import PresenceService
from coope.daemon.services.tokens import TokenService
from coope.daemon.services.users import find_account
from coope.daemon.storage import Storage

log = logging.getLogger(__name__)


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("this needs the admin role")


class AdminService:
    def __init__(
        self,
        storage: Storage,
        accounts: AccountService,
        tokens: TokenService,
        auth: AuthService,
        presence: PresenceService,
        bus: EventBus,
        clock: Clock,
    ) -> None:
        self._clock = clock
        self._presence = presence
        self._storage = storage
        self._accounts = accounts
        self._tokens = tokens
        self._auth = auth
        self._bus = bus

    async def list_users(
        self, principal: Principal, search: str | None, limit: int, offset: int
    ) -> tuple[list[User], int]:
        require_admin(principal)
        return await self._storage.list_users(search, limit, offset)

    async def create_user(
        self,
        principal: Principal,
        username: str,
        password: str,
        display_name: str | None,
        role: Role,
    ) -> User:
        require_admin(principal)
        return await self._accounts.create_user(username, password, display_name, role)

    async def set_role(self, principal: Principal, username: str, role: Role) -> User:
        require_admin(principal)
        user = await self._storage.set_role((await self._find(username)).id, role)
        await self._auth.announce_user(user)
        return user

    async def set_disabled(self, principal: Principal, username: str, disabled: bool) -> User:
        require_admin(principal)
        user = await self._storage.set_disabled(
            (await self._find(username)).id, disabled, self._clock.now()
        )
        await self._auth.announce_user(user)
        if disabled:
            await self._auth.announce_revoked(user.id, None, "account disabled")
        return user

    # --- passwords, names, deletion ---------------------------------------------------------

    async def reset_password(
        self, principal: Principal, username: str, password: str, *, revoke_tokens: bool
    ) -> tuple[User, CredentialsEnded]:
        """Set someone's password: all their sessions end, and with `revoke_tokens` their API
        tokens too. Your own is changed with the current one (`accounts.change_password`)."""
        require_admin(principal)
        user = await self._find(username)
        if user.id == principal.user.id:
            raise InvalidInput(
                "that is you: change your own password with the current one"
                " (`coope account password`)"
            )
        ended = await self._accounts.set_password(user, password, revoke_tokens=revoke_tokens)
        self._audit(principal, "password_reset", user, sessions=len(ended.session_ids))
        return user, ended

    async def set_display_name(self, principal: Principal, username: str, name: str) -> User:
        require_admin(principal)
        user = await self._accounts.set_display_name(await self._find(username), name)
        self._audit(principal, "display_name_set", user)
        return user

    async def delete_user(self, principal: Principal, username: str) -> AccountDeleted:
        """Make the account a tombstone (see `Storage.delete_user`), then close its open
        connections and tell its former friends."""
        require_admin(principal)
        deleted = await self._storage.delete_user(
            (await self._find(username)).id, self._clock.now()
        )
        self._audit(principal, "deleted", deleted.former)
        await self._auth.announce_revoked(deleted.user.id, None, "account deleted")
        self._presence.forget(deleted.user.id)
        # Named as they were: that is the name the friends' lists hold.
        gone = FriendRemoved(data=FriendData(user=UserRef.of(deleted.former)))
        await self._bus.publish(user_topics(deleted.friend_ids), gone)
        return deleted

    # --- API tokens of any account (a bot's, made with `create_user`) -----------------------

    async def create_token(
        self, principal: Principal, username: str, name: str, expires_in_days: int | None
    ) -> tuple[str, ApiToken]:
        """Raises `Conflict` if the account is disabled (storage checks it in the insert, so
        that a disabling committed meanwhile leaves no token)."""
        require_admin(principal)
        user = await self._find(username)
        secret, token = await self._tokens.create_for(user, name, expires_in_days)
        self._audit(principal, "token_created", user, token=token.id)
        return secret, token

    async def list_tokens(self, principal: Principal, username: str) -> list[ApiToken]:
        require_admin(principal)
        return await self._storage.list_tokens((await self._find(username)).id)

    async def revoke_token(self, principal: Principal, username: str, token_id: int) -> None:
        require_admin(principal)
        user = await self._find(username)
        await self._tokens.revoke_for(user, token_id)
        self._audit(principal, "token_revoked", user, token=token_id)

    async def _find(self, username: str) -> User:
        return await find_account(self._storage, username)

    @staticmethod
    def _audit(principal: Principal, action: str, user: User, **more: object) -> None:
        log.info(
            "admin action",
            extra={"action": action, "by": principal.user.username, "user": user.username, **more},
        )
