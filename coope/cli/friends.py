"""coope friend ... and coope status: friends, blocks and presence."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from coope.cli import output, runtime
from coope.cli.args import UserArg

if TYPE_CHECKING:
    from coope.client import CoopeClient
    from coope.core.social_schemas import PresenceOut

app = typer.Typer(help="Friends, friend requests and blocks.", no_args_is_help=True)


class SetState(StrEnum):
    """The states a person sets; offline is what the daemon sees when they have left."""

    online = "online"
    away = "away"


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


@app.command()
@runtime.command
async def add(client: CoopeClient, json: bool, username: UserArg) -> None:
    """Send a friend request (accepts theirs if they already asked you)."""
    result = await client.friends.request(username)
    name = result.user.username
    messages = {
        "requested": f"friend request sent to {name}",
        "already_requested": f"you already asked {name}; waiting for them",
        "friends": f"{name} had asked you too: you are now friends",
        "already_friends": f"you and {name} are already friends",
    }
    output.done(json, result, messages[result.outcome])


@app.command()
@runtime.command
async def requests(client: CoopeClient, json: bool) -> None:
    """Pending friend requests, to you and from you."""
    pending = await client.friends.requests()
    rows = [
        [direction, r.user.username, r.user.display_name, ago(r.created_at)]
        for direction, found in (("from", pending.incoming), ("to", pending.outgoing))
        for r in found
    ]
    if json:
        output.emit_json(pending)
    elif not rows:
        output.info("no pending friend requests")
    else:
        output.table(["", "user", "name", "when"], rows)


@app.command()
@runtime.command
async def accept(client: CoopeClient, json: bool, username: UserArg) -> None:
    """Accept a friend request."""
    user = await client.friends.accept(username)
    output.done(json, user, f"you and {user.username} are now friends")


@app.command()
@runtime.command
async def decline(client: CoopeClient, json: bool, username: UserArg) -> None:
    """Decline a friend request."""
    user = await client.friends.decline(username)
    output.done(json, user, f"declined {user.username}'s request")


@app.command()
@runtime.command
async def cancel(client: CoopeClient, json: bool, username: UserArg) -> None:
    """Cancel a friend request you sent."""
    user = await client.friends.cancel(username)
    output.done(json, user, f"request to {user.username} cancelled")


@app.command()
@runtime.command
async def remove(client: CoopeClient, json: bool, username: UserArg) -> None:
    """End a friendship."""
    user = await client.friends.remove(username)
    output.done(json, user, f"{user.username} is no longer your friend")


@app.command()
@runtime.command
async def block(client: CoopeClient, json: bool, username: UserArg) -> None:
    """Block a user: no requests, messages or presence between you."""
    user = await client.friends.block(username)
    output.done(json, user, f"{user.username} is blocked")


@app.command()
@runtime.command
async def unblock(client: CoopeClient, json: bool, username: UserArg) -> None:
    """Unblock a user."""
    user = await client.friends.unblock(username)
    output.done(json, user, f"{user.username} is unblocked")


@app.command()
@runtime.command
async def blocked(client: CoopeClient, json: bool) -> None:
    """Users you blocked."""
    users = await client.friends.blocked()
    output.listing(
        json,
        users,
        ["user", "name"],
        ([u.username, u.display_name] for u in users),
        empty="you have blocked no one",
    )


@app.command("list")
@runtime.command
async def list_(client: CoopeClient, json: bool) -> None:
    """Your friends and their presence."""
    friends = await client.friends.list()
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


@runtime.command
async def status(
    client: CoopeClient,
    json: bool,
    state: Annotated[
        SetState | None,
        typer.Argument(metavar="[online|away]", help="Leave out to only show it."),
    ] = None,
    text: Annotated[str | None, typer.Option(help="A status text; '' clears it.")] = None,
) -> None:
    """Show or set your presence as friends see it."""
    if state is None and text is None:
        presence = await client.presence.get()
    else:
        presence = await client.presence.set(state and state.value, text)  # type: ignore[arg-type]
    if json:
        output.emit_json(presence)
    else:
        output.info(f"{output.escape(presence.username)}: {presence_text(presence)}")
