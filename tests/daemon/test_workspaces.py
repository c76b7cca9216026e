"""Workspaces: roles, ownership, invites; a workspace a user is not in does not exist for them."""

from __future__ import annotations

import pytest

from coope.client import CoopeClient
from coope.core.errors import Conflict, Forbidden, Gone, InvalidInput, NotFound
from tests.helpers import RunningDaemon


@pytest.fixture
async def bob(daemon: RunningDaemon, admin: CoopeClient) -> CoopeClient:
    client = await daemon.user("bob")
    yield client  # type: ignore[misc]
    await client.aclose()


async def test_create_list_rename_delete(alice: CoopeClient, bob: CoopeClient) -> None:
    ws = await alice.workspaces.create("  Team   Alpha ")
    assert (ws.name, ws.role) == ("Team Alpha", "owner")
    assert [w.id for w in await alice.workspaces.list()] == [ws.id]
    assert await bob.workspaces.list() == []
    assert (await alice.workspaces.rename(ws.id, "Team Beta")).name == "Team Beta"
    await alice.workspaces.delete(ws.id)
    assert await alice.workspaces.list() == []
    with pytest.raises(NotFound):
        await alice.workspaces.get(ws.id)


async def test_members_roles_and_leaving(alice: CoopeClient, bob: CoopeClient) -> None:
    ws = await alice.workspaces.create("Team")
    members = await alice.workspaces.set_member(ws.id, "bob", "viewer")
    assert [(m.username, m.role) for m in members] == [("alice", "owner"), ("bob", "viewer")]
    assert (await bob.workspaces.get(ws.id)).role == "viewer"
    with pytest.raises(Forbidden, match="owner"):
        await bob.workspaces.set_member(ws.id, "alice", "viewer")
    await alice.workspaces.set_member(ws.id, "bob", "editor")
    assert (await bob.workspaces.get(ws.id)).role == "editor"
    await bob.workspaces.leave(ws.id)
    with pytest.raises(NotFound):
        await bob.workspaces.get(ws.id)
    with pytest.raises(Conflict, match="transfer"):
        await alice.workspaces.leave(ws.id)


async def test_owner_role_changes_only_by_transfer(alice: CoopeClient, bob: CoopeClient) -> None:
    ws = await alice.workspaces.create("Team")
    with pytest.raises(InvalidInput, match="transfer"):
        await alice.workspaces.set_member(ws.id, "alice", "editor")
    with pytest.raises(InvalidInput, match="member"):
        await alice.workspaces.transfer(ws.id, "bob")
    await alice.workspaces.set_member(ws.id, "bob", "editor")
    members = await alice.workspaces.transfer(ws.id, "bob")
    assert {(m.username, m.role) for m in members} == {("alice", "admin"), ("bob", "owner")}
    with pytest.raises(Forbidden):
        await alice.workspaces.rename(ws.id, "mine again")
    await bob.workspaces.remove_member(ws.id, "alice")
    with pytest.raises(NotFound):
        await alice.workspaces.get(ws.id)


async def test_non_members_learn_nothing(alice: CoopeClient, bob: CoopeClient) -> None:
    ws = await alice.workspaces.create("Secret")
    answers: dict[int, list[str]] = {}
    for workspace_id in (ws.id, 999_999):
        calls = [
            bob.workspaces.get(workspace_id),
            bob.workspaces.members(workspace_id),
            bob.workspaces.rename(workspace_id, "x"),
            bob.workspaces.delete(workspace_id),
            bob.workspaces.invite(workspace_id),
            bob.workspaces.leave(workspace_id),
            bob.pages.tree(workspace_id),
            bob.pages.create(workspace_id, "x"),
        ]
        answers[workspace_id] = []
        for call in calls:
            with pytest.raises(NotFound) as err:
                await call
            answers[workspace_id].append(err.value.message.replace(str(workspace_id), "N"))
    # The same answers for a real workspace and an id never used.
    assert answers[ws.id] == answers[999_999]


async def test_admin_acts_as_owner_everywhere(admin: CoopeClient, alice: CoopeClient) -> None:
    ws = await alice.workspaces.create("Alice's")
    assert [w.id for w in await admin.workspaces.list(everything=True)] == [ws.id]
    with pytest.raises(Forbidden, match="admin"):
        await alice.workspaces.list(everything=True)
    assert (await admin.workspaces.get(ws.id)).role == "owner"
    await admin.workspaces.rename(ws.id, "Audited")
    assert (await alice.workspaces.get(ws.id)).name == "Audited"


async def test_invites_roles_uses_expiry_and_revocation(start_daemon) -> None:  # type: ignore[no-untyped-def]
    daemon = await start_daemon(manual_clock=True)
    owner = await daemon.user("owner")
    guests = [await daemon.user(f"guest{i}") for i in range(4)]
    try:
        ws = await owner.workspaces.create("Team")
        once = await owner.workspaces.invite(ws.id, "viewer", max_uses=1)
        joined = await guests[0].workspaces.join(f"{daemon.url}/invite/{once.code}")
        assert (joined.joined, joined.workspace.role) == (True, "viewer")
        again = await guests[0].workspaces.join(once.code)  # a member uses no invite
        assert again.joined is False
        with pytest.raises(Gone, match="used up"):
            await guests[1].workspaces.join(once.code)

        soon = await owner.workspaces.invite(ws.id, "editor", expires_in_days=1)
        assert daemon.clock is not None
        daemon.clock.advance(24 * 3600 + 1)
        with pytest.raises(Gone, match="expired"):
            await guests[1].workspaces.join(soon.code)

        revoked = await owner.workspaces.invite(ws.id, expires_in_days=None)
        await owner.workspaces.revoke_invite(ws.id, revoked.code)
        with pytest.raises(Gone, match="revoked"):
            await guests[2].workspaces.join(revoked.code)
        with pytest.raises(NotFound, match="no such invite"):
            await guests[3].workspaces.join("not-a-code")

        states = {i.code: i.status for i in await owner.workspaces.invites(ws.id)}
        assert states == {once.code: "used_up", soon.code: "expired", revoked.code: "revoked"}
        with pytest.raises(Forbidden):
            await guests[0].workspaces.invite(ws.id)
        members = {m.username for m in await owner.workspaces.members(ws.id)}
        assert members == {"owner", "guest0"}
    finally:
        for client in (owner, *guests):
            await client.aclose()


async def test_invite_codes_are_letters_and_digits(alice: CoopeClient) -> None:
    """A code starting with '-' would be taken for an option by `coope ws join CODE`."""
    ws = await alice.workspaces.create("Team")
    codes = [(await alice.workspaces.invite(ws.id)).code for _ in range(50)]
    assert all(code.isalnum() and len(code) == 16 for code in codes)
    assert len(set(codes)) == 50
