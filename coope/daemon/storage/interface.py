"""What services may ask of storage. Services depend on these classes only, never on SQL, so a
PostgreSQL backend can be added by implementing them again."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from coope.core.models import (
    AccountDeleted,
    ApiToken,
    CredentialsEnded,
    Invite,
    Message,
    Page,
    Role,
    Room,
    RoomMember,
    RoomSummary,
    Session,
    User,
    Workspace,
    WorkspaceMember,
    WorkspaceRole,
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


@dataclass(frozen=True)
class WebhookDelivery:
    """One verified webhook delivery, recorded in the same transaction as its effect."""

    id: str
    body_sha256: str
    received_at: float


@dataclass(frozen=True)
class DeliveryResult:
    """What a webhook delivery did. `applied` is False when this very delivery (same id, same
    body) was applied before: nothing changed this time, and `user` is None."""

    user: User | None
    applied: bool = True


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
    async def set_disabled(self, user_id: int, disabled: bool, now: float) -> User:
        """Disabling also ends every session and API token of the user in the same transaction,
        and identity-provider tokens issued until `now`: enabling again brings none back.
        Raises `Conflict` when this would leave the daemon without an active admin."""

    @abstractmethod
    async def upsert_external_user(
        self, profile: ExternalProfile, *, delivery: WebhookDelivery
    ) -> DeliveryResult:
        """Create or update the user linked to `profile.external_id`, recording `delivery` in
        the same transaction; a delivery recorded before with the same body changes nothing.
        Raises `Conflict` if its id was recorded with a different body."""

    @abstractmethod
    async def disable_external_user(
        self, external_id: str, *, delivery: WebhookDelivery
    ) -> DeliveryResult:
        """Disable (never delete) the user linked to `external_id`, ending their sessions and
        API tokens as `set_disabled` does, recording `delivery` as `upsert_external_user` does."""

    @abstractmethod
    async def forget_webhook_deliveries(self, *, before: float) -> int:
        """Drop the records of deliveries received before `before`; return how many."""

    # --- the service ----------------------------------------------------------------------

    @abstractmethod
    async def service_secret(self, name: str, candidate: bytes) -> bytes:
        """The service's secret `name`: the one stored, or `candidate`, stored now, if there is
        none yet. Whichever daemon asks first sets it for all, in one transaction."""

    # --- sessions --------------------------------------------------------------------------

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
    ) -> ApiToken:
        """Raises `Conflict` if the user is disabled, `NotFound` if deleted (checked in the
        insert)."""

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

    # --- account admin ---------------------------------------------------------------------

    @abstractmethod
    async def create_session_if_current(self, session: Session, password_hash: str | None) -> bool:
        """Store `session` only if its user is live (neither disabled nor deleted) and their
        password hash is still `password_hash`, the one the caller checked, in one statement;
        False, storing nothing, if not: a reset, a password change, disabling or deletion that
        commits while a login is checking the password wins over that login."""

    @abstractmethod
    async def set_password(
        self,
        user_id: int,
        password_hash: str,
        *,
        keep_session: str | None = None,
        revoke_tokens: bool = False,
    ) -> CredentialsEnded:
        """Store a new password hash and, in the same transaction, end every live session of
        the user but `keep_session` (and, with `revoke_tokens`, every API token). Raises
        `NotFound` for a deleted account."""

    @abstractmethod
    async def set_display_name(self, user_id: int, display_name: str) -> User:
        """Raises `NotFound` for a deleted account."""

    @abstractmethod
    async def delete_user(self, user_id: int, now: float) -> AccountDeleted:
        """Make the account a tombstone in one transaction (see migration 0009): credentials,
        workspace and group room memberships, room invitations, friendships, friend requests,
        blocks and status end; its messages and pages stay. Raises `NotFound` if it is deleted
        already, and `Conflict` if it is the last active admin or the only owner of a
        workspace (`details["workspaces"]`: their ids and names). The identity provider's id
        stays on the tombstone, so that its later deliveries for that id change nothing."""


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

    # --- presence --------------------------------------------------------------------------

    @abstractmethod
    async def presences(self, user_ids: list[int]) -> dict[int, StoredPresence]:
        """What is stored for each user (the default for one with nothing stored)."""

    @abstractmethod
    async def set_chosen_status(
        self, user_id: int, status: str, text: str, expires_at: float | None
    ) -> None:
        """Store the status a user chose (`available`, `away`, `busy`, `dnd`), its text and
        when both end (None: never)."""

    @abstractmethod
    async def set_last_active(self, user_id: int, when: float) -> None:
        """Record the user's last activity; an earlier time than the stored one changes
        nothing."""

    @abstractmethod
    async def status_ends(self, after: float) -> list[tuple[int, float]]:
        """(user id, end) of every chosen status that ends later than `after`."""


@dataclass(frozen=True)
class StoredPresence:
    """A user's chosen status as stored (it may have ended: see `expires_at`) and their last
    activity as last persisted."""

    status: str = "available"
    text: str = ""
    expires_at: float | None = None
    last_active_at: float | None = None


@dataclass(frozen=True)
class RoomInvite:
    """A pending invitation of `user` into a group room, made by `invited_by`."""

    room: Room
    user: User
    invited_by: User
    created_at: float


class ChatStore(ABC):
    """Rooms, members, invitations, messages, reactions, read markers and search. Permission
    checks are the services'; these methods only keep the data consistent (sequence numbers,
    idempotent sends, no one both member and invited)."""

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
        self,
        creator_id: int,
        name: str,
        member_ids: list[int],
        now: float,
        invited_ids: list[int] | None = None,
    ) -> Room:
        """Create a group room with its creator as admin, `member_ids` as members and
        `invited_ids` invited by the creator, in one transaction. Raises `Conflict` if a group
        room has the same name (`coope.core.names`)."""

    @abstractmethod
    async def get_room(self, room_id: int) -> Room | None: ...

    @abstractmethod
    async def find_group_room(self, name: str) -> Room | None:
        """The group room whose name is the same as `name`, if any."""

    @abstractmethod
    async def room_members(self, room_id: int) -> list[RoomMember]: ...

    @abstractmethod
    async def rooms_of(self, user_id: int) -> list[RoomSummary]:
        """The user's rooms, most recently active first, with unread counts."""

    @abstractmethod
    async def add_member(self, room_id: int, user_id: int, now: float) -> bool:
        """False if already a member. A pending invitation of the user ends (they are in)."""

    @abstractmethod
    async def invite_member(self, room_id: int, user_id: int, invited_by: int, now: float) -> bool:
        """Invite the user; False if they are already a member or invited."""

    @abstractmethod
    async def room_invites(self, room_ids: list[int]) -> dict[int, list[RoomInvite]]:
        """The pending invitations of each room, oldest first (none between blocked people)."""

    @abstractmethod
    async def invites_of(self, user_id: int) -> tuple[list[RoomInvite], list[RoomInvite]]:
        """(invitations to the user, invitations the user made) that are pending, oldest first.
        Invitations between people where either blocked the other are left out."""

    @abstractmethod
    async def accept_invite(self, room_id: int, user_id: int, now: float) -> bool:
        """Turn the user's invitation into membership; False if there was none."""

    @abstractmethod
    async def delete_invite(self, room_id: int, user_id: int) -> RoomInvite | None:
        """End the user's pending invitation (declined or withdrawn); the one ended, if any."""

    @abstractmethod
    async def remove_member(self, room_id: int, user_id: int) -> bool:
        """Remove a member. If the last admin leaves, the longest-standing member becomes admin."""

    @abstractmethod
    async def rename_room(self, room_id: int, name: str) -> Room:
        """Raises `Conflict` if another group room has the same name."""

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
    ) -> Message:
        """Add (`on`) or remove the user's reaction; only a real change takes a sequence
        number. Raises `NotFound` when removing a reaction that is not there, `Conflict` on a
        deleted message."""

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
        self, user_id: int, terms: list[str], room_id: int | None, limit: int
    ) -> list[Message]:
        """Full-text search over live messages of the rooms the user is a member of: those
        with every one of `terms` as a word (a term's own spaces or quotes are just text), best
        first."""


