"""Looking users up by name, the way every social operation starts."""

from __future__ import annotations

from coope.core.errors import InvalidInput, NotFound
from coope.core.models import Principal, User
from coope.daemon.storage import Storage


async def find_user(storage: Storage, username: str) -> User:
    """The active user called `username` (a leading '@' is allowed), or `NotFound`."""
    name = username.strip().removeprefix("@").lower()
    user = await storage.get_user_by_name(name) if name else None
    if user is None or user.disabled:
        raise NotFound(f"no user named {name!r}")
    return user


async def find_other_user(storage: Storage, principal: Principal, username: str) -> User:
    user = await find_user(storage, username)
    if user.id == principal.user.id:
        raise InvalidInput("that is you")
    return user
