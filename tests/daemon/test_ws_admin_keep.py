"""A bulk change's defaults never touch a member's role (`keep_existing`), and who exists is
checked again inside the write: an account disabled or deleted after the check is not added."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from coope.client import CoopeClient
from coope.core.errors import InvalidInput
from coope.core.events import WorkspaceAccess
from coope.core.models import User
from coope.daemon.services.users import find_user
from coope.daemon.storage import Storage
from tests.helpers import RunningDaemon, next_event


@pytest.fixture
async def dave(daemon: RunningDaemon, alice: CoopeClient) -> AsyncIterator[CoopeClient]:
    async with await daemon.user("dave") as client:
        yield client


@pytest.fixture
async def erin(daemon: RunningDaemon, dave: CoopeClient) -> AsyncIterator[CoopeClient]:
    async with await daemon.user("erin") as client:
        yield client


async def _roles(client: CoopeClient, workspace_id: int) -> dict[str, str]:
    return {m.username: m.role.value for m in await client.workspaces.members(workspace_id)}


async def test_a_default_role_leaves_members_as_they_are(
    alice: CoopeClient, dave: CoopeClient, erin: CoopeClient
) -> None:
    ws = await alice.workspaces.create("Keep")
    await alice.workspaces.set_members(ws.id, [("dave", "viewer"), ("erin", "admin")])
    async with dave.events() as events:
        done = await alice.workspaces.set_members(
            ws.id,
            [("dave", "editor", True), ("erin", "editor", True), ("alice", "editor", True)],
        )
        # Nothing changed, so dave was told of no change: his next access event is this one.
        await alice.workspaces.set_member(ws.id, "dave", "admin")
        told = await next_event(events, "workspace.access")
    assert done.changed == []
    assert [(k.username, k.role) for k in done.kept] == [
        ("dave", "viewer"),
        ("erin", "admin"),
        ("alice", "owner"),  # an owner named with a default is kept, not refused
    ]
    assert isinstance(told, WorkspaceAccess) and told.data.role == "admin"
    assert await _roles(alice, ws.id) == {"alice": "owner", "dave": "admin", "erin": "admin"}


async def test_a_default_role_is_given_to_newcomers_and_a_given_role_to_all(
    daemon: RunningDaemon, alice: CoopeClient, dave: CoopeClient, erin: CoopeClient
) -> None:
    ws = await alice.workspaces.create("Newcomers")
    await alice.workspaces.set_members(ws.id, [("dave", "viewer")])
    done = await alice.workspaces.set_members(ws.id, [("erin", "editor", True), ("dave", "admin")])
    assert [(c.username, c.role, c.previous) for c in done.changed] == [
        ("erin", "editor", None),
        ("dave", "admin", "viewer"),
    ]
    assert done.kept == []
    # Someone kept at the role given is neither a change nor kept: nothing to tell.
    again = await alice.workspaces.set_members(ws.id, [("erin", "editor", True)])
    assert (again.changed, again.kept) == ([], [])


Ending = Callable[[CoopeClient, str], Awaitable[object]]
ENDINGS: dict[str, Ending] = {
    "disabled": lambda admin, name: admin.admin.disable(name),
    "deleted": lambda admin, name: admin.admin.delete_user(name),
}


@pytest.mark.parametrize("ending", list(ENDINGS))
async def test_an_account_gone_after_the_check_is_not_added(
    monkeypatch: pytest.MonkeyPatch,
    daemon: RunningDaemon,
    admin: CoopeClient,
    alice: CoopeClient,
    dave: CoopeClient,
    erin: CoopeClient,
    ending: str,
) -> None:
    """The service finds erin; before the write, her account ends; the write refuses her."""
    ws = await alice.workspaces.create("Race")

    async def found_then_gone(storage: Storage, username: str) -> User:
        user = await find_user(storage, username)
        if user.username == "erin":
            await ENDINGS[ending](admin, "erin")
        return user

    monkeypatch.setattr("coope.daemon.services.workspaces.find_user", found_then_gone)
    with pytest.raises(InvalidInput) as err:
        await alice.workspaces.set_members(ws.id, [("dave", "viewer"), ("erin", "editor")])
    assert err.value.details["problems"] == [
        {"index": 1, "username": "erin", "message": "no user named 'erin'"}
    ]
    # Nobody was added, dave neither (all or nothing), and no tombstone ("deleted:ID").
    assert await _roles(alice, ws.id) == {"alice": "owner"}
