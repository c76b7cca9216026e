"""coope chat ...: send, read and follow rooms from the shell.

Rooms are named `@alice` (your direct room with a friend), `#team` (a group room you are in, by
name) or by their numeric id (the client resolves the names). Friends are added to a group room
directly; anyone else is invited and joins with `coope chat accept`.

A message is named by its room and its number in that room (`coope chat edit '#team' 7 ...`):
the number `tail`, `history` and `search` show, and the one `history --after/--before` take.
"""

from __future__ import annotations

import contextlib
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from coope.cli import output, runtime
from coope.cli.args import ExistOkOpt, RoomArg
from coope.client.names import room_label
from coope.core.errors import DaemonUnreachable, NotFound, Unavailable

if TYPE_CHECKING:
    from coope.client import CoopeClient
    from coope.core.social_schemas import MessageOut, RoomInviteOut, RoomOut

app = typer.Typer(help="Chat: direct and group rooms.", no_args_is_help=True)
room_app = typer.Typer(help="Create and manage group rooms.", no_args_is_help=True)
app.add_typer(room_app, name="room")

MessageArg = Annotated[
    int,
    typer.Argument(
        metavar="N", help="The message's number in the room, as tail, history and search show it."
    ),
]
InviteArg = Annotated[
    str, typer.Argument(metavar="ROOM", help="The room's id, or #name, as `chat invites` shows.")
]


def render_message(m: MessageOut, kind: str = "created") -> str:
    """One line: time, the message's number in its room, author, text, reactions."""
    when = m.created_at.astimezone().strftime("%H:%M")
    head = f"[dim]{when} {m.seq:>3}[/dim] [bold]{output.escape(m.author)}[/bold]"
    if m.deleted or kind == "deleted":
        return f"{head} [dim italic](deleted)[/dim italic]"
    reply = f"[dim]↪ {m.reply_to_seq}[/dim] " if m.reply_to_seq is not None else ""
    edited = " [dim](edited)[/dim]" if m.edited_at else ""
    reactions = "  ".join(f"{output.escape(e)} {len(who)}" for e, who in m.reactions.items())
    line = f"{head}: {reply}{output.escape(m.body)}{edited}"
    return line + (f"  [dim]{reactions}[/dim]" if reactions else "")


def _reply_to_gone(value: int | None) -> int | None:
    # `--reply-to` took a message id; numbers are per room now, and an old script must not
    # answer some other message without a word.
    if value is not None:
        raise typer.BadParameter(
            "--reply-to (a message id) is gone: use --reply N, N being the message's number in"
            " the room as tail and history show it"
        )
    return value


@app.command()
@runtime.command
async def send(
    client: CoopeClient,
    json: bool,
    room: RoomArg,
    text: Annotated[
        str | None, typer.Argument(help="The message; '-' or nothing reads stdin.")
    ] = None,
    reply: Annotated[
        int | None,
        typer.Option(metavar="N", help="Answer message N of the room (the number tail shows)."),
    ] = None,
    reply_to: Annotated[int | None, typer.Option(hidden=True, callback=_reply_to_gone)] = None,
    client_id: Annotated[
        str | None, typer.Option(help="Your id for the message: a retry with it stores it once.")
    ] = None,
) -> None:
    """Send a message (to a friend with @user: their direct room is made with the first one)."""
    body = output.text_or_stdin(text)
    if reply is None:
        message = await client.chat.send_to(room, body, client_id=client_id)
    else:
        answered = await _numbered(client, room, reply)
        message = await client.chat.send(
            answered.room_id, body, client_id=client_id, reply_to=answered.id
        )
    output.done(json, message, f"sent message {message.seq} to {room.strip()}")


@app.command()
@runtime.command
async def tail(
    client: CoopeClient,
    json: bool,
    room: RoomArg,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=500)] = 20,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing live.")] = False,
) -> None:
    """The latest messages of a room, and with --follow everything new until Ctrl-C.

    Showing a room marks it read. With --json, --follow prints one JSON object per line."""
    target = await client.chat.resolve(room)
    page = await client.chat.history(target.id, limit=limit)
    if page.messages:
        await client.chat.mark_read(target.id, page.messages[-1].seq)
    if json and not follow:
        output.emit_json(page)
        return
    for m in page.messages:
        _show(m, "created", json)
    if follow:
        # People see a lost connection come and go; scripts (--json) get only the messages.
        if not json:
            client.live.on_state(_ConnectionNotice())
        async for kind, m in client.follow_room(target.id, after=target.last_seq):
            _show(m, kind, json)
            if kind == "created":
                await _mark_read_if_reachable(client, target.id, m.seq)


async def _mark_read_if_reachable(client: CoopeClient, room_id: int, seq: int) -> None:
    """The read marker follows what was shown, when the daemon can be told: while it is away
    the follow goes on (and catches up when it is back), and the next message marks again."""
    with contextlib.suppress(DaemonUnreachable, Unavailable):
        await client.chat.mark_read(room_id, seq)


