"""Administration: admins list and search accounts, create them, change roles, disable them."""

from __future__ import annotations

from coope.core.errors import Forbidden, NotFound
from coope.core.events import UserUpdated
from coope.core.models import Principal, Role, User
from coope.core.schemas import UserOut
from coope.daemon.bus import EventBus, user_topic
from coope.daemon.clock import Clock
from coope.daemon.services.accounts import AccountService
from coope.daemon.services.auth import AuthService
from coope.daemon.storage import Storage


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("this needs the admin role")


class AdminService:
    def __init__(
        self,
        storage: Storage,
        accounts: AccountService,
        auth: AuthService,
        bus: EventBus,
        clock: Clock,
    ) -> None:
        self._clock = clock
        self._storage = storage
        self._accounts = accounts
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
        await self._announce(user)
        return user

    async def set_disabled(self, principal: Principal, username: str, disabled: bool) -> User:
        require_admin(principal)
        user = await self._storage.set_disabled(
            (await self._find(username)).id, disabled, self._clock.now()
        )
        await self._announce(user)
        if disabled:
            await self._auth.announce_revoked(user.id, None, "account disabled")
        return user

    async def _find(self, username: str) -> User:
        user = await self._storage.get_user_by_name(username.strip().lower())
        if user is None:
            raise NotFound(f"no user named {username!r}")
        return user

    async def _announce(self, user: User) -> None:
        event = UserUpdated(data=UserOut.of(user))
        await self._bus.publish(user_topic(user.id), event)
