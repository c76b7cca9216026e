"""Wire schemas: the JSON bodies of the REST API, shared by the daemon and the client.

The daemon validates requests and serialises responses with these models, and builds its OpenAPI
document from the same models, so the published contract is the one the code enforces.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from coope.core import rules
from coope.core.models import ApiToken, AuthKind, Role, User
from coope.core.rules import INT64_MAX as INT64_MAX
from coope.core.rules import INT64_MIN as INT64_MIN


def to_datetime(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


class Schema(BaseModel):
    # Unknown fields are refused so a typo in a script is an error, not a silent no-op.
    model_config = ConfigDict(extra="forbid")


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


# --- accounts -------------------------------------------------------------------------------


class UserOut(Schema):
    id: Id
    username: str
    display_name: str
    role: Role
    disabled: bool
    created_at: datetime
    external_id: str | None = None
    email: str | None = None

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
        )


class SignupIn(Schema):
    username: SingleLine = Field(max_length=200, description="3-32 characters: a-z 0-9 _ - .")
    password: Password = Field(max_length=rules.PASSWORD_MAX)
    display_name: SingleLine | None = Field(default=None, max_length=rules.DISPLAY_NAME_MAX)


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
    display_name: SingleLine | None = Field(default=None, max_length=rules.DISPLAY_NAME_MAX)
    role: Role = Role.USER


class RoleIn(Schema):
    role: Role


# --- external identity provider -------------------------------------------------------------


class WebhookOut(Schema):
    received: bool
    user: UserOut | None = None
