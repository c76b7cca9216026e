"""coope friend ... and coope status: friends, blocks and presence."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from coope.cli import output, runtime
from coope.cli.runtime import JsonOpt, ServerOpt, TokenOpt

if TYPE_CHECKING:
    from coope.core.social_schemas import PresenceOut, UserRef

app = typer.Typer(help="Friends, friend requests and blocks.", no_args_is_help=True)

UserArg = Annotated[str, typer.Argument(metavar="USER", help="A username (with or without @).")]

_STATE_STYLE = {"online": "green", "away": "yellow", "offline": "dim"}


def ago(when: datetime | None) -> str:
    if when is None:
        return "never"
    seconds = int((datetime.now(UTC) - when).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return "just now"


def presence_text(p: PresenceOut) -> str:
    style = _STATE_STYLE.get(p.state.value, "")
    text = f"[{style}]{p.state.value}[/{style}]"
    if p.text:
        text += f" — {output.escape(p.text)}"
    if p.state.value == "offline":
        text += f" (seen {ago(p.last_seen_at)})"
    return text


def _user_action(
    verb: str,
    done: str,
    username: str,
    server: str | None,
    token: str | None,
    json: bool,
) -> None:
    """Run one `client.friends.<verb>(username)` call and report it."""

    async def body() -> None:
        async with runtime.client(server, token) as c:
            user: UserRef = await getattr(c.friends, verb)(username)
        if json:
            output.emit_json(user)
        else:
            output.success(done.format(user=user.username))

    runtime.run(body)


@app.command()
def add(
    username: UserArg, server: ServerOpt = None, token: TokenOpt = None, json: JsonOpt = False
) -> None:
    """Send a friend request (accepts theirs if they already asked you)."""

    async def body() -> None:
        async with runtime.client(server, token) as c:
            result = await c.friends.request(username)
        if json:
            output.emit_json(result)
            return
        name = result.user.username
        output.success(
            {
                "requested": f"friend request sent to {name}",
                "already_requested": f"you already asked {name}; waiting for them",
                "friends": f"{name} had asked you too: you are now friends",
                "already_friends": f"you and {name} are already friends",
            }[result.outcome]
        )

    runtime.run(body)


@app.command()
def requests(server: ServerOpt = None, token: TokenOpt = None, json: JsonOpt = False) -> None:
    """Pending friend requests, to you and from you."""

    async def body() -> None:
        async with runtime.client(server, token) as c:
            pending = await c.friends.requests()
        if json:
            output.emit_json(pending)
            return
        rows = [
            ["from", r.user.username, r.user.display_name, ago(r.created_at)]
            for r in pending.incoming
        ]
        rows += [
            ["to", r.user.username, r.user.display_name, ago(r.created_at)]
            for r in pending.outgoing
        ]
        if not rows:
            output.info("no pending friend requests")
            return
        output.table(["", "user", "name", "when"], rows)

    runtime.run(body)


@app.command()
def accept(
    username: UserArg, server: ServerOpt = None, token: TokenOpt = None, json: JsonOpt = False
) -> None:
    """Accept a friend request."""
    _user_action("accept", "you and {user} are now friends", username, server, token, json)


@app.command()
def decline(
    username: UserArg, server: ServerOpt = None, token: TokenOpt = None, json: JsonOpt = False
) -> None:
    """Decline a friend request."""
    _user_action("decline", "declined {user}'s request", username, server, token, json)


@app.command()
def cancel(
    username: UserArg, server: ServerOpt = None, token: TokenOpt = None, json: JsonOpt = False
) -> None:
    """Cancel a friend request you sent."""
    _user_action("cancel", "request to {user} cancelled", username, server, token, json)


@app.command()
def remove(
    username: UserArg, server: ServerOpt = None, token: TokenOpt = None, json: JsonOpt = False
) -> None:
    """End a friendship."""
    _user_action("remove", "{user} is no longer your friend", username, server, token, json)


@app.command()
def block(
    username: UserArg, server: ServerOpt = None, token: TokenOpt = None, json: JsonOpt = False
) -> None:
    """Block a user: no requests, messages or presence between you."""
    _user_action("block", "{user} is blocked", username, server, token, json)


@app.command()
def unblock(
    username: UserArg, server: ServerOpt = None, token: TokenOpt = None, json: JsonOpt = False
) -> None:
    """Unblock a user."""
    _user_action("unblock", "{user} is unblocked", username, server, token, json)


@app.command()
def blocked(server: ServerOpt = None, token: TokenOpt = None, json: JsonOpt = False) -> None:
    """Users you blocked."""

    async def body() -> None:
        async with runtime.client(server, token) as c:
            users = await c.friends.blocked()
        if json:
            output.emit_json(users)
        elif not users:
            output.info("you have blocked no one")
        else:
            output.table(["user", "name"], [[u.username, u.display_name] for u in users])

    runtime.run(body)


@app.command("list")
def list_(server: ServerOpt = None, token: TokenOpt = None, json: JsonOpt = False) -> None:
    """Your friends and their presence."""

    async def body() -> None:
        async with runtime.client(server, token) as c:
            friends = await c.friends.list()
        if json:
            output.emit_json(friends)
            return
        if not friends:
            output.info("no friends yet: `coope friend add USER`")
            return
        from rich.table import Table

        table = Table("user", "name", "presence", title_justify="left")
        order = {"online": 0, "away": 1, "offline": 2}
        for f in sorted(friends, key=lambda f: (order[f.presence.state.value], f.user.username)):
            table.add_row(
                output.escape(f.user.username),
                output.escape(f.user.display_name),
                presence_text(f.presence),
            )
        output.print_renderable(table)

    runtime.run(body)


def status(
    state: Annotated[
        str | None, typer.Argument(metavar="[online|away]", help="Leave out to only show it.")
    ] = None,
    text: Annotated[str | None, typer.Option(help="A status text; '' clears it.")] = None,
    server: ServerOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:
    """Show or set your presence as friends see it."""
    if state not in (None, "online", "away"):
        raise typer.BadParameter("state must be online or away", param_hint="STATE")

    async def body() -> None:
        async with runtime.client(server, token) as c:
            if state is None and text is None:
                presence = await c.presence.get()
            else:
                presence = await c.presence.set(state, text)  # type: ignore[arg-type]
        if json:
            output.emit_json(presence)
        else:
            output.info(f"{output.escape(presence.username)}: {presence_text(presence)}")

    runtime.run(body)
