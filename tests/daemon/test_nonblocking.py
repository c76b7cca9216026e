"""The event loop never blocks: SQLite, password hashing and file access stay off it.

blockbuster raises `BlockingError` when a blocking call (file or socket I/O, sleep, lock waits)
runs on the event loop thread inside the scanned modules.
"""

from __future__ import annotations

from blockbuster import blockbuster_ctx

from tests.daemon.social_helpers import group_room
from tests.helpers import PASSWORD, RunningDaemon


async def test_account_flows_do_not_block_the_loop(daemon: RunningDaemon) -> None:
    with blockbuster_ctx("coope"):
        async with await daemon.user("root") as root, daemon.client() as other:
            await other.auth.signup("bea", PASSWORD)
            await other.auth.logout()
            await other.auth.login("bea", PASSWORD)
            token = (await other.tokens.create("bot")).token
            async with daemon.client(token) as bot, bot.events() as events:
                await bot.auth.whoami()
                await root.admin.users(search="be")
                await root.admin.disable("bea")
                seen = [e.type async for e in _until_closed(events) if e.type != "presence"]
                assert seen == ["user.updated", "auth.revoked"]


async def _until_closed(events):  # type: ignore[no-untyped-def]
    from coope.core.errors import Unauthenticated

    try:
        async for event in events:
            yield event
    except Unauthenticated:
        return


async def test_social_flows_do_not_block_the_loop(daemon: RunningDaemon) -> None:
    with blockbuster_ctx("coope"):
        async with await daemon.user("ann") as ann, await daemon.user("ben") as ben:
            async with ann.events() as events:
                await ann.friends.request("ben")
                await ben.friends.accept("ann")
                sent = await ben.chat.send_direct("ann", "hi there")
                room = await group_room(ann, "team", [ben])
                await ann.chat.send(room.id, "hello team")
                await ann.chat.react(sent.id, "👍")
                await ben.chat.edit(sent.id, "hi again")
                await ann.chat.mark_read(sent.room_id, sent.seq)
                assert [m.id for m in await ann.chat.search("again")] == [sent.id]
                await ben.presence.set("away", "out")
                await events.send({"type": "typing", "room_id": room.id})
                await ben.chat.delete(sent.id)
                assert (await ann.chat.rooms())[0].id == room.id
