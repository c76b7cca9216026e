"""Page sync sockets follow their user's access while connected, and refuse after the upgrade."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from coope.client import CoopeClient
from tests.conftest import DaemonFactory
from tests.daemon.sync_client import add_block_update, replica_of, sync_socket
from tests.helpers import RunningDaemon

START = "before the change"
READ_ONLY = "this page is read-only for you (a viewer, or the page is in the trash)"


@dataclass
class Shared:
    """alice's workspace and page, and bob, an editor of it."""

    workspace_id: int
    page_id: int
    bob: CoopeClient


@pytest.fixture
async def shared(daemon: RunningDaemon, alice: CoopeClient) -> AsyncIterator[Shared]:
    ws = await alice.workspaces.create("Team")
    page = await alice.pages.create(ws.id, "Plan")
    await alice.pages.append(page.id, START)
    async with await daemon.user("bob") as bob:
        await alice.workspaces.set_member(ws.id, "bob", "editor")
        yield Shared(ws.id, page.id, bob)


async def _texts(client: CoopeClient, page_id: int) -> list[str]:
    return [block.text for block in (await client.pages.content(page_id)).blocks]


async def _new_block(client: CoopeClient, page_id: int, text: str) -> bytes:
    return add_block_update(replica_of(await client.pages.state(page_id)), text, "paragraph", text)


# --- access lost while connected ------------------------------------------------------------


async def test_logging_out_closes_the_session_s_sockets_with_4401(
    daemon: RunningDaemon, shared: Shared
) -> None:
    async with sync_socket(daemon, shared.page_id, shared.bob.token) as bob:
        assert await bob.confirm()
        await shared.bob.auth.logout()
        code, reason = await bob.closed()
    assert (code, reason) == (4401, "logout")


async def test_revoking_a_token_closes_its_sockets_with_4401(
    daemon: RunningDaemon, alice: CoopeClient, shared: Shared
) -> None:
    created = await shared.bob.tokens.create("editor bot")
    async with sync_socket(daemon, shared.page_id, created.token) as bot:
        assert await bot.confirm()
        await shared.bob.tokens.revoke(created.info.id)
        code, reason = await bot.closed()
    assert (code, reason) == (4401, "token revoked")
    assert await _texts(alice, shared.page_id) == [START]


async def test_disabling_an_account_closes_its_sockets_with_4401(
    daemon: RunningDaemon, admin: CoopeClient, shared: Shared
) -> None:
    async with sync_socket(daemon, shared.page_id, shared.bob.token) as bob:
        assert await bob.confirm()
        await admin.admin.disable("bob")
        code, reason = await bob.closed()
    assert (code, reason) == (4401, "account disabled")


async def test_another_credential_revoked_leaves_the_socket_writing(
    daemon: RunningDaemon, alice: CoopeClient, shared: Shared
) -> None:
    other = await shared.bob.tokens.create("unused")
    async with sync_socket(daemon, shared.page_id, shared.bob.token) as bob:
        await shared.bob.tokens.revoke(other.info.id)
        await bob.send_update(await _new_block(alice, shared.page_id, "still mine"))
        assert await bob.confirm()
    assert await _texts(alice, shared.page_id) == [START, "still mine"]


async def test_removal_from_the_workspace_closes_the_socket_with_4403(
    daemon: RunningDaemon, alice: CoopeClient, shared: Shared
) -> None:
    async with sync_socket(daemon, shared.page_id, shared.bob.token) as bob:
        assert await bob.confirm()
        await alice.workspaces.remove_member(shared.workspace_id, "bob")
        code, reason = await bob.closed()
    assert (code, reason) == (4403, "you no longer have access to this page")


async def test_leaving_the_workspace_closes_the_socket_with_4403(
    daemon: RunningDaemon, shared: Shared
) -> None:
    async with sync_socket(daemon, shared.page_id, shared.bob.token) as bob:
        assert await bob.confirm()
        await shared.bob.workspaces.leave(shared.workspace_id)
        code, _ = await bob.closed()
    assert code == 4403


async def test_deleting_the_workspace_closes_the_socket(
    daemon: RunningDaemon, alice: CoopeClient, shared: Shared
) -> None:
    async with sync_socket(daemon, shared.page_id, shared.bob.token) as bob:
        assert await bob.confirm()
        await alice.workspaces.delete(shared.workspace_id)
        code, _ = await bob.closed()
    # Whichever comes first: the access lost (4403) or the page deleted (4404).
    assert code in (4403, 4404)


