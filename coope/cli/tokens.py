"""coope token create|list|revoke: API tokens for bots and scripts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import typer

from coope.cli import output, runtime

if TYPE_CHECKING:
    from coope.client import CoopeClient
    from coope.core.schemas import TokenCreatedOut, TokenOut

app = typer.Typer(help="API tokens for bots and scripts.", no_args_is_help=True)

ExpiresOpt = Annotated[
    int | None,
    typer.Option(
        "--expires-days",
        min=1,
        max=3650,
        help="Expire after this many days (default: never).",
    ),
]


def show_created(json: bool, created: TokenCreatedOut, owner: str = "") -> None:
    """The new secret, alone on standard output (`TOK=$(coope token create bot)` captures just
    it), what it is on standard error; with --json the whole record."""
    if json:
        output.emit_json(created)
        return
    output.write_data(created.token + "\n")
    output.success(f"token {created.info.id} ({created.info.name}) created{owner}")
    output.warning("this is the only time the token is shown")


def show_tokens(json: bool, tokens: Sequence[TokenOut]) -> None:
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
async def create(
    client: CoopeClient,
    json: bool,
    name: Annotated[str, typer.Argument(help="What the token is for, e.g. 'notes-bot'.")],
    expires_days: ExpiresOpt = None,
) -> None:
    """Create a token. Its secret is shown once: store it now.

    The secret alone goes to standard output, so `TOK=$(coope token create bot)` captures it;
    the rest is on standard error.
    """
    show_created(json, await client.tokens.create(name, expires_days))


@app.command("list")
@runtime.command
async def list_(client: CoopeClient, json: bool) -> None:
    """List your tokens (never their secrets)."""
    show_tokens(json, await client.tokens.list())


@app.command()
@runtime.command
async def revoke(
    client: CoopeClient,
    json: bool,
    token_id: Annotated[
        int, typer.Argument(metavar="ID", help="The token's id, from `coope token list`.")
    ],
) -> None:
    """Revoke a token: it stops working at once."""
    await client.tokens.revoke(token_id)
    output.done(json, {"revoked": token_id}, f"token {token_id} revoked")
