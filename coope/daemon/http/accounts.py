"""Signup, login, logout, whoami, and the caller's own password and display name."""

from __future__ import annotations

from aiohttp import web

from coope.core.models import Principal
from coope.core.schemas import (
    CredentialsEndedOut,
    DisplayNameIn,
    LoginIn,
    PasswordChangedOut,
    PasswordChangeIn,
    SessionOut,
    SignupIn,
    UserOut,
    WhoAmIOut,
    to_datetime,
)
from coope.daemon.http.client_address import client_address
from coope.daemon.http.keys import CONFIG, SERVICES
from coope.daemon.http.routes import RouteTable
from coope.daemon.services.accounts import NewSession

routes = RouteTable("accounts")


def _session_out(new: NewSession) -> SessionOut:
    return SessionOut(
        token=new.token,
        expires_at=to_datetime(new.session.expires_at),
        user=UserOut.of(new.user),
        first_user=new.first_user,
    )


@routes.post(
    "/api/v1/auth/signup",
    summary="Create an account and log in. The daemon's first account becomes admin.",
    body=SignupIn,
    response=SessionOut,
    status=201,
    auth=False,
    errors=(403, 409),
)
async def signup(request: web.Request, body: SignupIn) -> SessionOut:
    new = await request.app[SERVICES].accounts.signup(
        body.username, body.password, body.display_name
    )
    return _session_out(new)


@routes.post(
    "/api/v1/auth/login",
    summary="Exchange a username and password for a session token.",
    body=LoginIn,
    response=SessionOut,
    auth=False,
    errors=(401, 403, 429),
)
async def login(request: web.Request, body: LoginIn) -> SessionOut:
    new = await request.app[SERVICES].accounts.login(body.username, body.password, _client(request))
    return _session_out(new)


def _client(request: web.Request) -> str:
    return client_address(
        request.remote,
        request.headers.getall("X-Forwarded-For", []),
        request.app[CONFIG].trusted_proxies,
    )


@routes.post(
    "/api/v1/auth/logout", summary="End the session that sends this request.", errors=(403,)
)
async def logout(request: web.Request, principal: Principal) -> None:
    await request.app[SERVICES].accounts.logout(principal)


@routes.get("/api/v1/auth/whoami", summary="Who the credential belongs to.", response=WhoAmIOut)
async def whoami(request: web.Request, principal: Principal) -> WhoAmIOut:
    return WhoAmIOut(
        user=UserOut.of(principal.user),
        auth=principal.kind,
        expires_at=to_datetime(principal.expires_at),
    )


@routes.post(
    "/api/v1/account/password",
    summary="Change your password, giving the current one (the new one follows the signup"
    " rule). Every other session of yours ends; the one that asks goes on. API tokens are"
    " separate credentials and keep working. A wrong current password is a 403 (the credential"
    " that asks stays valid), as is an account that signs in through the identity provider;"
    " wrong guesses count as failed logins (429).",
    body=PasswordChangeIn,
    response=PasswordChangedOut,
    errors=(403, 429),
)
async def change_password(
    request: web.Request, principal: Principal, body: PasswordChangeIn
) -> PasswordChangedOut:
    ended = await request.app[SERVICES].accounts.change_password(
        principal, body.current_password, body.new_password, _client(request)
    )
    return PasswordChangedOut(user=UserOut.of(principal.user), ended=CredentialsEndedOut.of(ended))


@routes.post(
    "/api/v1/account/name",
    summary="Set your display name: the name shown beside your username.",
    body=DisplayNameIn,
    response=UserOut,
)
async def set_display_name(
    request: web.Request, principal: Principal, body: DisplayNameIn
) -> UserOut:
    services = request.app[SERVICES]
    return UserOut.of(await services.accounts.set_display_name(principal.user, body.display_name))
