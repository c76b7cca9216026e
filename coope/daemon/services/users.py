"""Looking users up by name, the way every social and admin operation starts."""

from __future__ import annotations

from coope.core.errors import InvalidInput, NotFound
from coope.core.models import Principal, User
from coope.daemon.storage import Storage


async def find_account(storage: Storage, username: str) -> User:
    """The account called `username` (a leading '@' is allowed), disabled or not, or
    `NotFound`. A deleted account is called nothing any more: its old name is free."""
    name = username.strip().removeprefix("@").lower()
    user = await storage.get_user_by_name(name) if name else None
    if user is None or user.deleted:
        raise NotFound(f"no user named {name!r}")
    return user


async def find_user(storage: Storage, username: str) -> User:
    """The active user called `username` (a leading '@' is allowed), or `NotFound`."""
    user = await find_account(storage, username)
    if user.disabled:
        raise NotFound(f"no user named {user.username!r}")
    return user


async def find_other_user(storage: Storage, principal: Principal, username: str) -> User:
    user = await find_user(storage, username)
    if user.id == principal.user.id:
        raise InvalidInput("that is you")
    return user
