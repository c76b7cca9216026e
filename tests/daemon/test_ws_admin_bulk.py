"""Giving many people their workspace roles in one request: checked first, applied all together
or not at all, every wrong entry named; hostile bodies get a 4xx, never a 500."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from coope.client import CoopeClient
from coope.core.errors import InvalidInput
from coope.core.rules import GIVEN_ROLES
from coope.core.workspace_schemas import MEMBERS_AT_ONCE, GivenRole
from tests.helpers import RunningDaemon


@pytest.fixture
async def crew(daemon: RunningDaemon, alice: CoopeClient) -> AsyncIterator[list[CoopeClient]]:
    """Five more people (alice, created after the service admin, owns the workspaces)."""
    clients = [await daemon.user(f"crew{i}") for i in range(5)]
    try:
        yield clients
    finally:
        for client in clients:
            await client.aclose()


async def _roles(client: CoopeClient, workspace_id: int) -> dict[str, str]:
    return {m.username: m.role.value for m in await client.workspaces.members(workspace_id)}


async def _post(
    daemon: RunningDaemon, who: CoopeClient, workspace_id: int, body: bytes
) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {who.token}"}
    url = f"{daemon.url}/api/v1/workspaces/{workspace_id}/members/batch"
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as r:
        return r.status, await r.json(content_type=None)


def test_the_wire_roles_are_the_rules_roles() -> None:
    assert set(GIVEN_ROLES) == {"admin", "editor", "viewer"}
    assert {r.value for r in GIVEN_ROLES} == set(GivenRole.__args__)  # type: ignore[attr-defined]


async def test_many_people_at_once_and_what_changed(
    alice: CoopeClient, crew: list[CoopeClient]
) -> None:
    ws = await alice.workspaces.create("Bulk")
    await alice.workspaces.set_member(ws.id, "crew0", "viewer")
    wanted: list[tuple[str, GivenRole]] = [
        ("crew0", "editor"),
        ("@Crew1", "admin"),
        ("crew2", "viewer"),
    ]
    done = await alice.workspaces.set_members(ws.id, wanted)
    assert done.kept == []
    assert [(c.username, c.role, c.previous) for c in done.changed] == [
        ("crew0", "editor", "viewer"),
        ("crew1", "admin", None),
        ("crew2", "viewer", None),
    ]
    # The same list again changes nothing, and says so.
    assert (await alice.workspaces.set_members(ws.id, wanted)).changed == []
    assert await _roles(alice, ws.id) == {
        "alice": "owner",
        "crew0": "editor",
        "crew1": "admin",
        "crew2": "viewer",
    }


async def test_one_wrong_entry_changes_nothing_and_every_one_is_named(
    daemon: RunningDaemon, admin: CoopeClient, alice: CoopeClient, crew: list[CoopeClient]
) -> None:
    ws = await alice.workspaces.create("All or nothing")
    await admin.admin.disable("crew4")
    with pytest.raises(InvalidInput) as err:
        await alice.workspaces.set_members(
            ws.id,
            [
                ("crew0", "editor"),
                ("nobody", "editor"),
                ("crew1", "viewer"),
                ("CREW0", "viewer"),
                ("alice", "editor"),
                ("crew4", "editor"),
            ],
        )
    assert err.value.details["problems"] == [
        {"index": 1, "username": "nobody", "message": "no user named 'nobody'"},
        {"index": 3, "username": "crew0", "message": "listed already (entry 1)"},
        {
            "index": 4,
            "username": "alice",
            "message": "ownership changes hands only by a transfer",
        },
        {"index": 5, "username": "crew4", "message": "no user named 'crew4'"},
    ]
    assert "entry 2 (nobody): no user named 'nobody'" in err.value.message
    assert await _roles(alice, ws.id) == {"alice": "owner"}


async def test_a_long_refusal_lists_the_first_ten_and_counts_the_rest(
    alice: CoopeClient,
) -> None:
    ws = await alice.workspaces.create("Many ghosts")
    ghosts: list[tuple[str, GivenRole]] = [(f"ghost{i}", "viewer") for i in range(MEMBERS_AT_ONCE)]
    with pytest.raises(InvalidInput) as err:
        await alice.workspaces.set_members(ws.id, ghosts)
    assert len(err.value.details["problems"]) == MEMBERS_AT_ONCE
    assert err.value.message.endswith(f"and {MEMBERS_AT_ONCE - 10} more")


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"[]",
        b'{"entries": []}',
        b'{"entries": "crew0"}',
        b'{"entries": [{"username": "crew0"}]}',
        b'{"entries": [{"username": "crew0", "role": "owner"}]}',
        b'{"entries": [{"username": "crew0", "role": "boss"}]}',
        b'{"entries": [{"username": "crew0", "role": "editor", "extra": 1}]}',
        b'{"entries": [{"username": "crew0", "role": "editor", "keep_existing": "yes"}]}',
        b'{"entries": [{"username": "crew\\u0000", "role": "editor"}]}',
        b'{"entries": [{"username": "crew\\u001b[2J", "role": "editor"}]}',
        b'{"entries": [{"username": "' + b"x" * 5000 + b'", "role": "editor"}]}',
        json.dumps(
            {"entries": [{"username": "crew0", "role": "editor"}] * (MEMBERS_AT_ONCE + 1)}
        ).encode(),
        b'{"entries": [{"username": "crew0", "role": "editor"}',
    ],
)
async def test_hostile_bodies_get_a_4xx_and_change_nothing(
    daemon: RunningDaemon, alice: CoopeClient, crew: list[CoopeClient], body: bytes
) -> None:
    ws = await alice.workspaces.create("Hostile")
    status, answer = await _post(daemon, alice, ws.id, body)
    assert status in (400, 413, 422), answer
    assert answer["error"]["message"]
    assert await _roles(alice, ws.id) == {"alice": "owner"}


async def test_duplicates_written_differently_are_one_person(
    alice: CoopeClient, crew: list[CoopeClient]
) -> None:
    ws = await alice.workspaces.create("Twice")
    with pytest.raises(InvalidInput) as err:
        await alice.workspaces.set_members(ws.id, [("crew2", "editor"), (" @CREW2 ", "admin")])
    assert [p["index"] for p in err.value.details["problems"]] == [1]