@dataclass(frozen=True)
class NewPage:
    workspace_id: int
    parent_id: int | None
    title: str
    icon: str
    position: str
    created_by: int
    created_at: float
    # A sibling has the title: take "Title (2)" (the first free number) instead of a conflict.
    number_if_taken: bool = False


class WorkspaceStore(ABC):
    """Workspaces, their members and invites."""

    @abstractmethod
    async def create_workspace(self, name: str, owner_id: int, now: float) -> Workspace:
        """Raises `Conflict` if a workspace has the same name (`coope.core.names`)."""

    @abstractmethod
    async def get_workspace(self, workspace_id: int) -> Workspace | None: ...

    @abstractmethod
    async def find_workspace(self, name: str) -> Workspace | None:
        """The workspace whose name is the same as `name` (`coope.core.names`), if any."""

    @abstractmethod
    async def workspaces_of(self, user_id: int) -> list[tuple[Workspace, WorkspaceRole]]: ...

    @abstractmethod
    async def all_workspaces(self) -> list[Workspace]: ...

    @abstractmethod
    async def rename_workspace(self, workspace_id: int, name: str) -> Workspace:
        """Raises `Conflict` if another workspace has the same name."""

    @abstractmethod
    async def delete_workspace(self, workspace_id: int) -> None:
        """Delete it with all its pages (and the covers no other page uses)."""

    @abstractmethod
    async def workspace_members(self, workspace_id: int) -> list[WorkspaceMember]: ...

    @abstractmethod
    async def member_role(self, workspace_id: int, user_id: int) -> WorkspaceRole | None: ...

    @abstractmethod
    async def remove_workspace_member(self, workspace_id: int, user_id: int) -> bool:
        """False if they are not a member. Raises `Conflict` for an owner (removed or leaving
        alike): ownership changes hands only by a transfer."""

    @abstractmethod
    async def transfer_ownership(self, workspace_id: int, from_id: int, to_id: int) -> None:
        """The new owner must be a member; the old one becomes an admin. One transaction."""

    @abstractmethod
    async def create_invite(self, invite: Invite) -> Invite: ...

    @abstractmethod
    async def invites(self, workspace_id: int) -> list[Invite]: ...

    @abstractmethod
    async def get_invite(self, code: str) -> Invite | None: ...

    @abstractmethod
    async def revoke_invite(self, code: str) -> bool: ...

    @abstractmethod
    async def redeem_invite(
        self, code: str, user_id: int, now: float
    ) -> tuple[Workspace, WorkspaceRole, bool]:
        """Join through an invite: raises `NotFound` (no such code) or `Gone` (expired, used up,
        revoked: `workspace_schemas.invite_refusal`). A member already in the workspace keeps
        their role and uses no invite, whatever its state. Returns (workspace, role, newly
        joined)."""

    # --- workspace admin ---

    @abstractmethod
    async def set_workspace_members(
        self, workspace_id: int, entries: list[MemberEntry], now: float
    ) -> list[WorkspaceRole | None]:
        """Give each entry's user its role, adding those who are not members, in one
        transaction: all or nothing. An entry with `keep_existing` leaves a member as they are.
        Checked against what the transaction sees, every failing entry listed in one
        `InvalidInput` (`rules.member_list_refusal`): a user who is gone (disabled or deleted:
        `no user named ...`), a change that would make or unmake an owner
        (`rules.owner_change_refusal`). Returns each user's role before (None: not a member).
        """

    @abstractmethod
    async def workspace_headcounts(self, member_id: int | None) -> dict[int, tuple[list[str], int]]:
        """For the workspaces `member_id` is in (None: every workspace), keyed by id: the
        usernames of its owners and how many members it has."""


