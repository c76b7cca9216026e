"""coope chat ...: send, read and follow rooms from the shell.

Rooms are named `@alice` (your direct room with a friend), `#team` (a group room you are in, by
name) or by their numeric id (the client resolves the names). Friends are added to a group room
directly; anyone else is invited and joins with `coope chat accept`.

A message is named by its room and its number in that room (`coope chat edit '#team' 7 ...`):
the number `tail`, `history` and `search` show, and the one `history --after/--before` take.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from coope.cli import output, runtime
from coope.cli.args import ExistOkOpt, RoomArg
from coope.cli.chat_render import Update, render_message
from coope.client.names import room_label
from coope.core.errors import NotFound

if TYPE_CHECKING:
    from coope.client import CoopeClient
    from coope.core.social_schemas import MessageOut, RoomInviteOut, RoomOut

# Messages fetched before following, to tell what changes in them (beyond those shown).
FOLLOW_SEED = 100

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
    """Send a message (to a friend with @user: their direct room is made with the first one).

    Without TEXT on a terminal, the message is written in $VISUAL / $EDITOR, or typed at a
    prompt when neither is set; without a terminal, it is read from stdin."""
    answered = await _numbered(client, room, reply) if reply is not None else None
    composing = text is None and sys.stdin.isatty()
    if composing and answered is None:
        await _addressee(client, room)  # a mistyped name fails before the message is written
    # Off the loop: the live connection goes on while the person writes.
    if composing:
        from coope.cli.chat_compose import composed

        body = await asyncio.to_thread(composed, room)
    else:
        body = await asyncio.to_thread(output.text_or_stdin, text)
    try:
        if answered is None:
            message = await client.chat.send_to(room, body, client_id=client_id)
        else:
            message = await client.chat.send(
                answered.room_id, body, client_id=client_id, reply_to=answered.id
            )
    except BaseException:
        if composing:  # what was written is not lost with the message
            output.warning("not sent; what you wrote:")
            sys.stderr.write(body + "\n")
            sys.stderr.flush()
        raise
    output.done(json, message, f"sent message {message.seq} to {room.strip()}")


async def _addressee(client: CoopeClient, room: str) -> None:
    """Check that a message can go where `room` says: a room of yours, or a friend (whose
    direct room the first message makes).

    Raises:
        NotFound: no such room of yours, or `@user` is not your friend.
    """
    if room.strip().startswith("@"):
        await client.friends.get(room)
    else:
        await client.chat.resolve(room)


@app.command()
@runtime.command
async def tail(
    client: CoopeClient,
    json: bool,
    room: Annotated[
        str | None,
        typer.Argument(metavar="ROOM", help="@user, #room or a room id (optional with --all)."),
    ] = None,
    limit: Annotated[
        int,
        typer.Option(
            "--limit", "-n", min=0, max=500, help="How many of the latest messages to show first."
        ),
    ] = 20,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing live.")] = False,
    all_rooms: Annotated[
        bool,
        typer.Option(
            "--all",
            help="Follow every room you are in (and those you join), each line marked with its"
            " room; ROOM's history comes first. Implies --follow.",
        ),
    ] = False,
) -> None:
    """The latest messages of a room, and with --follow everything new until Ctrl-C.

    Live, an edit, a reaction or a deletion is one update line ("12 ✎ ann edited: ...",
    "12 + 👍 by bob", "12 ✗ deleted"), not the message again. Showing a room marks it read.
    With --json, --follow prints one JSON object per line and change, its "kind" one of
    created, edited, deleted, reaction_added, reaction_removed, updated (a message first seen
    changed)."""
    # Loaded here: the wire schemas cost every other command ~0.1 s at start.
    from coope.cli.chat_tail import ConnectionNotice, Printer, Seen, follow_all, follow_room
    from coope.core.social_schemas import MessagePageOut

    if room is None and not all_rooms:
        raise typer.BadParameter("name a ROOM, or follow all your rooms with --all")
    follow = follow or all_rooms
    target = await client.chat.resolve(room) if room is not None else None
    seen = Seen()
    printer = Printer(json, await _me(client) if not json else None)
    if target is not None:
        # More than is shown when following: a change to those is told as what changed.
        fetched = await client.chat.history(
            target.id, limit=max(limit, FOLLOW_SEED if follow else 1)
        )
        shown = fetched.messages[-limit:] if limit else []
        for m in fetched.messages:
            seen.remember(m)
        if shown:
            await client.chat.mark_read(target.id, shown[-1].seq)
        if json and not follow:
            more = fetched.has_more or len(shown) < len(fetched.messages)
            output.emit_json(MessagePageOut(messages=shown, has_more=more))
            return
        for m in shown:
            printer.show(Update("created", m))
    if not follow:
        return
    if not json:  # people see a lost connection come and go; scripts get only the changes
        client.live.on_state(ConnectionNotice())
    if all_rooms:
        await follow_all(client, seen, printer, target)
    elif target is not None:
        await follow_room(client, seen, printer, target.id, target.last_seq)


async def _me(client: CoopeClient) -> str | None:
    """Who is reading, for their mentions to stand out: asked only of a terminal."""
    from rich.console import Console

    if not Console().is_terminal:
        return None
    return (await client.auth.whoami()).user.username


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
    me = await _me(client)
    for m in page.messages:
        output.info(render_message(m, me))
    if page.has_more and page.messages:
        edge = page.messages[-1].seq if after is not None else page.messages[0].seq
        flag = "--after" if after is not None else "--before"
        output.note(f"more: coope chat history {room} {flag} {edge}")


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
    emoji: Annotated[
        str, typer.Argument(metavar="EMOJI", help="An emoji such as 👍, or a short code: :tada:.")
    ],
    remove: Annotated[bool, typer.Option("--remove", help="Take the reaction back.")] = False,
) -> None:
    """React to a message with one emoji, or a short code such as :thumbsup: or :tada:.

    Taking back a reaction you did not give fails (exit 5)."""
    from coope.core.emoji import stored_form

    target = await _numbered(client, room, number)
    message = await client.chat.react(target.id, emoji, remove=remove)
    what = "took back" if remove else "added"
    # The client turns a short code into its emoji: said as what was sent.
    output.done(json, message, f"{what} {stored_form(emoji)} on message {message.seq}")


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
        output.note("nothing found")
    else:
        me = await _me(client)
        labels = {r.id: room_label(r) for r in await client.chat.rooms()}
        for m in found:
            label = labels.get(m.room_id, f"room {m.room_id}")
            output.info(f"[dim]{output.escape(label)}[/dim] " + render_message(m, me))


def _show_room(room: RoomOut, json: bool, what: str) -> None:
    output.done(json, room, f"{room_label(room)} (room {room.id}) {what}")
    if room.invited and not json:
        output.note(f"invited, joining once they accept: {', '.join(room.invited)}")


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
        output.note("no invitations")
        return
    rows = [
        [str(i.room_id), f"#{i.room_name}", "you", i.invited_by.username] for i in found.incoming
    ] + [[str(i.room_id), f"#{i.room_name}", i.user.username, "you"] for i in found.outgoing]
    output.table(["id", "room", "invited", "by"], rows)
    if found.incoming:
        output.note("coope chat accept ROOM | coope chat decline ROOM")


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
