"""What services may ask of storage. Services depend on these classes only, never on SQL, so a
PostgreSQL backend can be added by implementing them again."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import StrEnum

from coope.core.models import (
    ApiToken,
    Message,
    Role,
    Room,
    RoomMember,
    RoomSummary,
    Session,
    User,
    UserStatus,
)


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


class FriendRequestOutcome(StrEnum):
    REQUESTED = "requested"
    ALREADY_REQUESTED = "already_requested"
    FRIENDS = "friends"  # the other side had asked already: the requests crossed
    ALREADY_FRIENDS = "already_friends"


class SocialStore(ABC):
    """Friendships, friend requests, blocks and presence preferences."""

    @abstractmethod
    async def request_friend(
        self, from_id: int, to_id: int, now: float
    ) -> FriendRequestOutcome: ...

    @abstractmethod
    async def friend_requests(
        self, user_id: int
    ) -> tuple[list[tuple[User, float]], list[tuple[User, float]]]:
        """(incoming, outgoing) pending requests with when they were made."""

    @abstractmethod
    async def accept_friend(self, user_id: int, from_id: int, now: float) -> bool:
        """Turn `from_id`'s request to `user_id` into a friendship; False if there was none."""

    @abstractmethod
    async def delete_friend_request(self, from_id: int, to_id: int) -> bool: ...

    @abstractmethod
    async def remove_friend(self, user_id: int, friend_id: int) -> bool: ...

    @abstractmethod
    async def friends(self, user_id: int) -> list[User]: ...

    @abstractmethod
    async def friend_ids(self, user_id: int) -> list[int]: ...

    @abstractmethod
    async def are_friends(self, a: int, b: int) -> bool: ...

    @abstractmethod
    async def block(self, blocker_id: int, blocked_id: int, now: float) -> None:
        """Block, ending any friendship and pending requests between the two."""

    @abstractmethod
    async def unblock(self, blocker_id: int, blocked_id: int) -> bool: ...

    @abstractmethod
    async def blocked_users(self, blocker_id: int) -> list[User]: ...

    @abstractmethod
    async def is_blocked_between(self, a: int, b: int) -> bool:
        """True if either user blocked the other."""

    @abstractmethod
    async def get_statuses(self, user_ids: list[int]) -> dict[int, UserStatus]: ...

    @abstractmethod
    async def set_status(self, user_id: int, away: bool, text: str) -> UserStatus: ...

    @abstractmethod
    async def set_last_seen(self, user_id: int, when: float) -> None: ...


class ChatStore(ABC):
    """Rooms, members, messages, reactions, read markers and search. Permission checks are the
    services'; these methods only keep the data consistent (sequence numbers, idempotent sends)."""

    @abstractmethod
    async def find_dm(self, a: int, b: int) -> Room | None: ...

    @abstractmethod
    async def post_direct(
        self,
        author_id: int,
        other_id: int,
        client_id: str,
        body: str,
        reply_to: int | None,
        now: float,
    ) -> tuple[Room, bool, Message, bool]:
        """Post into the pair's direct room, creating the room in the same transaction if need
        be (so a refused first message leaves no empty room). Returns (room, room created,
        message, message stored now) as `post_message` does."""

    @abstractmethod
    async def create_group(
        self, creator_id: int, name: str, member_ids: list[int], now: float
    ) -> Room: ...

    @abstractmethod
    async def get_room(self, room_id: int) -> Room | None: ...

    @abstractmethod
    async def room_members(self, room_id: int) -> list[RoomMember]: ...

    @abstractmethod
    async def rooms_of(self, user_id: int) -> list[RoomSummary]:
        """The user's rooms, most recently active first, with unread counts."""

    @abstractmethod
    async def add_member(self, room_id: int, user_id: int, now: float) -> bool:
        """False if already a member."""

    @abstractmethod
    async def remove_member(self, room_id: int, user_id: int) -> bool:
        """Remove a member. If the last admin leaves, the longest-standing member becomes admin."""

    @abstractmethod
    async def rename_room(self, room_id: int, name: str) -> Room: ...

    @abstractmethod
    async def post_message(
        self,
        room_id: int,
        author_id: int,
        client_id: str,
        body: str,
        reply_to: int | None,
        now: float,
    ) -> tuple[Message, bool]:
        """Store a message with the room's next sequence number, or, if this author already sent
        `client_id`, return that message unchanged. The bool says whether it was stored now."""

    @abstractmethod
    async def get_message(self, message_id: int) -> Message | None: ...

    @abstractmethod
    async def edit_message(self, message_id: int, body: str, now: float) -> Message: ...

    @abstractmethod
    async def delete_message(self, message_id: int, now: float) -> Message:
        """Replace the message with a tombstone: the body and reactions go, the place stays."""

    @abstractmethod
    async def set_reaction(
        self, message_id: int, user_id: int, emoji: str, on: bool, now: float
    ) -> Message: ...

    @abstractmethod
    async def messages(
        self, room_id: int, *, before: int | None, after: int | None, limit: int
    ) -> list[Message]:
        """Messages by position (`seq`), oldest first."""

    @abstractmethod
    async def changes(self, room_id: int, after_rev: int, limit: int) -> list[Message]:
        """Messages created or changed after room sequence number `after_rev`, in that order."""

    @abstractmethod
    async def mark_read(self, room_id: int, user_id: int, seq: int) -> int:
        """Move the read marker forward (never back); return where it now stands."""

    @abstractmethod
    async def search_messages(
        self, user_id: int, query: str, room_id: int | None, limit: int
    ) -> list[Message]:
        """Full-text search over live messages of the rooms the user is a member of."""


class Storage(AccountStore, SocialStore, ChatStore):
    """Everything the daemon stores, behind one lifecycle."""

    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def aclose(self) -> None:
        """Commit every acknowledged write and release the backend."""
