"""Domain models: what the daemon stores and reasons about. Plain values, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """A daemon-wide role. Admins manage accounts; everyone else is a user."""

    USER = "user"
    ADMIN = "admin"


class AuthKind(StrEnum):
    """How a request proved who it is."""

    SESSION = "session"
    API_TOKEN = "api_token"
    IDP = "idp"


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    display_name: str
    role: Role
    disabled: bool
    created_at: float
    external_id: str | None = None
    email: str | None = None
    # When it was last disabled: identity-provider tokens issued before stay refused.
    credentials_ended_at: float | None = None
    # When an admin deleted it. The row stays (its id names the author of old messages and
    # pages) as a tombstone: disabled, without credentials, its username freed.
    deleted_at: float | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None


# What a deleted account is shown as: its old messages and pages keep their author.
DELETED_DISPLAY_NAME = "deleted user"


@dataclass(frozen=True, slots=True)
class CredentialsEnded:
    """The sessions and API tokens a change ended, for telling their open connections."""

    session_ids: list[str]
    token_ids: list[int]


@dataclass(frozen=True, slots=True)
class AccountDeleted:
    """What deleting an account did; `user` is the tombstone, `former` the account before."""

    user: User
    former: User
    ended: CredentialsEnded
    workspace_ids: list[int]
    room_ids: list[int]
    friend_ids: list[int]


@dataclass(frozen=True, slots=True)
class Session:
    """A login. Its id is the JWT's `jti`, so logging out revokes exactly this session."""

    id: str
    user_id: int
    created_at: float
    expires_at: float
    revoked: bool


@dataclass(frozen=True, slots=True)
class ApiToken:
    """A long-lived credential for bots and scripts. Only its hash is stored."""

    id: int
    user_id: int
    name: str
    prefix: str
    created_at: float
    expires_at: float | None
    last_used_at: float | None
    revoked: bool


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is making a request, and through which credential."""

    user: User
    kind: AuthKind
    credential_id: str
    expires_at: float | None

    @property
    def is_admin(self) -> bool:
        return self.user.is_admin


class PresenceState(StrEnum):
    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


class RoomKind(StrEnum):
    DM = "dm"
    GROUP = "group"


class RoomRole(StrEnum):
    ADMIN = "admin"
    MEMBER = "member"


@dataclass(frozen=True, slots=True)
class Room:
    id: int
    kind: RoomKind
    name: str
    created_by: int
    created_at: float
    last_seq: int


@dataclass(frozen=True, slots=True)
class RoomMember:
    user_id: int
    username: str
    role: RoomRole
    joined_at: float
    last_read_seq: int


@dataclass(frozen=True, slots=True)
class RoomSummary:
    """A room as one member sees it in their list."""

    room: Room
    members: list[RoomMember]
    unread: int
    last_read_seq: int


@dataclass(frozen=True, slots=True)
class Message:
    """A chat message. `seq` is its place in the room; `rev` the room sequence number of its
    latest change (creation, edit, deletion or reaction), which is what resuming clients ask by."""

    id: int
    room_id: int
    seq: int
    rev: int
    author_id: int
    author: str
    client_id: str
    body: str
    reply_to: int | None
    created_at: float
    edited_at: float | None
    deleted: bool
    reactions: dict[str, list[str]]
    reply_to_seq: int | None = None  # the `seq` of the message answered, if any


class WorkspaceRole(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"  # invites and manages members (see `coope.core.rules.WORKSPACE_PERMISSIONS`)
    EDITOR = "editor"
    VIEWER = "viewer"

    @property
    def can_edit(self) -> bool:
        return self is not WorkspaceRole.VIEWER


@dataclass(frozen=True, slots=True)
class Workspace:
    id: int
    name: str
    created_at: float


@dataclass(frozen=True, slots=True)
class WorkspaceMember:
    user_id: int
    username: str
    role: WorkspaceRole
    joined_at: float


@dataclass(frozen=True, slots=True)
class Invite:
    code: str
    workspace_id: int
    role: WorkspaceRole
    created_by: int
    created_at: float
    expires_at: float | None
    max_uses: int | None
    uses: int
    revoked: bool


@dataclass(frozen=True, slots=True)
class Page:
    id: int
    workspace_id: int
    parent_id: int | None
    title: str
    icon: str
    cover: str | None
    position: str
    archived_root: int | None
    created_by: int
    created_at: float
    updated_at: float

    @property
    def archived(self) -> bool:
        return self.archived_root is not None
