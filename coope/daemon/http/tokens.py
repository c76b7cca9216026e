"""API tokens of the caller."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel

from coope.core.models import Principal
from coope.core.schemas import TokenCreatedOut, TokenCreateIn, TokenListOut, TokenOut
from coope.daemon.http.keys import SERVICES
from coope.daemon.http.routes import RouteTable

routes = RouteTable("tokens")


class TokenPath(BaseModel):
    token_id: int


@routes.post(
    "/api/v1/tokens",
    summary="Create an API token. The secret is in this response only.",
    body=TokenCreateIn,
    response=TokenCreatedOut,
    status=201,
)
async def create_token(
    request: web.Request, principal: Principal, body: TokenCreateIn
) -> TokenCreatedOut:
    secret, token = await request.app[SERVICES].tokens.create(
        principal, body.name, body.expires_in_days
    )
    return TokenCreatedOut(token=secret, info=TokenOut.of(token))


@routes.get(
    "/api/v1/tokens", summary="Your API tokens (never their secrets).", response=TokenListOut
)
async def list_tokens(request: web.Request, principal: Principal) -> TokenListOut:
    tokens = await request.app[SERVICES].tokens.list(principal)
    return TokenListOut(tokens=[TokenOut.of(t) for t in tokens])


@routes.delete("/api/v1/tokens/{token_id}", summary="Revoke an API token.", params=TokenPath)
async def revoke_token(request: web.Request, principal: Principal, params: TokenPath) -> None:
    await request.app[SERVICES].tokens.revoke(principal, params.token_id)
