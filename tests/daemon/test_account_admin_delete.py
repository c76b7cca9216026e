"""Deleting accounts (what goes, what stays, what refuses) and admins' API tokens for bots."""

from __future__ import annotations

import pytest

from coope.client import CoopeClient
from coope.core.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated
from coope.core.models import Role
from coope.daemon.http.keys import SERVICES
from tests.daemon.account_admin_tools import raw
from tests.helpers import PASSWORD, RunningDaemon, next_event


async def test_deleting_an_account_keeps_its_words_and_frees_its_name(
    daemon: RunningDaemon, admin: CoopeClient, alice: CoopeClient
) -> None:
    async with await daemon.user("bob") as bob:
        token = (await bob.tokens.create("bot")).token
        space = await alice.workspaces.create("Plans")
        await alice.workspaces.set_member(space.id, "bob", "editor")
        room = await bob.chat.create_room("lobby", ["alice"])
        await alice.chat.accept_invite(room.id)
        said = await bob.chat.send(room.id, "hello from bob")
        await alice.friends.request("bob")
        await bob.friends.accept("alice")
        direct = await bob.chat.send_direct("alice", "just us")
        user_id = (await bob.auth.whoami()).user.id
        async with daemon.client(token) as bot, bob.events() as events:
            gone = await admin.admin.delete_user("bob")
            # The connections go at once, and no credential of the account works any more.
            with pytest.raises(Unauthenticated, match="account deleted"):
                async for _ in events:
                    pass
            assert events.close_code == 4401
            for client in (bob, bot):
                with pytest.raises(Unauthenticated, match="deleted"):
                    await client.auth.whoami()
    assert (gone.action, gone.by, gone.former_username) == ("deleted", "root", "bob")
    assert (gone.user.id, gone.user.username) == (user_id, f"deleted:{user_id}")
    assert (gone.user.display_name, gone.user.deleted, gone.user.disabled) == (
        "deleted user",
        True,
        True,
    )
    assert (gone.ended.sessions_ended, gone.ended.api_tokens_revoked) == (1, 1)
    assert (gone.workspaces_left, gone.rooms_left) == ([space.id], [room.id])

    # What it wrote stays, written by the tombstone; it is in no workspace or group room.
    history = (await alice.chat.history(room.id)).messages
    assert [(m.seq, m.author, m.body) for m in history] == [
        (said.seq, f"deleted:{user_id}", "hello from bob")
    ]
    assert [m.username for m in (await alice.chat.room(room.id)).members] == ["alice"]
    assert [m.username for m in await alice.workspaces.members(space.id)] == ["alice"]
    dm = (await alice.chat.history(direct.room_id)).messages
    assert [m.body for m in dm] == ["just us"], "a direct conversation stays"

    # The name is free (a new account, a new id); the old one answers to nothing.
    with pytest.raises(Unauthenticated):
        async with daemon.client() as again:
            await again.auth.login("bob", PASSWORD)
    with pytest.raises(NotFound, match="no user named 'bob'"):
        await admin.admin.delete_user("bob")
    for name in (f"deleted:{user_id}", "bob"):
        with pytest.raises(NotFound):
            await admin.admin.enable(name)
    async with await daemon.user("bob") as new_bob:
        assert (await new_bob.auth.whoami()).user.id > user_id
    listed = {u.username: u for u in (await admin.admin.users()).users}
    assert listed[f"deleted:{user_id}"].deleted and not listed["bob"].deleted


async def test_friends_are_told_and_lose_the_friendship(
    daemon: RunningDaemon, admin: CoopeClient, alice: CoopeClient
) -> None:
    async with await daemon.user("bob") as bob:
        await alice.friends.request("bob")
        await bob.friends.accept("alice")
        async with alice.events() as events:
            gone = await admin.admin.delete_user("bob")
            told = await next_event(events, "friend.removed")
            assert told.data.user.username == "bob"
    assert gone.friendships_ended == 1
    assert await alice.friends.list() == []


async def test_the_only_owner_of_a_workspace_is_not_deleted(
    daemon: RunningDaemon, admin: CoopeClient, alice: CoopeClient
) -> None:
    first = await alice.workspaces.create("Alpha")
    second = await alice.workspaces.create("Beta")
    with pytest.raises(Conflict, match="only owner of Alpha .*, Beta .*transfer or delete") as err:
        await admin.admin.delete_user("alice")
    assert err.value.details["workspaces"] == [
        {"id": first.id, "name": "Alpha"},
        {"id": second.id, "name": "Beta"},
    ]
    assert (await alice.auth.whoami()).user.username == "alice", "nothing was ended"
    async with await daemon.user("bob"):
        await alice.workspaces.set_member(first.id, "bob", "editor")
        await alice.workspaces.transfer(first.id, "bob")
        await alice.workspaces.delete(second.id)
        gone = await admin.admin.delete_user("alice")
    assert gone.workspaces_left == [first.id]


