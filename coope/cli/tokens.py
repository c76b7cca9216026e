"""coope token create|list|revoke: API tokens for bots and scripts."""

from __future__ import annotations

from typing import Annotated

import typer

from coope.cli import output, runtime
from coope.cli.runtime import JsonOpt, ServerOpt, TokenOpt

app = typer.Typer(help="API tokens for bots and scripts.", no_args_is_help=True)


def _when(value: object) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"  # type: ignore[attr-defined]


@app.command()
def create(
    name: Annotated[str, typer.Argument(help="What the token is for, e.g. 'notes-bot'.")],
    expires_days: Annotated[
        int | None, typer.Option(min=1, max=3650, help="Expire after this many days.")
    ] = None,
    server: ServerOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:
    """Create a token. Its secret is shown once: store it now."""

    async def body() -> None:
        async with runtime.client(server, token) as c:
            created = await c.tokens.create(name, expires_days)
        if json:
            output.emit_json(created)
            return
        output.success(f"token {created.info.id} ({created.info.name}) created")
        output.info(output.escape(created.token))
        output.warning("this is the only time the token is shown")

    runtime.run(body)


@app.command("list")
def list_(server: ServerOpt = None, token: TokenOpt = None, json: JsonOpt = False) -> None:
    """List your tokens (never their secrets)."""

    async def body() -> None:
        async with runtime.client(server, token) as c:
            tokens = await c.tokens.list()
        if json:
            output.emit_json(tokens)
            return
        if not tokens:
            output.info("no API tokens")
            return
        output.table(
            ["id", "name", "prefix", "created", "expires", "last used"],
            [
                [
                    str(t.id),
                    t.name,
                    t.prefix + "…",
                    _when(t.created_at),
                    _when(t.expires_at),
                    _when(t.last_used_at),
                ]
                for t in tokens
            ],
        )

    runtime.run(body)


@app.command()
def revoke(
    token_id: Annotated[int, typer.Argument(help="The token's id, from `coope token list`.")],
    server: ServerOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:
    """Revoke a token: it stops working at once."""

    async def body() -> None:
        async with runtime.client(server, token) as c:
            await c.tokens.revoke(token_id)
        if json:
            output.emit_json({"revoked": token_id})
        else:
            output.success(f"token {token_id} revoked")

    runtime.run(body)
