"""coope friend ... and coope status: friends, blocks and presence."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from coope.cli import output, runtime
from coope.cli.args import UserArg

if TYPE_CHECKING:
    from rich.text import Text

    from coope.client import CoopeClient
    from coope.core.social_schemas import Availability, PresenceOut

app = typer.Typer(help="Friends, friend requests and blocks.", no_args_is_help=True)


class StatusChoice(StrEnum):
    """What `coope status` takes: a status to choose, or `clear`."""

    available = "available"
    away = "away"
    busy = "busy"
    dnd = "dnd"
    clear = "clear"
    online = "online"  # the older word for available, still taken from scripts


def since(when: datetime) -> str:
    """How long ago `when` was, in the words presence uses ("5 min ago")."""
    from coope.core.presence import ago

    return ago(max(0, int((datetime.now(UTC) - when).total_seconds())))


def presence_line(p: PresenceOut) -> Text:
    """A presence as one line of text: "● online — busy: in a review (until 15:00)"."""
    from rich.text import Text

    from coope.core.presence import presence_words

    return Text.assemble(*presence_words(p))


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
        [direction, r.user.username, r.user.display_name, since(r.created_at)]
        for direction, found in (("from", pending.incoming), ("to", pending.outgoing))
        for r in found
    ]
    if json:
        output.emit_json(pending)
    elif not rows:
        output.note("no pending friend requests")
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
    """Your friends and their presence: the status they chose, online or when last active."""
    friends = await client.friends.list()
    if json:
        output.emit_json(friends)
        return
    if not friends:
        output.note("no friends yet: `coope friend add USER`")
        return
    from rich.table import Table
    from rich.text import Text

    from coope.core.models import PresenceState

    table = Table("user", "name", "presence", title_justify="left")
    for f in sorted(
        friends,
        key=lambda f: (
            not f.presence.online,
            f.presence.state is PresenceState.AWAY,
            f.user.username,
        ),
    ):
        table.add_row(
            Text(output.visible(f.user.username)),
            Text(output.visible(f.user.display_name)),
            presence_line(f.presence),
        )
    output.print_renderable(table)


@runtime.command
async def status(
    client: CoopeClient,
    json: bool,
    choice: Annotated[
        StatusChoice | None,
        typer.Argument(
            metavar="[available|away|busy|dnd|clear]",
            help="The status friends see whatever your connection (dnd: do not disturb);"
            " clear: back to available with no text. Leave out to show yours.",
            show_default=False,
        ),
    ] = None,
    text: Annotated[
        str | None, typer.Option(help="A status text, at most 140 characters; '' clears it.")
    ] = None,
    for_: Annotated[
        str | None,
        typer.Option(
            "--for",
            metavar="DURATION",
            help="End status and text after this long: 30m, 1h30m, 2d (at most 30 days).",
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            metavar="TIME",
            help="End status and text at this time: 15:00 (the next one) or 2030-01-31 15:00.",
        ),
    ] = None,
) -> None:
    """Show or choose your status as friends see it.

    A status chosen without --for or --until lasts until you change it; with them, status and
    text end by themselves (--for or --until alone sets an end for the status you have).
    """
    from coope.core.errors import InvalidInput
    from coope.core.presence import parse_duration, parse_until

    if for_ is not None and until is not None:
        raise InvalidInput("give --for or --until, not both")
    if choice is StatusChoice.clear:
        if text is not None or for_ is not None or until is not None:
            raise InvalidInput("status clear takes no --text, --for or --until")
        presence = await client.presence.clear()
    elif choice is None and text is None and for_ is None and until is None:
        presence = await client.presence.get()
    else:
        presence = await client.presence.set(
            None if choice is None else _AVAILABILITY[choice],
            text,
            for_s=None if for_ is None else parse_duration(for_),
            until=None if until is None else parse_until(until, datetime.now().astimezone()),
        )
    if json:
        output.emit_json(presence)
        return
    from rich.text import Text

    line = Text(f"{output.visible(presence.username)}: ")
    output.print_renderable(line.append_text(presence_line(presence)))


_AVAILABILITY: dict[StatusChoice, Availability] = {
    StatusChoice.available: "available",
    StatusChoice.online: "available",
    StatusChoice.away: "away",
    StatusChoice.busy: "busy",
    StatusChoice.dnd: "dnd",
}