async def test_a_demoted_editor_can_no_longer_write(
    daemon: RunningDaemon, alice: CoopeClient, shared: Shared
) -> None:
    async with sync_socket(daemon, shared.page_id, shared.bob.token) as bob:
        await bob.send_update(await _new_block(alice, shared.page_id, "as an editor"))
        assert await bob.confirm()
        await alice.workspaces.set_member(shared.workspace_id, "bob", "viewer")
        await bob.send_update(await _new_block(alice, shared.page_id, "as a viewer"))
        code, reason = await bob.closed()
    assert (code, reason) == (4403, READ_ONLY)
    assert await _texts(alice, shared.page_id) == [START, "as an editor"]


async def test_a_promoted_viewer_may_write_on_the_same_socket(
    daemon: RunningDaemon, alice: CoopeClient, shared: Shared
) -> None:
    await alice.workspaces.set_member(shared.workspace_id, "bob", "viewer")
    async with sync_socket(daemon, shared.page_id, shared.bob.token) as bob:
        assert await bob.confirm()
        await alice.workspaces.set_member(shared.workspace_id, "bob", "editor")
        await bob.send_update(await _new_block(alice, shared.page_id, "promoted"))
        assert await bob.confirm()
    assert await _texts(alice, shared.page_id) == [START, "promoted"]


async def test_a_page_moved_to_the_trash_is_read_only_on_open_sockets(
    daemon: RunningDaemon, alice: CoopeClient, shared: Shared
) -> None:
    async with sync_socket(daemon, shared.page_id, shared.bob.token) as bob:
        assert await bob.confirm()
        await alice.pages.archive(shared.page_id)
        await bob.send_update(await _new_block(alice, shared.page_id, "in the trash"))
        code, reason = await bob.closed()
    assert (code, reason) == (4403, READ_ONLY)
    assert await _texts(alice, shared.page_id) == [START]


async def test_a_restored_page_is_writable_again_on_the_same_socket(
    daemon: RunningDaemon, alice: CoopeClient, shared: Shared
) -> None:
    await alice.pages.archive(shared.page_id)
    async with sync_socket(daemon, shared.page_id, shared.bob.token) as bob:
        assert await bob.confirm()
        await alice.pages.restore(shared.page_id)
        await bob.send_update(await _new_block(alice, shared.page_id, "restored"))
        assert await bob.confirm()
    assert await _texts(alice, shared.page_id) == [START, "restored"]


# --- refusals come after the upgrade, as close codes ------------------------------------------


@pytest.mark.parametrize(
    ("page", "token", "code"),
    [
        ("{page}", None, 4401),
        ("{page}", "coope_bogus", 4401),
        ("{page}", "{mallory}", 4404),  # not a member: the page does not exist for her
        ("999999", "{alice}", 4404),
        ("abc", "{alice}", 4404),
        ("0", "{alice}", 4404),
        ("-1", "{alice}", 4404),
        ("+1", "{alice}", 4404),
        ("99999999999999999999", "{alice}", 4404),
    ],
)
async def test_refusals_are_close_codes_after_the_upgrade(
    daemon: RunningDaemon,
    alice: CoopeClient,
    shared: Shared,
    page: str,
    token: str | None,
    code: int,
) -> None:
    async with await daemon.user("mallory") as mallory:
        tokens = {"{alice}": alice.token, "{mallory}": mallory.token}
        page = page.replace("{page}", str(shared.page_id))
        async with sync_socket(daemon, page, tokens.get(token or "", token)) as socket:
            closed_code, reason = await socket.closed()
    assert closed_code == code
    assert reason and reason.isprintable()


async def test_a_session_that_expires_while_connected_closes_its_socket_with_4401(
    start_daemon: DaemonFactory,
) -> None:
    daemon = await start_daemon(session_ttl_s=3.0)
    async with await daemon.user("ann") as ann:
        ws = await ann.workspaces.create("Short")
        page = await ann.pages.create(ws.id, "Lived")
        async with sync_socket(daemon, page.id, ann.token) as socket:
            assert await socket.confirm()
            code, reason = await socket.closed()  # the expiry, about three seconds on
    assert code == 4401
    assert "expired" in reason