class _ConnectionNotice:
    """A lost connection and its return, on stderr (the messages stay alone on stdout)."""

    def __init__(self) -> None:
        self._lost = False

    def __call__(self, state: str) -> None:
        if state == "reconnecting" and not self._lost:
            self._lost = True
            output.warning("lost the daemon: reconnecting (no message will be missed)")
        elif state == "connected" and self._lost:
            self._lost = False
            output.note("reconnected")


def _show(message: MessageOut, kind: str, json: bool) -> None:
    if json:
        import json as json_module

        line = {"change": kind, "message": message.model_dump(mode="json")}
        sys.stdout.write(json_module.dumps(line) + "\n")
        sys.stdout.flush()
    else:
        output.info(render_message(message, kind))


@app.command()
@runtime.command
async def history(
    client: CoopeClient,
    json: bool,
    room: RoomArg,
    before: Annotated[
        int | None, typer.Option(metavar="N", help="Only messages numbered below N.")
    ] = None,
    after: Annotated[
        int | None, typer.Option(metavar="N", help="Only messages numbered above N.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=500)] = 50,
) -> None:
    """Page through a room's history (does not mark anything read)."""
    target = await client.chat.resolve(room)
    page = await client.chat.history(target.id, before=before, after=after, limit=limit)
    if json:
        output.emit_json(page)
        return
    for m in page.messages:
        output.info(render_message(m))
    if page.has_more and page.messages:
        edge = page.messages[-1].seq if after is not None else page.messages[0].seq
        flag = "--after" if after is not None else "--before"
        output.info(f"[dim]more: coope chat history {output.escape(room)} {flag} {edge}[/dim]")


@app.command()
@runtime.command
async def rooms(client: CoopeClient, json: bool) -> None:
    """Your rooms with unread counts, most recently active first."""
    found = await client.chat.rooms()
    output.listing(
        json,
        found,
        ["id", "room", "members", "unread"],
        ([str(r.id), room_label(r), str(len(r.members)), str(r.unread or "")] for r in found),
        empty="no rooms yet: `coope chat send @friend ...` or `coope chat room create`",
    )


async def _numbered(client: CoopeClient, room: str, number: int) -> MessageOut:
    """Message `number` of the room a person names."""
    target = await client.chat.resolve(room)
    try:
        return await client.chat.message_at(target.id, number)
    except NotFound:
        raise NotFound(f"{room_label(target)} has no message {number}") from None


def _text_given(value: str | None) -> str | None:
    # Never optional: `chat edit 12 7` once meant "message 12 now says 7", and must not quietly
    # become message 7 of room 12 waiting for stdin.
    if value is None:
        raise typer.BadParameter(
            "give the new text, or '-' to read it from stdin: `chat edit ROOM N TEXT`, N being"
            " the message's number in the room (no longer its id)",
            param_hint="TEXT",
        )
    return value


@app.command()
@runtime.command
async def edit(
    client: CoopeClient,
    json: bool,
    room: RoomArg,
    number: MessageArg,
    text: Annotated[
        str | None,
        typer.Argument(help="The new text; '-' reads stdin.", callback=_text_given),
    ] = None,
) -> None:
    """Edit one of your messages."""
    body = output.text_or_stdin(text)
    message = await client.chat.edit((await _numbered(client, room, number)).id, body)
    output.done(json, message, f"message {message.seq} edited")


@app.command()
@runtime.command
async def delete(client: CoopeClient, json: bool, room: RoomArg, number: MessageArg) -> None:
    """Delete one of your messages (others see that something was deleted)."""
    message = await client.chat.delete((await _numbered(client, room, number)).id)
    output.done(json, message, f"message {message.seq} deleted")


@app.command()
@runtime.command
async def react(
    client: CoopeClient,
    json: bool,
    room: RoomArg,
    number: MessageArg,
    emoji: Annotated[str, typer.Argument(help="An emoji such as 👍, or a short code.")],
    remove: Annotated[bool, typer.Option("--remove", help="Take the reaction back.")] = False,
) -> None:
    """React to a message."""
    target = await _numbered(client, room, number)
    message = await client.chat.react(target.id, emoji, remove=remove)
    what = "removed" if remove else "added"
    output.done(json, message, f"{what} {emoji} on message {message.seq}")


@app.command()
@runtime.command
async def search(
    client: CoopeClient,
    json: bool,
    query: Annotated[str, typer.Argument(help="Words to find (all of them).")],
    room: Annotated[str | None, typer.Option(help="Only this room: @user, #room or id.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=100)] = 20,
) -> None:
    """Search the messages of your rooms."""
    room_id = (await client.chat.resolve(room)).id if room else None
    found = await client.chat.search(query, room_id=room_id, limit=limit)
    if json:
        output.emit_json(found)
    elif not found:
        output.info("nothing found")
    else:
        labels = {r.id: room_label(r) for r in await client.chat.rooms()}
        for m in found:
            label = labels.get(m.room_id, f"room {m.room_id}")
            output.info(f"[dim]{output.escape(label)}[/dim] " + render_message(m))


def _show_room(room: RoomOut, json: bool, what: str) -> None:
    output.done(json, room, f"{room_label(room)} (room {room.id}) {what}")
    if room.invited and not json:
        names = ", ".join(output.escape(n) for n in room.invited)
        output.info(f"invited, joining once they accept: {names}")


@room_app.command("create")
@runtime.command
async def room_create(
    client: CoopeClient,
    json: bool,
    name: Annotated[str, typer.Argument(help="The room's name, e.g. team.")],
    member: Annotated[
        list[str] | None,
        typer.Option("--member", "-m", help="Add this friend, or invite anyone else (repeatable)."),
    ] = None,
    exist_ok: ExistOkOpt = False,
) -> None:
    """Create a group room; you administer it.

    Group room names are unique on the daemon, whatever the case (#Team and #team are one
    name), so #name always means one room. A taken name is refused (exit 6): anyone signed in
    can learn that a name is taken."""
    room = await client.chat.create_room(
        name, [m.lstrip("@") for m in member or []], exist_ok=exist_ok
    )
    what = f"created with {_members(len(room.members))}" if room.created else "exists already"
    _show_room(room, json, what)


@room_app.command("add")
@runtime.command
async def room_add(client: CoopeClient, json: bool, room: RoomArg, username: str) -> None:
    """Add a friend, or invite anyone else (the room's admin only)."""
    name = username.strip().lstrip("@").lower()
    updated = await client.chat.add_member((await client.chat.resolve(room)).id, name)
    if name in updated.invited and not json:
        output.success(
            f"{name} invited to {room_label(updated)}:"
            " not your friend, so they join once they accept"
        )
    else:
        _show_room(updated, json, f"now has {_members(len(updated.members))}")


@room_app.command("remove")
@runtime.command
async def room_remove(client: CoopeClient, json: bool, room: RoomArg, username: str) -> None:
    """Remove a member or withdraw an invitation (the room's admin only); a removed member stops
    receiving at once."""
    target = await client.chat.resolve(room)
    name = username.lstrip("@")
    await client.chat.remove_member(target.id, name)
    output.done(
        json, {"room_id": target.id, "removed": name}, f"{name} removed from {room_label(target)}"
    )


@room_app.command("rename")
@runtime.command
async def room_rename(client: CoopeClient, json: bool, room: RoomArg, name: str) -> None:
    """Rename a group room (its admin only)."""
    renamed = await client.chat.rename_room((await client.chat.resolve(room)).id, name)
    _show_room(renamed, json, "renamed")


@room_app.command("leave")
@runtime.command
async def room_leave(client: CoopeClient, json: bool, room: RoomArg) -> None:
    """Leave a group room."""
    target = await client.chat.resolve(room)
    await client.chat.leave(target.id)
    output.done(json, {"room_id": target.id, "left": True}, f"you left {room_label(target)}")


@app.command()
@runtime.command
async def invites(client: CoopeClient, json: bool) -> None:
    """Invitations into rooms: to you (accept or decline them), and those you made."""
    found = await client.chat.invites()
    if json:
        output.emit_json(found)
        return
    if not found.incoming and not found.outgoing:
        output.info("no invitations")
        return
    rows = [
        [str(i.room_id), f"#{i.room_name}", "you", i.invited_by.username] for i in found.incoming
    ] + [[str(i.room_id), f"#{i.room_name}", i.user.username, "you"] for i in found.outgoing]
    output.table(["id", "room", "invited", "by"], rows)
    if found.incoming:
        output.info("[dim]coope chat accept ROOM | coope chat decline ROOM[/dim]")


@app.command()
@runtime.command
async def accept(client: CoopeClient, json: bool, room: InviteArg) -> None:
    """Accept an invitation: you join the room and start receiving it."""
    invite = await _invitation(client, room)
    _show_room(await client.chat.accept_invite(invite.room_id), json, "joined")


@app.command()
@runtime.command
async def decline(client: CoopeClient, json: bool, room: InviteArg) -> None:
    """Decline an invitation into a room."""
    invite = await _invitation(client, room)
    await client.chat.decline_invite(invite.room_id)
    output.done(
        json,
        {"room_id": invite.room_id, "declined": True},
        f"declined #{invite.room_name} (room {invite.room_id})",
    )


async def _invitation(client: CoopeClient, room: str) -> RoomInviteOut:
    """The invitation `room` names, or where to look for the ones there are."""
    try:
        return await client.chat.resolve_invite(room)
    except NotFound as exc:
        raise NotFound(f"{exc.message}: see `coope chat invites`") from None


def _members(count: int) -> str:
    return f"{count} member" if count == 1 else f"{count} members"