async def test_the_last_admin_is_not_deleted_but_one_of_two_may_go(
    daemon: RunningDaemon, admin: CoopeClient, alice: CoopeClient
) -> None:
    with pytest.raises(Conflict, match="last active admin"):
        await admin.admin.delete_user("root")
    await admin.admin.set_role("alice", Role.ADMIN)
    gone = await admin.admin.delete_user("root")  # yourself, with another admin left
    assert gone.user.role is Role.USER
    with pytest.raises(Unauthenticated):
        await admin.auth.whoami()
    assert (await alice.admin.users(search="root")).total == 0


async def test_only_admins_delete(
    daemon: RunningDaemon, admin: CoopeClient, alice: CoopeClient
) -> None:
    async with await daemon.user("bob") as bob:
        for target in ("bob", "alice", "root", "nobody"):
            with pytest.raises(Forbidden, match="admin role"):
                await alice.admin.delete_user(target)
        assert (await bob.auth.whoami()).user.username == "bob"
    assert (await alice.auth.whoami()).user.username == "alice"
    with pytest.raises(NotFound):
        await admin.admin.delete_user("nobody")
    status, _ = await raw(daemon, "DELETE", "/api/v1/admin/users/alice")
    assert status == 401
    for hostile in ("%00", "a" * 4000, "%E2%80%AE", "..%2F..%2Fetc"):
        status, answer = await raw(daemon, "DELETE", f"/api/v1/admin/users/{hostile}", admin)
        assert status in (404, 422), answer


async def test_an_admin_gives_a_bot_account_its_token(
    daemon: RunningDaemon, admin: CoopeClient, alice: CoopeClient
) -> None:
    await admin.admin.create_user("ci-bot", PASSWORD, display_name="CI")
    created = await admin.admin.tokens.create("ci-bot", "deploys", expires_in_days=30)
    assert created.info.expires_at is not None
    async with daemon.client(created.token) as bot:
        me = await bot.auth.whoami()
        assert (me.user.username, me.auth.value) == ("ci-bot", "api_token")
        assert [t.id for t in await admin.admin.tokens.list("@ci-bot")] == [created.info.id]
        assert [t.id for t in await bot.tokens.list()] == [created.info.id]
        # Another account's path does not reach it.
        with pytest.raises(NotFound, match="alice has no live API token"):
            await admin.admin.tokens.revoke("alice", created.info.id)
        await admin.admin.tokens.revoke("ci-bot", created.info.id)
        with pytest.raises(Unauthenticated, match="revoked"):
            await bot.auth.whoami()
    with pytest.raises(NotFound, match="no live API token"):
        await admin.admin.tokens.revoke("ci-bot", created.info.id)
    assert await admin.admin.tokens.list("ci-bot") == []


async def test_only_admins_handle_others_tokens(
    daemon: RunningDaemon, admin: CoopeClient, alice: CoopeClient
) -> None:
    own = (await alice.tokens.create("mine")).info.id
    root_token = (await admin.tokens.create("root's")).info.id
    for target in ("alice", "root", "nobody"):
        for call in (
            alice.admin.tokens.create(target, "sneaky"),
            alice.admin.tokens.list(target),
            alice.admin.tokens.revoke(target, root_token),
            alice.admin.tokens.revoke(target, own),
        ):
            with pytest.raises(Forbidden, match="admin role"):
                await call
    assert [t.name for t in await admin.tokens.list()] == ["root's"]
    assert [t.name for t in await alice.tokens.list()] == ["mine"]
    await admin.admin.disable("alice")
    with pytest.raises(Conflict, match="alice is disabled"):
        await admin.admin.tokens.create("alice", "revived")
    with pytest.raises(NotFound):
        await admin.admin.tokens.list("nobody")
    with pytest.raises(InvalidInput):
        await admin.admin.tokens.create("root", "x", expires_in_days=0)
    status, _ = await raw(daemon, "DELETE", f"/api/v1/admin/users/root/tokens/{2**70}", admin)
    assert status == 422
    status, _ = await raw(daemon, "DELETE", "/api/v1/admin/users/root/tokens/abc", admin)
    assert status == 422


async def test_a_deleted_account_leaves_no_presence_behind(
    daemon: RunningDaemon, admin: CoopeClient
) -> None:
    """Its last request (and its sockets closing) after the deletion write no activity row."""
    async with await daemon.user("dora") as dora:
        user_id = (await dora.auth.whoami()).user.id
        await dora.presence.set("busy", "in a review", for_s=3600)
        async with dora.events() as events:
            await admin.admin.delete_user("dora")
            with pytest.raises(Unauthenticated):
                async for _ in events:
                    pass
    services = daemon.app[SERVICES]
    await services.presence.activity.touch(user_id)  # what a late request or a close would do
    await services.presence.activity.flush()
    assert await daemon.sql("SELECT * FROM user_status WHERE user_id = ?", user_id) == []
