"""One rule for service admins: they act as an owner of every workspace, named by id or by name
alike; to anyone else who is not a member a workspace does not exist, by id or by name."""

from __future__ import annotations

from typing import Any

import pytest

from coope.client import CoopeClient
from coope.core.errors import Forbidden, NotFound
from coope.daemon.http.keys import SERVICES
from tests.helpers import RunningDaemon


async def test_a_service_admin_names_any_workspace_by_name_or_id(
    admin: CoopeClient, alice: CoopeClient
) -> None:
    ws = await alice.workspaces.create("BobSpace")
    assert await admin.workspaces.list() == []  # not a member of it
    for target in ("BobSpace", "bobspace", str(ws.id), f"#{ws.id}"):
        found = await admin.workspaces.resolve(target)
        assert (found.id, found.role) == (ws.id, "owner")
    assert [m.username for m in await admin.workspaces.members(ws.id)] == ["alice"]
    await admin.workspaces.set_members(ws.id, [("root", "viewer")])
    # A service admin who is a member acts as an owner all the same.
    assert (await admin.workspaces.get(ws.id)).role == "owner"
    assert [w.role for w in await admin.workspaces.list()] == ["owner"]
    await admin.workspaces.rename(ws.id, "Audited")
    await admin.workspaces.delete((await admin.workspaces.resolve("audited")).id)
    with pytest.raises(NotFound):
        await alice.workspaces.get(ws.id)


async def test_to_anyone_else_a_workspace_they_are_not_in_does_not_exist(
    daemon: RunningDaemon, alice: CoopeClient
) -> None:
    ws = await alice.workspaces.create("Secret")
    async with await daemon.user("bob") as bob:
        answers = []
        for name, workspace_id in (("Secret", ws.id), ("Nowhere", 2**40)):
            with pytest.raises(NotFound) as by_name:
                await bob.workspaces.resolve(name)
            with pytest.raises(NotFound) as by_id:
                await bob.workspaces.resolve(str(workspace_id))
            assert await bob.workspaces.named(name) is None
            answers.append(
                (
                    by_name.value.message.replace(name, "N"),
                    by_id.value.message.replace(str(workspace_id), "N"),
                )
            )
        assert answers[0] == answers[1]
        # A member finds it by name as before.
        await alice.workspaces.set_member(ws.id, "bob", "viewer")
        assert (await bob.workspaces.resolve("secret")).id == ws.id
        named = await bob.workspaces.named("SECRET")
        assert named is not None
        assert (named.id, named.role, named.owners, named.member_count) == (
            ws.id,
            "viewer",
            ["alice"],
            2,
        )


async def test_names_no_workspace_can_have_are_not_found(alice: CoopeClient) -> None:
    for target in ("x" * 5000, "bad\x1bname", "  "):
        with pytest.raises(NotFound):
            await alice.workspaces.resolve(target)


async def test_list_all_shows_every_workspace_with_owner_and_size(
    daemon: RunningDaemon, admin: CoopeClient, alice: CoopeClient
) -> None:
    async with await daemon.user("bob") as bob:
        first = await alice.workspaces.create("Alpha")
        second = await bob.workspaces.create("Beta")
        await alice.workspaces.set_members(first.id, [("bob", "admin")])
        everything = await admin.workspaces.list(everything=True)
        assert [(w.id, w.name, w.owners, w.member_count, w.role) for w in everything] == [
            (first.id, "Alpha", ["alice"], 2, "owner"),
            (second.id, "Beta", ["bob"], 1, "owner"),
        ]
        # Anyone's own list has the same columns, with their role.
        mine = await bob.workspaces.list()
        assert [(w.name, w.role, w.owners, w.member_count) for w in mine] == [
            ("Alpha", "admin", ["alice"], 2),
            ("Beta", "owner", ["bob"], 1),
        ]
        for someone in (alice, bob):
            with pytest.raises(Forbidden, match="admin"):
                await someone.workspaces.list(everything=True)


async def test_a_name_is_found_in_one_request(
    monkeypatch: pytest.MonkeyPatch, daemon: RunningDaemon, admin: CoopeClient, alice: CoopeClient
) -> None:
    """`GET /workspaces?name=` first: one request for a member and a service admin alike."""
    ws = await alice.workspaces.create("Lookup")
    service = daemon.app[SERVICES].workspaces
    overview = service.overview
    asked: list[str | None] = []

    async def counted(*args: Any, **kwargs: Any) -> Any:
        asked.append(kwargs.get("name"))
        return await overview(*args, **kwargs)

    monkeypatch.setattr(service, "overview", counted)
    for client in (alice, admin):
        asked.clear()
        assert (await client.workspaces.resolve("lookup")).id == ws.id
        assert asked == ["lookup"]
