"""coope token create|list|revoke: API tokens for bots and scripts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from coope.cli import output, runtime

if TYPE_CHECKING:
    from coope.client import CoopeClient

app = typer.Typer(help="API tokens for bots and scripts.", no_args_is_help=True)


@app.command()
@runtime.command
async def create(
    client: CoopeClient,
    json: bool,
    name: Annotated[str, typer.Argument(help="What the token is for, e.g. 'notes-bot'.")],
    expires_days: Annotated[
        int | None, typer.Option(min=1, max=3650, help="Expire after this many days.")
    ] = None,
) -> None:
    """Create a token. Its secret is shown once: store it now."""
    created = await client.tokens.create(name, expires_days)
    output.done(json, created, f"token {created.info.id} ({created.info.name}) created")
    if not json:
        output.info(output.escape(created.token))
        output.warning("this is the only time the token is shown")


@app.command("list")
@runtime.command
async def list_(client: CoopeClient, json: bool) -> None:
    """List your tokens (never their secrets)."""
    tokens = await client.tokens.list()
    when = output.local_time
    output.listing(
        json,
        tokens,
        ["id", "name", "prefix", "created", "expires", "last used"],
        (
            [
                str(t.id),
                t.name,
                t.prefix + "…",
                when(t.created_at),
                when(t.expires_at),
                when(t.last_used_at),
            ]
            for t in tokens
        ),
        empty="no API tokens",
    )


@app.command()
@runtime.command
async def revoke(
    client: CoopeClient,
    json: bool,
    token_id: Annotated[int, typer.Argument(help="The token's id, from `coope token list`.")],
) -> None:
    """Revoke a token: it stops working at once."""
    await client.tokens.revoke(token_id)
    output.done(json, {"revoked": token_id}, f"token {token_id} revoked")
