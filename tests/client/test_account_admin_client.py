"""The account administration areas of the client: own account on `client.auth`, others' on
`client.admin` (tokens on `client.admin.tokens`), names sent as one path segment."""

from __future__ import annotations

import pytest

from coope.client import CoopeClient
from coope.core.errors import InvalidInput, NotFound, Unauthenticated
from tests.helpers import PASSWORD, RunningDaemon


@pytest.fixture
async def root(daemon: RunningDaemon) -> CoopeClient:
    client = await daemon.user("root")
    return client


async def test_names_that_look_like_paths_stay_one_segment(
    daemon: RunningDaemon, root: CoopeClient
) -> None:
    async with root:
        await root.admin.create_user("bot", PASSWORD)
        # Each would reach another route (or the bot) if it were pasted into the path as is.
        for name in ("bot/tokens", "../users/bot", "bot?x=1", "bot#frag", "deleted:1"):
            with pytest.raises(NotFound, match="no user named"):
                await root.admin.tokens.list(name)
            with pytest.raises(NotFound):
                await root.admin.delete_user(name)
        assert (await root.admin.users(search="bot")).users[0].deleted is False


async def test_the_typed_answers_round_trip(daemon: RunningDaemon, root: CoopeClient) -> None:
    async with root:
        await root.admin.create_user("bot", PASSWORD, display_name="Bot")
        secret = (await root.admin.tokens.create("bot", "ci")).token
        reset = await root.admin.reset_password("bot", "another fine password")
        assert reset.ended.sessions_ended == 0 and reset.user.display_name == "Bot"
        gone = await root.admin.delete_user("bot")
        assert gone.user.deleted and gone.ended.api_tokens_revoked == 1
        assert gone.at >= gone.user.created_at
        async with daemon.client(secret) as bot:
            with pytest.raises(Unauthenticated):
                await bot.auth.whoami()
        with pytest.raises(InvalidInput, match="display_name"):
            await root.auth.set_display_name("")
        me = await root.auth.change_password(PASSWORD, "the root's new password")
        assert me.user.username == "root"
        assert (await root.auth.whoami()).user.username == "root", "this client goes on"
