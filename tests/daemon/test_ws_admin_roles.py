"""The workspace admin role, and who may do what in a workspace: every changed route called by a
stranger, a viewer, an editor, an admin, the owner and a service admin."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest

from coope.client import CoopeClient
from coope.core.errors import Conflict, CoopeError, Forbidden, InvalidInput, NotFound
from tests.helpers import RunningDaemon, next_event

ACTORS = ("stranger", "viewer", "editor", "admin", "owner", "service")

# What each actor may do, written out here rather than read from `coope.core.rules`, so that a
# wrong table there fails these tests. Everything not allowed is refused with 403, except for a
# stranger, to whom the workspace does not exist (404).
MAY: dict[str, set[str]] = {
    "read": {"viewer", "editor", "admin", "owner", "service"},
    "edit pages": {"editor", "admin", "owner", "service"},
    "invite": {"admin", "owner", "service"},
    "list invites": {"admin", "owner", "service"},
    "revoke invite": {"admin", "owner", "service"},
    "set role": {"admin", "owner", "service"},
    "set roles": {"admin", "owner", "service"},
    "remove member": {"admin", "owner", "service"},
    "rename": {"owner", "service"},
    "transfer": {"owner", "service"},
    "delete": {"owner", "service"},
}


@dataclass
class Team:
    """One workspace with a member of every role, plus `frank` (an editor to act on)."""

    id: int
    invite_code: str


@dataclass
class People:
    daemon: RunningDaemon
    clients: dict[str, CoopeClient]
    counter: itertools.count[int]

    async def team(self) -> Team:
        owner = self.clients["owner"]
        ws = await owner.workspaces.create(f"Team {next(self.counter)}")
        await owner.workspaces.set_members(
            ws.id, [("bob", "admin"), ("carol", "editor"), ("dave", "viewer"), ("frank", "editor")]
        )
        invite = await owner.workspaces.invite(ws.id)
        return Team(ws.id, invite.code)


@pytest.fixture
async def people(daemon: RunningDaemon) -> AsyncIterator[People]:
    # The daemon's first account is its (service) admin.
    names = {
        "service": "root",
        "owner": "alice",
        "admin": "bob",
        "editor": "carol",
        "viewer": "dave",
        "stranger": "eve",
        "frank": "frank",
    }
    clients = {role: await daemon.user(name) for role, name in names.items()}
    try:
        yield People(daemon, clients, itertools.count())
    finally:
        for client in clients.values():
            await client.aclose()


def _calls(c: CoopeClient, team: Team) -> dict[str, Callable[[], Awaitable[object]]]:
    ws = team.id
    return {
        "read": lambda: c.workspaces.members(ws),
        "edit pages": lambda: c.pages.create(ws, "A page"),
        "invite": lambda: c.workspaces.invite(ws, "viewer"),
        "list invites": lambda: c.workspaces.invites(ws),
        "revoke invite": lambda: c.workspaces.revoke_invite(ws, team.invite_code),
        "set role": lambda: c.workspaces.set_member(ws, "frank", "viewer"),
        "set roles": lambda: c.workspaces.set_members(ws, [("frank", "admin")]),
        "remove member": lambda: c.workspaces.remove_member(ws, "frank"),
        "rename": lambda: c.workspaces.rename(ws, f"Renamed {ws}"),
        "transfer": lambda: c.workspaces.transfer(ws, "carol"),
        "delete": lambda: c.workspaces.delete(ws),
    }


@pytest.mark.parametrize("action", list(MAY))
async def test_each_role_may_do_what_the_table_says(people: People, action: str) -> None:
    outcomes: dict[str, str] = {}
    for actor in ACTORS:
        team = await people.team()  # a fresh one: the action may change or delete it
        try:
            await _calls(people.clients[actor], team)[action]()
        except (Forbidden, NotFound) as refused:
            outcomes[actor] = refused.code
        else:
            outcomes[actor] = "ok"
    expected = {
        actor: "ok" if actor in MAY[action] else "not_found" if actor == "stranger" else "forbidden"
        for actor in ACTORS
    }
    assert outcomes == expected


async def test_a_refusal_names_who_may(people: People) -> None:
    team = await people.team()
    editor, admin = people.clients["editor"], people.clients["admin"]
    with pytest.raises(Forbidden, match="only the workspace's owner and admins can create"):
        await editor.workspaces.invite(team.id)
    with pytest.raises(Forbidden, match="only the workspace's owner can delete"):
        await admin.workspaces.delete(team.id)


@pytest.mark.parametrize("actor", ["admin", "owner", "service"])
async def test_nobody_changes_or_removes_the_owner(people: People, actor: str) -> None:
    team = await people.team()
    client = people.clients[actor]
    for role in ("admin", "editor", "viewer"):
        with pytest.raises(InvalidInput, match="transfer"):
            await client.workspaces.set_member(team.id, "alice", role)
        with pytest.raises(InvalidInput, match="transfer") as bulk:
            await client.workspaces.set_members(team.id, [("carol", "viewer"), ("alice", role)])
        assert bulk.value.details["problems"] == [
            {
                "index": 1,
                "username": "alice",
                "message": bulk.value.details["problems"][0]["message"],
            }
        ]
    with pytest.raises(Conflict, match="transfer"):
        await client.workspaces.remove_member(team.id, "alice")
    members = await people.clients["owner"].workspaces.members(team.id)
    roles = {m.username: m.role.value for m in members}
    # Nothing of a refused list was applied: carol is still an editor.
    assert (roles["alice"], roles["carol"]) == ("owner", "editor")


async def test_admins_manage_admins_and_may_step_down(people: People) -> None:
    team = await people.team()
    bob = people.clients["admin"]
    done = await bob.workspaces.set_members(team.id, [("carol", "admin")])
    assert [(c.username, c.role, c.previous) for c in done.changed] == [
        ("carol", "admin", "editor")
    ]
    await bob.workspaces.set_member(team.id, "carol", "viewer")  # an admin demotes an admin
    await bob.workspaces.set_member(team.id, "bob", "editor")  # and steps down
    with pytest.raises(Forbidden):
        await bob.workspaces.set_member(team.id, "bob", "admin")
    assert (await bob.workspaces.get(team.id)).role == "editor"
    # An admin leaves like any member.
    await people.clients["owner"].workspaces.set_member(team.id, "bob", "admin")
    await bob.workspaces.leave(team.id)
    with pytest.raises(NotFound):
        await bob.workspaces.get(team.id)


async def test_the_old_owner_stays_on_as_an_admin(people: People) -> None:
    team = await people.team()
    alice = people.clients["owner"]
    members = await alice.workspaces.transfer(team.id, "carol")
    roles = {m.username: m.role.value for m in members}
    assert (roles["alice"], roles["carol"]) == ("admin", "owner")
    # An admin still: alice manages members and invites, but renames nothing.
    await alice.workspaces.set_member(team.id, "dave", "editor")
    await alice.workspaces.invite(team.id)
    with pytest.raises(Forbidden):
        await alice.workspaces.rename(team.id, "Mine again")


async def test_an_owner_neither_leaves_nor_is_removed_and_is_told_so_once(people: People) -> None:
    team = await people.team()
    with pytest.raises(Conflict) as leaving:
        await people.clients["owner"].workspaces.leave(team.id)
    with pytest.raises(Conflict) as removed:
        await people.clients["admin"].workspaces.remove_member(team.id, "alice")
    assert leaving.value.message == removed.value.message
    assert "transfer" in removed.value.message


async def test_invites_make_editors_or_viewers_only(people: People) -> None:
    team = await people.team()
    with pytest.raises(InvalidInput):
        await people.clients["admin"].workspaces.invite(team.id, "admin")  # type: ignore[arg-type]
    made = await people.clients["admin"].workspaces.invite(team.id, "viewer")
    joined = await people.clients["stranger"].workspaces.join(made.code)
    assert joined.workspace.role == "viewer"


async def test_the_member_list_shows_admins_after_the_owner(people: People) -> None:
    team = await people.team()
    members = await people.clients["viewer"].workspaces.members(team.id)
    assert [(m.username, m.role.value) for m in members] == [
        ("alice", "owner"),
        ("bob", "admin"),
        ("carol", "editor"),
        ("frank", "editor"),
        ("dave", "viewer"),
    ]


async def test_a_new_admin_is_told(people: People) -> None:
    team = await people.team()
    carol = people.clients["editor"]
    async with carol.events() as events:
        await people.clients["admin"].workspaces.set_members(team.id, [("carol", "admin")])
        told = await next_event(events, "workspace.access")
    assert (told.data.workspace_id, told.data.role) == (team.id, "admin")
    # The new admin acts as one at once.
    await carol.workspaces.invite(team.id)


async def test_errors_are_coope_errors_with_codes(people: People) -> None:
    """A refusal is never a 500: the client rebuilds the daemon's error class."""
    team = await people.team()
    with pytest.raises(CoopeError) as err:
        await people.clients["viewer"].workspaces.set_members(team.id, [("frank", "admin")])
    assert err.value.code == "forbidden"
