"""coope chat ...: send, read and follow rooms from the shell.

Rooms are named `@alice` (your direct room with a friend), `#team` (a group room you are in, by
name) or by their numeric id. Friends are added to a group room directly; anyone else is invited
and joins with `coope chat accept`.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from coope.cli import output, runtime
from coope.cli.runtime import JsonOpt, ServerOpt, TokenOpt
from coope.core.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from coope.client import CoopeClient
    from coope.core.social_schemas import MessageOut, RoomInviteOut, RoomOut

app = typer.Typer(help="Chat: direct and group rooms.", no_args_is_help=True)
room_app = typer.Typer(help="Create and manage group rooms.", no_args_is_help=True)
app.add_typer(room_app, name="room")

RoomArg = Annotated[str, typer.Argument(metavar="ROOM", help="@user, #room or a room id.")]
MessageIdArg = Annotated[int, typer.Argument(metavar="MESSAGE_ID", help="The #id shown by tail.")]


async def resolve_room(client: CoopeClient, target: str) -> RoomOut:
    """The room a person means by `@user`, `#name` or an id."""
    target = target.strip()
    if target.startswith("@"):
        return await client.chat.direct_room(target[1:])
    if target.lstrip("#").isdigit():
        return await client.chat.room(int(target.lstrip("#")))
    if not target.startswith("#"):
        raise InvalidInput(f"name a room as @user, #room or its id, not {target!r}")
    name = target[1:].strip().lower()
    matches = [
        r for r in await client.chat.rooms() if r.kind.value == "group" and r.name.lower() == name
    ]
    if not matches:
        raise NotFound(f"you are in no room called #{name}")
    if len(matches) > 1:
        ids = ", ".join(str(r.id) for r in matches)
        raise InvalidInput(f"#{name} could be rooms {ids}: use the id")
    return matches[0]


def room_label(room: RoomOut) -> str:
    return f"@{room.name}" if room.kind.value == "dm" else f"#{room.name}"


def render_message(m: MessageOut, kind: str = "created") -> str:
    when = m.created_at.astimezone().strftime("%H:%M")
    head = f"[dim]{when} #{m.id}[/dim] [bold]{output.escape(m.author)}[/bold]"
    if m.deleted or kind == "deleted":
        return f"{head} [dim italic](deleted)[/dim italic]"
    reply = f"[dim]↪ #{m.reply_to}[/dim] " if m.reply_to else ""
    edited = " [dim](edited)[/dim]" if m.edited_at else ""
    reactions = "  ".join(f"{output.escape(e)} {len(who)}" for e, who in m.reactions.items())
    line = f"{head}: {reply}{output.escape(m.body)}{edited}"
    return line + (f"  [dim]{reactions}[/dim]" if reactions else "")


def _read_body(text: str | None) -> str:
    if text is None or text == "-":
        return sys.stdin.read().rstrip("\n")
    return text


@app.command()
def send(
    room: RoomArg,
    text: Annotated[
        str | None, typer.Argument(help="The message; '-' or nothing reads stdin.")
    ] = None,
    reply_to: Annotated[int | None, typer.Option(help="Answer this message id.")] = None,
    client_id: Annotated[
        str | None, typer.Option(help="Your id for the message: a retry with it stores it once.")
    ] = None,
    server: ServerOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:
    """Send a message (to a friend with @user: their direct room is made with the first one)."""

    async def body() -> None:
        message_text = _read_body(text)
        async with runtime.client(server, token) as c:
            if room.strip().startswith("@"):
                message = await c.chat.send_direct(
                    room.strip()[1:], message_text, client_id=client_id, reply_to=reply_to
                )
            else:
                target = await resolve_room(c, room)
                message = await c.chat.send(
                    target.id, message_text, client_id=client_id, reply_to=reply_to
                )
        if json:
            output.emit_json(message)
        else:
            output.success(f"sent #{message.id}")

    runtime.run(body)


@app.command()
def tail(
    room: RoomArg,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=500)] = 20,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing live.")] = False,
    server: ServerOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:
    """The latest messages of a room, and with --follow everything new until Ctrl-C.

    Showing a room marks it read. With --json, --follow prints one JSON object per line."""

    async def body() -> None:
        async with runtime.client(server, token) as c:
            target = await resolve_room(c, room)
            page = await c.chat.history(target.id, limit=limit)
            if page.messages:
                await c.chat.mark_read(target.id, page.messages[-1].seq)
            if json and not follow:
                output.emit_json(page)
                return
            for m in page.messages:
                _show(m, "created", json)
            if follow:
                async for kind, m in c.follow_room(target.id, after=target.last_seq):
                    _show(m, kind, json)
                    if kind == "created":
                        await c.chat.mark_read(target.id, m.seq)

    runtime.run(body)


def _show(message: MessageOut, kind: str, json: bool) -> None:
    if json:
        import json as json_module

        line = {"change": kind, "message": message.model_dump(mode="json")}
        sys.stdout.write(json_module.dumps(line) + "\n")
        sys.stdout.flush()
    else:
        output.info(render_message(message, kind))


@app.command()
def history(
    room: RoomArg,
    before: Annotated[int | None, typer.Option(help="Only messages before this seq.")] = None,
    after: Annotated[int | None, typer.Option(help="Only messages after this seq.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=500)] = 50,
    server: ServerOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:
    """Page through a room's history (does not mark anything read)."""

    async def body() -> None:
        async with runtime.client(server, token) as c:
            target = await resolve_room(c, room)
            page = await c.chat.history(target.id, before=before, after=after, limit=limit)
        if json:
            output.emit_json(page)
            return
        for m in page.messages:
            output.info(render_message(m))
        if page.has_more and page.messages:
            edge = page.messages[-1].seq if after is not None else page.messages[0].seq
            flag = "--after" if after is not None else "--before"
            output.info(f"[dim]more: coope chat history {output.escape(room)} {flag} {edge}[/dim]")

    runtime.run(body)


