"""Client areas for accounts, API tokens and administration."""

from __future__ import annotations

from coope.client.transport import Transport
from coope.client.transport import segment as _seg
from coope.core.models import Role
from coope.core.schemas import (
    AdminActionOut,
    AdminCreateUserIn,
    DisplayNameIn,
    LoginIn,
    PasswordChangedOut,
    PasswordChangeIn,
    PasswordResetIn,
    PasswordResetOut,
    RoleIn,
    SessionOut,
    SignupIn,
    TokenCreatedOut,
    TokenCreateIn,
    TokenListOut,
    TokenOut,
    UserDeletedOut,
    UserListOut,
    UserOut,
    WhoAmIOut,
)


class AuthApi:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    async def signup(
        self, username: str, password: str, display_name: str | None = None
    ) -> SessionOut:
        """Create an account; the client then uses the new session."""
        body = SignupIn.model_construct(
            username=username, password=password, display_name=display_name
        )
        session: SessionOut = await self._t.call(
            "POST", "/api/v1/auth/signup", SessionOut, body=body
        )
        self._t.token = session.token
        return session

    async def login(self, username: str, password: str) -> SessionOut:
        """Log in; the client then uses the new session."""
        body = LoginIn.model_construct(username=username, password=password)
        session: SessionOut = await self._t.call(
            "POST", "/api/v1/auth/login", SessionOut, body=body
        )
        self._t.token = session.token
        return session

    async def logout(self) -> None:
        await self._t.call("POST", "/api/v1/auth/logout")
        self._t.token = None

    async def whoami(self) -> WhoAmIOut:
        result: WhoAmIOut = await self._t.call("GET", "/api/v1/auth/whoami", WhoAmIOut)
        return result

    async def change_password(self, current: str, new: str) -> PasswordChangedOut:
        """Change your password. This client's session goes on; your other sessions end, and
        your API tokens keep working."""
        body = PasswordChangeIn.model_construct(current_password=current, new_password=new)
        result: PasswordChangedOut = await self._t.call(
            "POST", "/api/v1/account/password", PasswordChangedOut, body=body
        )
        return result

    async def set_display_name(self, display_name: str) -> UserOut:
        body = DisplayNameIn.model_construct(display_name=display_name)
        result: UserOut = await self._t.call("POST", "/api/v1/account/name", UserOut, body=body)
        return result


class TokensApi:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    async def create(self, name: str, expires_in_days: int | None = None) -> TokenCreatedOut:
        body = TokenCreateIn.model_construct(name=name, expires_in_days=expires_in_days)
        result: TokenCreatedOut = await self._t.call(
            "POST", "/api/v1/tokens", TokenCreatedOut, body=body
        )
        return result

    async def list(self) -> list[TokenOut]:
        result: TokenListOut = await self._t.call("GET", "/api/v1/tokens", TokenListOut)
        return result.tokens

    async def revoke(self, token_id: int) -> None:
        await self._t.call("DELETE", f"/api/v1/tokens/{token_id}")


class AdminTokensApi:
    """API tokens of any account, for an admin (a bot account's, typically)."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport

    async def create(
        self, username: str, name: str, expires_in_days: int | None = None
    ) -> TokenCreatedOut:
        body = TokenCreateIn.model_construct(name=name, expires_in_days=expires_in_days)
        result: TokenCreatedOut = await self._t.call(
            "POST", f"/api/v1/admin/users/{_seg(username)}/tokens", TokenCreatedOut, body=body
        )
        return result

    async def list(self, username: str) -> list[TokenOut]:
        result: TokenListOut = await self._t.call(
            "GET", f"/api/v1/admin/users/{_seg(username)}/tokens", TokenListOut
        )
        return result.tokens

    async def revoke(self, username: str, token_id: int) -> None:
        await self._t.call("DELETE", f"/api/v1/admin/users/{_seg(username)}/tokens/{token_id}")


class AdminApi:
    def __init__(self, transport: Transport) -> None:
        self._t = transport
        self.tokens = AdminTokensApi(transport)

    async def users(
        self, search: str | None = None, limit: int = 50, offset: int = 0
    ) -> UserListOut:
        params = {"search": search, "limit": limit, "offset": offset}
        result: UserListOut = await self._t.call(
            "GET", "/api/v1/admin/users", UserListOut, params=params
        )
        return result

    async def create_user(
        self,
        username: str,
        password: str,
        *,
        role: Role = Role.USER,
        display_name: str | None = None,
    ) -> UserOut:
        body = AdminCreateUserIn.model_construct(
            username=username, password=password, role=role, display_name=display_name
        )
        result: UserOut = await self._t.call("POST", "/api/v1/admin/users", UserOut, body=body)
        return result

    async def set_role(self, username: str, role: Role) -> UserOut:
        result: UserOut = await self._t.call(
            "POST",
            f"/api/v1/admin/users/{_seg(username)}/role",
            UserOut,
            body=RoleIn.model_construct(role=role),
        )
        return result

    async def disable(self, username: str) -> UserOut:
        result: UserOut = await self._t.call(
            "POST", f"/api/v1/admin/users/{_seg(username)}/disable", UserOut
        )
        return result

    async def enable(self, username: str) -> UserOut:
        result: UserOut = await self._t.call(
            "POST", f"/api/v1/admin/users/{_seg(username)}/enable", UserOut
        )
        return result

    async def reset_password(
        self, username: str, password: str, *, revoke_tokens: bool = False
    ) -> PasswordResetOut:
        body = PasswordResetIn.model_construct(new_password=password, revoke_tokens=revoke_tokens)
        result: PasswordResetOut = await self._t.call(
            "POST", f"/api/v1/admin/users/{_seg(username)}/password", PasswordResetOut, body=body
        )
        return result

    async def set_display_name(self, username: str, display_name: str) -> AdminActionOut:
        body = DisplayNameIn.model_construct(display_name=display_name)
        result: AdminActionOut = await self._t.call(
            "POST", f"/api/v1/admin/users/{_seg(username)}/name", AdminActionOut, body=body
        )
        return result

    async def delete_user(self, username: str) -> UserDeletedOut:
        result: UserDeletedOut = await self._t.call(
            "DELETE", f"/api/v1/admin/users/{_seg(username)}", UserDeletedOut
        )
        return result
