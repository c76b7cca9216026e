"""Wire schemas: the JSON bodies of the REST API, shared by the daemon and the client.

The daemon validates requests and serialises responses with these models, and builds its OpenAPI
document from the same models, so the published contract is the one the code enforces.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool

from coope.core import rules
from coope.core.models import DELETED_DISPLAY_NAME, ApiToken, AuthKind, CredentialsEnded, Role, User
from coope.core.names import name_key
from coope.core.rules import INT64_MAX as INT64_MAX
from coope.core.rules import INT64_MIN as INT64_MIN


def to_datetime(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


class Schema(BaseModel):
    # Unknown fields are refused so a typo in a script is an error, not a silent no-op.
    model_config = ConfigDict(extra="forbid", defer_build=True)


Id = Annotated[int, Field(ge=1, le=INT64_MAX, description="A stored id")]
"""The id of a stored row (a user, a token, a workspace, a page, a room, a message...)."""

SingleLine = Annotated[
    str,
    AfterValidator(rules.check_single_line),
    Field(json_schema_extra={"pattern": rules.SINGLE_LINE_PATTERN}),
]
"""A name, a title or a status: one line of text with no control characters (no ESC to steer
a terminal that shows it, no line break to forge a second line)."""

Username = str  # validated by rules.check_username in the service, which explains what is wrong
Password = str


def clean_display_name(raw: str) -> str:
    """`raw` as a display name: one line without control characters, its white space runs made
    one space, and something to see. Raises `ValueError` (schema validation names the field)."""
    name = " ".join(rules.check_single_line(raw).split())
    key = name_key(name)
    if not key:
        raise ValueError("must show something (it is empty or only invisible characters)")
    if key == name_key(DELETED_DISPLAY_NAME):
        raise ValueError(f"{DELETED_DISPLAY_NAME!r} is what deleted accounts are shown as")
    return name


def display_name_or(raw: str, fallback: str) -> str:
    """`raw` made a display name where it cannot be refused, or `fallback` (itself a valid
    one) if nothing of it can be shown. For names from elsewhere: an identity provider sends
    the same name again and again, so a refusal would fail its every delivery. What the rule
    refuses in one line is dropped and the rest cut at `rules.DISPLAY_NAME_MAX` characters."""
    name = " ".join(rules.without_control_characters(raw).split())
    try:
        return clean_display_name(name[: rules.DISPLAY_NAME_MAX].rstrip())
    except ValueError:
        return fallback


DisplayName = Annotated[
    str,
    Field(min_length=1, max_length=rules.DISPLAY_NAME_MAX),
    AfterValidator(clean_display_name),
    Field(json_schema_extra={"pattern": rules.SINGLE_LINE_PATTERN}),
]
"""The name shown for a person beside their username ("Alice Liddell"); anyone may have any."""


class UsernameIn(Schema):
    username: SingleLine = Field(min_length=1, max_length=200)


class ErrorDetail(Schema):
    code: str
    message: str
    details: dict[str, Any] | None = None


class ErrorOut(Schema):
    error: ErrorDetail


class HealthOut(Schema):
    status: Literal["ok"]
    version: str
    uptime_s: float
    database: str = Field(
        "sqlite", description="What stores: `sqlite` (embedded) or `postgresql` (shared)"
    )
    events: str = Field(
        "in-process",
        description="What carries events between daemons: `in-process` (one daemon) or `redis`",
    )
    node: str | None = Field(
        None, description="This daemon's name among those serving as one; null for one alone"
    )
    draining: bool = Field(
        False, description="Taking no new calls, and stopping once its last call ends"
    )


# --- accounts -------------------------------------------------------------------------------


class UserOut(Schema):
    id: Id
    username: str = Field(description='A deleted account\'s is "deleted:ID": the name is free')
    display_name: str
    role: Role
    disabled: bool
    created_at: datetime
    external_id: str | None = None
    email: str | None = None
    deleted: bool = Field(default=False, description="Deleted by an admin: a tombstone")

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            role=user.role,
            disabled=user.disabled,
            created_at=datetime.fromtimestamp(user.created_at, UTC),
            external_id=user.external_id,
            email=user.email,
            deleted=user.deleted,
        )


class SignupIn(Schema):
    username: SingleLine = Field(max_length=200, description="3-32 characters: a-z 0-9 _ - .")
    password: Password = Field(max_length=rules.PASSWORD_MAX)
    display_name: DisplayName | None = None


class LoginIn(Schema):
    username: SingleLine = Field(max_length=200)
    password: Password = Field(max_length=rules.PASSWORD_MAX)


class SessionOut(Schema):
    """A new session: the bearer token to send as `Authorization: Bearer <token>`."""

    token: str
    expires_at: datetime
    user: UserOut
    first_user: bool = Field(
        default=False, description="True when this account was the daemon's first: it is admin"
    )


class WhoAmIOut(Schema):
    user: UserOut
    auth: AuthKind
    expires_at: datetime | None


# --- API tokens -----------------------------------------------------------------------------


class TokenCreateIn(Schema):
    name: SingleLine = Field(min_length=1, max_length=rules.TOKEN_NAME_MAX)
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class TokenOut(Schema):
    id: Id
    name: str
    prefix: str = Field(description="The first characters of the token, to recognise it")
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def of(cls, token: ApiToken) -> TokenOut:
        return cls(
            id=token.id,
            name=token.name,
            prefix=token.prefix,
            created_at=datetime.fromtimestamp(token.created_at, UTC),
            expires_at=to_datetime(token.expires_at),
            last_used_at=to_datetime(token.last_used_at),
        )


class TokenCreatedOut(Schema):
    token: str = Field(description="The secret itself. It is shown once and never again.")
    info: TokenOut


class TokenListOut(Schema):
    tokens: list[TokenOut]


# --- administration -------------------------------------------------------------------------


class UserQuery(Schema):
    search: SingleLine | None = Field(default=None, max_length=100)
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=INT64_MAX)


class UserListOut(Schema):
    users: list[UserOut]
    total: int


class AdminCreateUserIn(Schema):
    username: SingleLine = Field(max_length=200)
    password: Password = Field(max_length=rules.PASSWORD_MAX)
    display_name: DisplayName | None = None
    role: Role = Role.USER


class RoleIn(Schema):
    role: Role


# --- account administration: passwords, display names, deletion, tokens of others ----------


class PasswordChangeIn(Schema):
    current_password: Password = Field(max_length=rules.PASSWORD_MAX)
    new_password: Password = Field(
        max_length=rules.PASSWORD_MAX, description="The same rule as at signup"
    )


class PasswordResetIn(Schema):
    new_password: Password = Field(
        max_length=rules.PASSWORD_MAX, description="The same rule as at signup"
    )
    revoke_tokens: StrictBool = Field(
        default=False, description="Also revoke every API token of the account (kept otherwise)"
    )


class DisplayNameIn(Schema):
    display_name: DisplayName


class CredentialsEndedOut(Schema):
    """What a password change or an account deletion ended."""

    sessions_ended: int = Field(description="Sessions ended (logins elsewhere)")
    api_tokens_revoked: int = Field(description="API tokens revoked (0: they keep working)")

    @classmethod
    def of(cls, ended: CredentialsEnded) -> CredentialsEndedOut:
        return cls(sessions_ended=len(ended.session_ids), api_tokens_revoked=len(ended.token_ids))


class PasswordChangedOut(Schema):
    """Your password changed: the session that asked goes on, every other one of yours ended."""

    user: UserOut
    ended: CredentialsEndedOut


class AdminActionOut(Schema):
    """An admin's change to someone's account, as an audit record."""

    action: Literal["password_reset", "display_name_set", "deleted"]
    user: UserOut
    by: str = Field(description="The admin's username")
    at: datetime


class PasswordResetOut(AdminActionOut):
    ended: CredentialsEndedOut


class UserDeletedOut(AdminActionOut):
    """The account is a tombstone now. Its messages and pages stay, shown as written by
    "deleted user"; it left every workspace and group room and ended its friendships."""

    former_username: str = Field(description="The username it had, free for anyone now")
    ended: CredentialsEndedOut
    workspaces_left: list[Id]
    rooms_left: list[Id] = Field(description="Group rooms; direct conversations stay")
    friendships_ended: int


# --- external identity provider -------------------------------------------------------------


class WebhookOut(Schema):
    received: bool
    user: UserOut | None = None
