"""Signup, login, logout and whoami."""

from __future__ import annotations

from aiohttp import web

from coope.core.models import Principal
from coope.core.schemas import LoginIn, SessionOut, SignupIn, UserOut, WhoAmIOut, to_datetime
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
    client = client_address(
        request.remote,
        request.headers.getall("X-Forwarded-For", []),
        request.app[CONFIG].trusted_proxies,
    )
    new = await request.app[SERVICES].accounts.login(body.username, body.password, client)
    return _session_out(new)


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
