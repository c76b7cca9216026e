"""Wire schemas for workspaces, invites, pages and their content."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, StrictBool

from coope.core.models import Invite, Page, Workspace, WorkspaceMember, WorkspaceRole
from coope.core.names import NAME_MAX
from coope.core.schemas import Id, Schema, SingleLine, to_datetime

MARKDOWN_MAX = 512 * 1024


EXIST_OK = (
    "If the name is taken by one you can see, answer that one (200, `created: false`) instead"
    " of 409"
)
CREATED = "False when `exist_ok` found it already there"


class WorkspaceIn(Schema):
    name: SingleLine = Field(min_length=1, max_length=NAME_MAX)


class WorkspaceCreateIn(WorkspaceIn):
    """Names are unique on the daemon, compared without case after Unicode normalisation."""

    exist_ok: StrictBool = Field(default=False, description=EXIST_OK)


class WorkspaceOut(Schema):
    id: Id
    name: str
    role: WorkspaceRole = Field(
        description="Your role in it (a service admin acts as owner in every workspace)"
    )
    created_at: datetime

    @classmethod
    def of(cls, workspace: Workspace, role: WorkspaceRole) -> WorkspaceOut:
        return cls(
            id=workspace.id,
            name=workspace.name,
            role=role,
            created_at=to_datetime(workspace.created_at),
        )


class WorkspaceCreatedOut(WorkspaceOut):
    created: bool = Field(description=CREATED)


class WorkspaceListedOut(WorkspaceOut):
    owners: list[str] = Field(description="Its owners' usernames")
    member_count: int = Field(description="How many members it has, owners included")


class WorkspaceListOut(Schema):
    workspaces: list[WorkspaceListedOut]


class WorkspaceQuery(Schema):
    all: bool = Field(
        default=False, description="Every workspace of the daemon (service admins only: 403)"
    )
    name: SingleLine | None = Field(
        default=None,
        min_length=1,
        max_length=NAME_MAX,
        description="Only the workspace of this name, if you may see it (a member, or a service"
        " admin); none otherwise, whether it exists or not",
    )


class MemberOut(Schema):
    username: str
    role: WorkspaceRole
    joined_at: datetime

    @classmethod
    def of(cls, member: WorkspaceMember) -> MemberOut:
        return cls(
            username=member.username, role=member.role, joined_at=to_datetime(member.joined_at)
        )


class MembersOut(Schema):
    members: list[MemberOut]


GivenRole = Literal["admin", "editor", "viewer"]
"""The roles an owner or admin gives (`coope.core.rules.GIVEN_ROLES`); ownership is transferred."""

# How many people one bulk change may name.
MEMBERS_AT_ONCE = 1000


class MemberIn(Schema):
    username: SingleLine = Field(min_length=1, max_length=200)
    role: GivenRole


class MemberEntryIn(MemberIn):
    keep_existing: StrictBool = Field(
        default=False,
        description="The role is only a default: someone who is a member already keeps theirs"
        " (listed in `kept` when it differs)",
    )


class MembersIn(Schema):
    """Several people and their roles, applied all together or not at all."""

    entries: list[MemberEntryIn] = Field(min_length=1, max_length=MEMBERS_AT_ONCE)


class MemberChangeOut(Schema):
    username: str
    role: WorkspaceRole
    previous: WorkspaceRole | None = Field(description="The role before; null: newly added")


class MemberKeptOut(Schema):
    username: str
    role: WorkspaceRole = Field(description="The role they had and keep")


class MemberChangesOut(Schema):
    changed: list[MemberChangeOut] = Field(
        description="The entries that changed something, in the order given (those that had"
        " their role already are left out)"
    )
    kept: list[MemberKeptOut] = Field(
        default_factory=list,
        description="Members named with `keep_existing` whose own role differs from the entry's:"
        " they keep it, in the order given",
    )


class InviteIn(Schema):
    role: Literal["editor", "viewer"] = "editor"
    expires_in_days: float | None = Field(default=7, gt=0, le=365)
    max_uses: int | None = Field(default=None, ge=1, le=100_000)


InviteStatus = Literal["active", "expired", "used_up", "revoked"]

# Why an invite that is not active lets nobody join: `coope ws join` and the invite page say it.
_INVITE_REFUSALS: dict[InviteStatus, str] = {
    "revoked": "this invite was revoked",
    "expired": "this invite has expired",
    "used_up": "this invite has been used up",
}


def invite_status(invite: Invite, now: float) -> InviteStatus:
    """Whether `invite` works at `now`, or why not (revoked first, then expired, then used up)."""
    if invite.revoked:
        return "revoked"
    if invite.expires_at is not None and invite.expires_at <= now:
        return "expired"
    if invite.max_uses is not None and invite.uses >= invite.max_uses:
        return "used_up"
    return "active"


def invite_refusal(invite: Invite, now: float) -> str | None:
    """Why `invite` lets nobody join at `now`, in words for a person; None while it works."""
    return _INVITE_REFUSALS.get(invite_status(invite, now))


class InviteOut(Schema):
    code: str
    workspace_id: Id
    role: WorkspaceRole
    created_at: datetime
    expires_at: datetime | None
    max_uses: int | None
    uses: int
    status: InviteStatus

    @classmethod
    def of(cls, invite: Invite, now: float) -> InviteOut:
        status = invite_status(invite, now)
        return cls(
            code=invite.code,
            workspace_id=invite.workspace_id,
            role=invite.role,
            created_at=to_datetime(invite.created_at),
            expires_at=to_datetime(invite.expires_at),
            max_uses=invite.max_uses,
            uses=invite.uses,
            status=status,
        )


class InvitesOut(Schema):
    invites: list[InviteOut]


class JoinIn(Schema):
    code: SingleLine = Field(min_length=1, max_length=200)


class JoinOut(Schema):
    workspace: WorkspaceOut
    joined: bool = Field(description="False if you were a member already")


# --- pages ----------------------------------------------------------------------------------


class PageIn(Schema):
    """Titles are unique among the pages under one parent (or at the top of the workspace),
    compared without case after Unicode normalisation."""

    title: SingleLine = Field(min_length=1, max_length=NAME_MAX)
    parent_id: Id | None = None
    icon: SingleLine = Field(default="", max_length=16)
    markdown: str | None = Field(default=None, max_length=MARKDOWN_MAX)
    exist_ok: StrictBool = Field(
        default=False,
        description="If a sibling has the title, answer it as it is (200, `created: false`;"
        " `icon` and `markdown` are not applied) instead of 409",
    )
    number_if_taken: StrictBool = Field(
        default=False,
        description='If a sibling has the title, name this page "Title (2)" (the first free'
        " number) instead of 409. Not with `exist_ok`",
    )


class PageOut(Schema):
    id: Id
    workspace_id: Id
    parent_id: Id | None
    title: str
    icon: str
    has_cover: bool
    position: str
    archived: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, page: Page) -> PageOut:
        return cls(
            id=page.id,
            workspace_id=page.workspace_id,
            parent_id=page.parent_id,
            title=page.title,
            icon=page.icon,
            has_cover=page.cover is not None,
            position=page.position,
            archived=page.archived,
            created_at=to_datetime(page.created_at),
            updated_at=to_datetime(page.updated_at),
        )


class PageCreatedOut(PageOut):
    created: bool = Field(description=CREATED)


class PageListOut(Schema):
    pages: list[PageOut]


class TitleIn(Schema):
    title: SingleLine = Field(min_length=1, max_length=NAME_MAX)


class IconIn(Schema):
    icon: SingleLine = Field(max_length=16, description="An emoji; empty clears it")


class MoveIn(Schema):
    parent_id: Id | None = Field(default=None, description="The new parent; none: top level")
    after: Id | None = Field(default=None, description="Place after this sibling page")


class PageIdsOut(Schema):
    pages: list[Id]


class BlockOut(Schema):
    id: str
    type: str
    text: str
    checked: bool
    lang: str = Field("", description="a code block's language; empty otherwise")


class ContentOut(Schema):
    page: PageOut
    blocks: list[BlockOut]
    markdown: str


class BlockIn(Schema):
    type: SingleLine = Field(default="paragraph", max_length=32)
    text: str = Field(default="", max_length=MARKDOWN_MAX)
    checked: bool = False


class BlockAddedOut(Schema):
    id: str


class MarkdownIn(Schema):
    markdown: str = Field(max_length=MARKDOWN_MAX)


class UpdateOut(Schema):
    seq: int = Field(description="Where the update stands in the page's log")


class PageSearchQuery(Schema):
    q: SingleLine = Field(min_length=1, max_length=200)
    workspace: Id | None = None
    limit: int = Field(default=20, ge=1, le=100)


class PageHitOut(Schema):
    page: PageOut
    snippet: str


class PageSearchOut(Schema):
    results: list[PageHitOut]
