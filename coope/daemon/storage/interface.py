"""What services may ask of storage. Services depend on these classes only, never on SQL, so a
PostgreSQL backend can be added by implementing them again."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from coope.core.models import ApiToken, Role, Session, User


@dataclass(frozen=True)
class NewUser:
    username: str
    display_name: str
    password_hash: str | None
    role: Role
    created_at: float
    external_id: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class ExternalProfile:
    """A user as the external identity provider describes it."""

    external_id: str
    username_hint: str
    display_name: str
    email: str | None


class AccountStore(ABC):
    # --- users -----------------------------------------------------------------------------

    @abstractmethod
    async def create_user(self, new: NewUser, *, only_if_first: bool = False) -> User:
        """Create a user. The first account of a daemon is always made admin, whatever `new.role`
        says. Raises `Conflict` if the username is taken, and `SignupClosed` if `only_if_first`
        and accounts already exist. Both checks happen in the same transaction as the insert."""

    @abstractmethod
    async def get_user(self, user_id: int) -> User | None: ...

    @abstractmethod
    async def get_user_by_name(self, username: str) -> User | None: ...

    @abstractmethod
    async def get_user_by_external_id(self, external_id: str) -> User | None: ...

    @abstractmethod
    async def get_password_hash(self, user_id: int) -> str | None: ...

    @abstractmethod
    async def list_users(
        self, search: str | None, limit: int, offset: int
    ) -> tuple[list[User], int]:
        """Users whose username, display name or email contains `search`, and the total count."""

    @abstractmethod
    async def set_role(self, user_id: int, role: Role) -> User:
        """Raises `Conflict` when this would leave the daemon without an active admin."""

    @abstractmethod
    async def set_disabled(self, user_id: int, disabled: bool) -> User:
        """Raises `Conflict` when this would leave the daemon without an active admin."""

    @abstractmethod
    async def upsert_external_user(
        self, profile: ExternalProfile, *, delivery_id: str, now: float
    ) -> User:
        """Create or update the user linked to `profile.external_id`, recording `delivery_id` in
        the same transaction. Raises `Conflict` if that delivery was already applied."""

    @abstractmethod
    async def disable_external_user(
        self, external_id: str, *, delivery_id: str, now: float
    ) -> User | None:
        """Disable (never delete) the user linked to `external_id`, recording `delivery_id`."""

    # --- sessions --------------------------------------------------------------------------

    @abstractmethod
    async def create_session(self, session: Session) -> None: ...

    @abstractmethod
    async def get_session(self, session_id: str) -> Session | None: ...

    @abstractmethod
    async def revoke_session(self, session_id: str) -> None: ...

    # --- API tokens ------------------------------------------------------------------------

    @abstractmethod
    async def create_token(
        self,
        user_id: int,
        name: str,
        prefix: str,
        secret_hash: str,
        created_at: float,
        expires_at: float | None,
    ) -> ApiToken: ...

    @abstractmethod
    async def get_token_by_hash(self, secret_hash: str) -> ApiToken | None: ...

    @abstractmethod
    async def list_tokens(self, user_id: int) -> list[ApiToken]:
        """The user's tokens that are not revoked (expired ones included, marked by expiry)."""

    @abstractmethod
    async def revoke_token(self, user_id: int, token_id: int) -> bool:
        """Revoke one of the user's tokens; False if the user has no such live token."""

    @abstractmethod
    async def touch_token(self, token_id: int, used_at: float) -> None: ...


class Storage(AccountStore):
    """Everything the daemon stores, behind one lifecycle."""

    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def aclose(self) -> None:
        """Commit every acknowledged write and release the backend."""