@app.command()
def rooms(server: ServerOpt = None, token: TokenOpt = None, json: JsonOpt = False) -> None:
    """Your rooms with unread counts, most recently active first."""

    async def body() -> None:
        async with runtime.client(server, token) as c:
            found = await c.chat.rooms()
        if json:
            output.emit_json(found)
            return
        if not found:
            output.info("no rooms yet: `coope chat send @friend ...` or `coope chat room create`")
            return
        output.table(
            ["id", "room", "members", "unread"],
            [[str(r.id), room_label(r), str(len(r.members)), str(r.unread or "")] for r in found],
        )

    runtime.run(body)


@app.command()
def edit(
    message_id: MessageIdArg,
    text: Annotated[
        str | None, typer.Argument(help="The new text; '-' or nothing reads stdin.")
    ] = None,
    server: ServerOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:
    """Edit one of your messages."""

    async def body() -> None:
        new_text = _read_body(text)
        async with runtime.client(server, token) as c:
            message = await c.chat.edit(message_id, new_text)
        if json:
            output.emit_json(message)
        else:
            output.success(f"#{message.id} edited")

    runtime.run(body)


@app.command()
def delete(
    message_id: MessageIdArg,
    server: ServerOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:
    """Delete one of your messages (others see that something was deleted)."""

    async def body() -> None:
        async with runtime.client(server, token) as c:
            message = await c.chat.delete(message_id)
        if json:
            output.emit_json(message)
        else:
            output.success(f"#{message.id} deleted")

    runtime.run(body)


@app.command()
def react(
    message_id: MessageIdArg,
    emoji: Annotated[str, typer.Argument(help="An emoji such as 👍, or a short code.")],
    remove: Annotated[bool, typer.Option("--remove", help="Take the reaction back.")] = False,
    server: ServerOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:
    """React to a message."""

    async def body() -> None:
        async with runtime.client(server, token) as c:
            message = await c.chat.react(message_id, emoji, remove=remove)
        if json:
            output.emit_json(message)
        else:
            output.success(f"{'removed' if remove else 'added'} {emoji} on #{message.id}")

    runtime.run(body)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="Words to find (all of them).")],
    room: Annotated[str | None, typer.Option(help="Only this room: @user, #room or id.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=100)] = 20,
    server: ServerOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:
    """Search the messages of your rooms."""

    async def body() -> None:
        async with runtime.client(server, token) as c:
            room_id = (await resolve_room(c, room)).id if room else None
            found = await c.chat.search(query, room_id=room_id, limit=limit)
        if json:
            output.emit_json(found)
        elif not found:
            output.info("nothing found")
        else:
            for m in found:
                output.info(f"[dim]room {m.room_id}[/dim] " + render_message(m))

    runtime.run(body)


def _show_room(room: RoomOut, json: bool, what: str) -> None:
    if json:
        output.emit_json(room)
        return
    output.success(f"{room_label(room)} (room {room.id}) {what}")
    if room.invited:
        names = ", ".join(output.escape(n) for n in room.invited)
        output.info(f"invited, joining once they accept: {names}")


@room_app.command("create")
def room_create(
    name: Annotated[str, typer.Argument(help="The room's name, e.g. team.")],
    member: Annotated[
        list[str] | None,
        typer.Option("--member", "-m", help="Add this friend, or invite anyone else (repeatable)."),
    ] = None,
    server: ServerOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:
    """Create a group room; you administer it."""

    async def body() -> None:
        async with runtime.client(server, token) as c:
            room = await c.chat.create_room(name, [m.lstrip("@") for m in member or []])
        _show_room(room, json, f"created with {_members(len(room.members))}")

    runtime.run(body)


@room_app.command("add")
def room_add(
    room: RoomArg,
    username: str,
    server: ServerOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:
    """Add a friend, or invite anyone else (the room's admin only)."""

    async def body() -> None:
        name = username.strip().lstrip("@").lower()
        async with runtime.client(server, token) as c:
            updated = await c.chat.add_member((await resolve_room(c, room)).id, name)
        if json:
            output.emit_json(updated)
        elif name in updated.invited:
            output.success(
                f"{name} invited to {room_label(updated)}:"
                " not your friend, so they join once they accept"
            )
        else:
            _show_room(updated, json, f"now has {_members(len(updated.members))}")

    runtime.run(body)


@room_app.command("remove")
def room_remove(
    room: RoomArg,
    username: str,
    server: ServerOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:
    """Remove a member or withdraw an invitation (the room's admin only); a removed member stops
    receiving at once."""

    async def body() -> None:
        async with runtime.client(server, token) as c:
            target = await resolve_room(c, room)
            await c.chat.remove_member(target.id, username.lstrip("@"))
        if json:
            output.emit_json({"room_id": target.id, "removed": username.lstrip("@")})
        else:
            output.success(f"{username.lstrip('@')} removed from {room_label(target)}")

    runtime.run(body)


@room_app.command("rename")
def room_rename(
    room: RoomArg,
    name: str,
    server: ServerOpt = None,
    token: TokenOpt = None,
    json: JsonOpt = False,
) -> None:
    """Rename a group room (its admin only)."""

    async def body() -> None:
        async with runtime.client(server, token) as c:
            renamed = await c.chat.rename_room((await resolve_room(c, room)).id, name)
        _show_room(renamed, json, "renamed")

    runtime.run(body)


@room_app.command("leave")
def room_leave(
    room: RoomArg, server: ServerOpt = None, token: TokenOpt = None, json: JsonOpt = False
) -> None:
    """Leave a group room."""

    async def body() -> None:
        async with runtime.client(server, token) as c:
            target = await resolve_room(c, room)
            await c.chat.leave(target.id)
        if json:
            output.emit_json({"room_id": target.id, "left": True})
        else:
            output.success(f"you left {room_label(target)}")

    runtime.run(body)


InviteArg = Annotated[
    str, typer.Argument(metavar="ROOM", help="The room's id, or #name, as `chat invites` shows.")
]


async def _resolve_invite(client: CoopeClient, target: str) -> RoomInviteOut:
    """The invitation to you into the room a person names by id or `#name`."""
    incoming = (await client.chat.invites()).incoming
    target = target.strip()
    if target.lstrip("#").isdigit():
        matches = [i for i in incoming if i.room_id == int(target.lstrip("#"))]
    else:
        name = target.removeprefix("#").strip().lower()
        matches = [i for i in incoming if i.room_name.lower() == name]
    if not matches:
        raise NotFound(f"you have no invitation to {target}: see `coope chat invites`")
    if len(matches) > 1:
        ids = ", ".join(str(i.room_id) for i in matches)
        raise InvalidInput(f"{target} could be rooms {ids}: use the id")
    return matches[0]


@app.command()
def invites(server: ServerOpt = None, token: TokenOpt = None, json: JsonOpt = False) -> None:
    """Invitations into rooms: to you (accept or decline them), and those you made."""

    async def body() -> None:
        async with runtime.client(server, token) as c:
            found = await c.chat.invites()
        if json:
            output.emit_json(found)
            return
        if not found.incoming and not found.outgoing:
            output.info("no invitations")
            return
        rows = [
            [str(i.room_id), f"#{i.room_name}", "you", i.invited_by.username]
            for i in found.incoming
        ] + [[str(i.room_id), f"#{i.room_name}", i.user.username, "you"] for i in found.outgoing]
        output.table(["id", "room", "invited", "by"], rows)
        if found.incoming:
            output.info("[dim]coope chat accept ROOM | coope chat decline ROOM[/dim]")

    runtime.run(body)


@app.command()
def accept(
    room: InviteArg, server: ServerOpt = None, token: TokenOpt = None, json: JsonOpt = False
) -> None:
    """Accept an invitation: you join the room and start receiving it."""

    async def body() -> None:
        async with runtime.client(server, token) as c:
            invite = await _resolve_invite(c, room)
            joined = await c.chat.accept_invite(invite.room_id)
        _show_room(joined, json, "joined")

    runtime.run(body)


@app.command()
def decline(
    room: InviteArg, server: ServerOpt = None, token: TokenOpt = None, json: JsonOpt = False
) -> None:
    """Decline an invitation into a room."""

    async def body() -> None:
        async with runtime.client(server, token) as c:
            invite = await _resolve_invite(c, room)
            await c.chat.decline_invite(invite.room_id)
        if json:
            output.emit_json({"room_id": invite.room_id, "declined": True})
        else:
            output.success(f"declined #{invite.room_name} (room {invite.room_id})")

    runtime.run(body)


def _members(count: int) -> str:
    return f"{count} member" if count == 1 else f"{count} members"
