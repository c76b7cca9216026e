"""The event loop never blocks: SQLite, password hashing and file access stay off it.

blockbuster raises `BlockingError` when a blocking call (file or socket I/O, sleep, lock waits)
runs on the event loop thread inside the scanned modules.
"""

from __future__ import annotations

from blockbuster import blockbuster_ctx

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