@dataclass(frozen=True)
class MemberEntry:
    """One person a change of workspace roles names."""

    user_id: int
    username: str  # as the change names them: how a refusal tells of them
    role: WorkspaceRole
    # The role is a default, not chosen for this person: a member keeps their own.
    keep_existing: bool = False


class PageStore(ABC):
    """The page tree and page content (an update log compacted into snapshots)."""

    @abstractmethod
    async def create_page(self, new: NewPage, content: bytes | None) -> Page:
        """Raises `Conflict` if a sibling has the same title (`coope.core.names`)."""

    @abstractmethod
    async def get_page(self, page_id: int) -> Page | None: ...

    @abstractmethod
    async def find_sibling(
        self, workspace_id: int, parent_id: int | None, title: str
    ) -> Page | None:
        """The page under `parent_id` (None: the top) whose title is the same as `title`, if
        any; the roots of what is in the trash are nobody's siblings."""

    @abstractmethod
    async def pages_of(self, workspace_id: int, *, archived: bool = False) -> list[Page]:
        """Live pages (or, with archived, the roots of archived subtrees), in tree order."""

    @abstractmethod
    async def last_child_position(self, workspace_id: int, parent_id: int | None) -> str | None: ...

    @abstractmethod
    async def update_page(
        self,
        page_id: int,
        now: float,
        *,
        title: str | None = None,
        icon: str | None = None,
        cover: tuple[str, bytes] | None = None,
        clear_cover: bool = False,
    ) -> Page:
        """`cover` is (name, image): images are kept by name (of their content) and shared by
        the pages that show them; one no page shows any more is deleted. Raises `Conflict` if
        the new title is a sibling's."""

    @abstractmethod
    async def move_page(
        self, page_id: int, parent_id: int | None, position: str, now: float
    ) -> Page:
        """Re-parent; raises `InvalidInput` if `parent_id` is the page or one of its descendants,
        and `Conflict` if a page there has the same title."""

    @abstractmethod
    async def archive_subtree(self, page_id: int, now: float) -> list[int]: ...

    @abstractmethod
    async def restore_subtree(self, root_id: int, now: float) -> Page:
        """Bring an archived subtree back; under its old parent if that is live, else on top.
        If a page there has taken its title meanwhile, the root comes back as "Title (2)"."""

    @abstractmethod
    async def delete_subtree(self, root_id: int) -> list[int]:
        """Delete an archived subtree for good (and the covers no other page uses); returns the
        ids of the pages deleted."""

    @abstractmethod
    async def search_pages(
        self, workspace_ids: list[int], terms: list[str], limit: int
    ) -> list[tuple[Page, str]]:
        """Live pages with every one of `terms` as the start of a word in their title or text
        ("rele" finds "release"), best first, each with a snippet."""

    @abstractmethod
    async def load_content(self, page_id: int) -> tuple[bytes | None, list[bytes], int]:
        """(snapshot, updates logged after it in order, the last update's sequence number)."""

    @abstractmethod
    async def content_after(
        self, page_id: int, seq: int
    ) -> tuple[bytes | None, int, list[tuple[int, bytes]]]:
        """What a copy holding the log up to `seq` lacks: (the snapshot if it covers more than
        `seq`, else None; the number it covers up to, or `seq`; the updates logged after that,
        as (sequence number, update) in order)."""

    @abstractmethod
    async def append_update(self, page_id: int, data: bytes, now: float) -> int: ...

    @abstractmethod
    async def compact(self, page_id: int, snapshot: bytes, upto_seq: int) -> None:
        """Replace the log up to `upto_seq` with `snapshot` (which must contain it)."""

    @abstractmethod
    async def set_body_text(self, page_id: int, text: str) -> None: ...

    @abstractmethod
    async def cover_image(self, name: str) -> bytes | None:
        """The image of a cover (`Page.cover` names it)."""


class Storage(AccountStore, SocialStore, ChatStore, WorkspaceStore, PageStore):
    """Everything the daemon stores, behind one lifecycle."""

    # Which database this is ("sqlite", "postgresql"), as health reports it.
    engine: ClassVar[str]

    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def check(self) -> None:
        """Return once the database answers; raise `Unavailable` if it cannot be reached."""

    @abstractmethod
    async def aclose(self) -> None:
        """Commit every acknowledged write and release the backend."""
