"""Names that address things are unique in their scope: workspace names and group room names on
the whole daemon, page titles among siblings. Compared without case after Unicode normalisation;
held by unique indexes (so also under concurrent writers); `exist_ok` makes creation idempotent."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from coope.client import CoopeClient
from coope.core.errors import Conflict, InvalidInput, NotFound
from tests.daemon.social_helpers import befriend
from tests.helpers import RunningDaemon

# The same names once compared: case, German sharp s (casefold), é composed or not, and the
# look-alikes (NFKC, characters that show nothing, white space).
SAME_NAMES = [
    ("Team", "tEAM"),
    ("Straße", "STRASSE"),
    ("Caf\u00e9", "Cafe\u0301"),
    ("Team", "Team\u200b"),  # a zero-width space
    ("Team", "Te\u00adam"),  # a soft hyphen
    ("Team", "Te\u2060am"),  # a word joiner (direction overrides are refused in names)
    ("Team", "\uff34\uff45\uff41\uff4d"),  # full-width letters
    ("Team plans", "Team \u200b plans"),  # two spaces once the zero-width one is gone
]


async def _post(
    daemon: RunningDaemon, client: CoopeClient, path: str, body: Any
) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            daemon.url + path, json=body, headers={"Authorization": f"Bearer {client.token}"}
        ) as response,
    ):
        return response.status, await response.json()


# --- workspaces -------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "same"), SAME_NAMES)
async def test_a_workspace_name_is_taken_whatever_its_case_or_form(
    alice: CoopeClient, bob: CoopeClient, name: str, same: str
) -> None:
    await alice.workspaces.create(name)
    for client in (alice, bob):  # unique on the daemon: bob cannot make one either
        with pytest.raises(Conflict, match="already a workspace"):
            await client.workspaces.create(same)
    # So a name means one workspace, and resolves in any of its forms.
    assert (await alice.workspaces.resolve(same)).name == name


async def test_renames_obey_the_rule(alice: CoopeClient) -> None:
    team = await alice.workspaces.create("Team")
    other = await alice.workspaces.create("Other")
    with pytest.raises(Conflict):
        await alice.workspaces.rename(other.id, "TEAM")
    assert (await alice.workspaces.rename(team.id, "TEAM")).name == "TEAM", "its own name"
    await alice.workspaces.rename(team.id, "Crew")
    assert (await alice.workspaces.rename(other.id, "team")).name == "team", "freed by the rename"


async def test_exist_ok_answers_the_workspace_you_can_see(
    daemon: RunningDaemon, admin: CoopeClient, alice: CoopeClient, bob: CoopeClient
) -> None:
    made = await alice.workspaces.create("Team", exist_ok=True)
    assert made.created
    again = await alice.workspaces.create("team", exist_ok=True)
    assert (again.id, again.name, again.created, again.role.value) == (
        made.id,
        "Team",
        False,
        "owner",
    )
    # Someone who is not in it gets the conflict, not the workspace.
    with pytest.raises(Conflict, match="not in it"):
        await bob.workspaces.create("Team", exist_ok=True)
    # A daemon admin sees every workspace.
    assert (await admin.workspaces.create("TEAM", exist_ok=True)).id == made.id
    # Over HTTP: 201 when made, 200 when it was there.
    status, body = await _post(
        daemon, alice, "/api/v1/workspaces", {"name": "New", "exist_ok": True}
    )
    assert (status, body["created"]) == (201, True)
    status, body = await _post(
        daemon, alice, "/api/v1/workspaces", {"name": "new", "exist_ok": True}
    )
    assert (status, body["created"], body["name"]) == (200, False, "New")
    status, body = await _post(daemon, alice, "/api/v1/workspaces", {"name": "new"})
    assert (status, body["error"]["code"]) == (409, "conflict")


@pytest.mark.parametrize("exist_ok", ["yes", 1, None, [], {}])
async def test_exist_ok_must_be_a_boolean(
    daemon: RunningDaemon, alice: CoopeClient, exist_ok: object
) -> None:
    body = {"name": "Team", "exist_ok": exist_ok}
    for path in ("/api/v1/workspaces", "/api/v1/rooms"):
        status, answer = await _post(daemon, alice, path, body)
        assert (status, answer["error"]["code"]) == (422, "invalid_input"), path
        assert "exist_ok" in answer["error"]["message"]


async def test_concurrent_creations_make_one_workspace(
    alice: CoopeClient, bob: CoopeClient
) -> None:
    tries = [c.workspaces.create(n) for c in (alice, bob) for n in ("Race", "RACE", "race") * 4]
    results = await asyncio.gather(*tries, return_exceptions=True)
    made = [r for r in results if not isinstance(r, BaseException)]
    assert len(made) == 1
    assert sum(isinstance(r, Conflict) for r in results) == len(results) - 1
    # With exist_ok, concurrent tries of one person all end with the same workspace.
    again = await asyncio.gather(
        *(alice.workspaces.create(n, exist_ok=True) for n in ("Run", "RUN", "run") * 4)
    )
    assert len({w.id for w in again}) == 1
    assert sum(w.created for w in again) == 1


# --- group rooms ------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "same"), SAME_NAMES)
async def test_a_group_room_name_is_taken_whatever_its_case_or_form(
    alice: CoopeClient, bob: CoopeClient, name: str, same: str
) -> None:
    room = await alice.chat.create_room(name)
    for client in (alice, bob):
        with pytest.raises(Conflict, match="already a room"):
            await client.chat.create_room(same)
    with pytest.raises(Conflict):
        await alice.chat.create_room("#" + same)  # the # is not part of the name
    assert (await alice.chat.resolve("#" + same)).id == room.id


async def test_room_renames_obey_the_rule_and_direct_rooms_have_no_name(
    alice: CoopeClient, bob: CoopeClient
) -> None:
    await befriend(alice, bob)
    await alice.chat.send_to("@bob", "hi")  # a direct room: named by the other person
    team = await alice.chat.create_room("team")
    other = await alice.chat.create_room("other")
    with pytest.raises(Conflict):
        await alice.chat.rename_room(other.id, "Team")
    assert (await alice.chat.rename_room(team.id, "Team")).name == "Team"
    assert (await alice.chat.create_room("bob")).created, "a group room may share a username"


async def test_exist_ok_answers_a_room_you_are_in(
    daemon: RunningDaemon, alice: CoopeClient, bob: CoopeClient, carol: CoopeClient
) -> None:
    await befriend(alice, bob)
    room = await alice.chat.create_room("team", ["bob"], exist_ok=True)
    assert room.created
    # bob is in it: he gets it as it is; carol is not named as a member by exist_ok.
    again = await bob.chat.create_room("TEAM", ["carol"], exist_ok=True)
    assert (again.id, again.created, again.invited) == (room.id, False, [])
    with pytest.raises(Conflict, match="not in it"):
        await carol.chat.create_room("Team", exist_ok=True)
    status, body = await _post(daemon, alice, "/api/v1/rooms", {"name": "Team", "exist_ok": True})
    assert (status, body["id"], body["created"]) == (200, room.id, False)


# --- pages ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "same"), SAME_NAMES)
async def test_sibling_titles_are_unique(alice: CoopeClient, name: str, same: str) -> None:
    ws = await alice.workspaces.create("Team")
    top = await alice.pages.create(ws.id, name)
    with pytest.raises(Conflict, match="at the top of the workspace"):
        await alice.pages.create(ws.id, same)
    # Under another parent, or in another workspace, the title is free.
    child = await alice.pages.create(ws.id, same, parent_id=top.id)
    with pytest.raises(Conflict, match="under"):
        await alice.pages.create(ws.id, name, parent_id=top.id)
    other = await alice.workspaces.create("Other")
    await alice.pages.create(other.id, same)
    assert (await alice.pages.resolve(f"Team/{same}/{name}")).id == child.id


async def test_page_renames_and_moves_obey_the_rule(alice: CoopeClient) -> None:
    ws = await alice.workspaces.create("Team")
    plans = await alice.pages.create(ws.id, "Plans")
    notes = await alice.pages.create(ws.id, "Notes")
    under = await alice.pages.create(ws.id, "plans", parent_id=notes.id)
    with pytest.raises(Conflict):
        await alice.pages.rename(notes.id, "PLANS")
    with pytest.raises(Conflict):
        await alice.pages.move(under.id, None)
    assert (await alice.pages.rename(plans.id, "PLANS")).title == "PLANS"
    assert (await alice.pages.get(under.id)).parent_id == notes.id, "the refused move left it"


async def test_the_trash_is_out_of_the_way_and_a_restore_renames(alice: CoopeClient) -> None:
    ws = await alice.workspaces.create("Team")
    old = await alice.pages.create(ws.id, "Plans")
    await alice.pages.create(ws.id, "Sub", parent_id=old.id)
    await alice.pages.archive(old.id)
    new = await alice.pages.create(ws.id, "plans")
    restored = await alice.pages.restore(old.id)
    assert (restored.id, restored.title, restored.parent_id) == (old.id, "Plans (2)", None)
    assert (await alice.pages.resolve("Team/plans")).id == new.id
    assert (await alice.pages.resolve("Team/Plans (2)/Sub")).parent_id == old.id
    with pytest.raises(Conflict):
        await alice.pages.create(ws.id, "PLANS (2)")


async def test_exist_ok_answers_the_sibling(daemon: RunningDaemon, alice: CoopeClient) -> None:
    ws = await alice.workspaces.create("Team")
    made = await alice.pages.create(ws.id, "Plans", markdown="# first", exist_ok=True)
    again = await alice.pages.create(ws.id, "PLANS", icon="x", markdown="# second", exist_ok=True)
    assert (again.id, again.title, again.icon, again.created) == (made.id, "Plans", "", False)
    assert "second" not in (await alice.pages.content(made.id)).markdown
    path = f"/api/v1/workspaces/{ws.id}/pages"
    status, body = await _post(daemon, alice, path, {"title": "plans", "exist_ok": True})
    assert (status, body["id"], body["created"]) == (200, made.id, False)
    status, body = await _post(daemon, alice, path, {"title": "plans", "exist_ok": "true"})
    assert status == 422


async def test_hostile_names_are_refused_clearly(alice: CoopeClient) -> None:
    ws = await alice.workspaces.create("Team")
    for bad in ("a\x00b", "a\x1b[2Jb", "x" * 81, " "):
        with pytest.raises(InvalidInput):
            await alice.workspaces.create(bad)
        with pytest.raises(InvalidInput):
            await alice.chat.create_room(bad)
        with pytest.raises(InvalidInput):
            await alice.pages.create(ws.id, bad)
    with pytest.raises(NotFound):
        await alice.workspaces.resolve("x" * 10_000)


async def test_deleting_a_tree_with_repeated_titles_works(alice: CoopeClient) -> None:
    ws = await alice.workspaces.create("Team")
    top = await alice.pages.create(ws.id, "Notes")
    mid = await alice.pages.create(ws.id, "Notes", parent_id=top.id)
    await alice.pages.create(ws.id, "Notes", parent_id=mid.id)
    # The trash, deleted for good: its sub-pages share titles with each other and the top.
    await alice.pages.archive(top.id)
    await alice.pages.create(ws.id, "notes")
    assert len(await alice.pages.delete(top.id)) == 3
    # A whole workspace whose pages repeat titles on every level.
    again = await alice.pages.create(ws.id, "Plans")
    await alice.pages.create(ws.id, "Plans", parent_id=again.id)
    await alice.workspaces.delete(ws.id)
    with pytest.raises(NotFound):
        await alice.pages.get(again.id)


async def test_deleting_works_whatever_the_titles_around(alice: CoopeClient) -> None:
    """Pages on their way out must not meet a live page's title, whatever it is."""
    ws = await alice.workspaces.create("Team")
    trashed = await alice.pages.create(ws.id, "Old")
    child = await alice.pages.create(ws.id, "Child", parent_id=trashed.id)
    await alice.pages.archive(trashed.id)
    await alice.pages.create(ws.id, f"Deleted:{trashed.id}")
    await alice.pages.create(ws.id, f"deleted:{child.id}")
    assert sorted(await alice.pages.delete(trashed.id)) == [trashed.id, child.id]
    assert await alice.pages.trash(ws.id) == [], "nothing stuck in the trash"
    # The same for a whole workspace: every page of it leaves at once.
    first = await alice.pages.create(ws.id, "First")
    await alice.pages.create(ws.id, "Child", parent_id=first.id)
    await alice.pages.create(ws.id, f"DELETED:{first.id}")
    await alice.workspaces.delete(ws.id)
    with pytest.raises(NotFound):
        await alice.pages.get(first.id)


async def test_a_page_archived_on_its_own_keeps_its_title_when_its_parent_goes(
    alice: CoopeClient,
) -> None:
    ws = await alice.workspaces.create("Team")
    parent = await alice.pages.create(ws.id, "Parent")
    child = await alice.pages.create(ws.id, "Plans", parent_id=parent.id)
    await alice.pages.archive(child.id)  # in the trash on its own, under Parent
    await alice.pages.archive(parent.id)
    await alice.pages.create(ws.id, "Plans")
    await alice.pages.delete(parent.id)  # the child stays in the trash, now at the top
    assert [p.id for p in await alice.pages.trash(ws.id)] == [child.id]
    restored = await alice.pages.restore(child.id)
    assert (restored.parent_id, restored.title) == (None, "Plans (2)")


async def test_number_if_taken_names_a_new_page_after_its_siblings(alice: CoopeClient) -> None:
    ws = await alice.workspaces.create("Team")
    first = await alice.pages.create(ws.id, "Minutes", number_if_taken=True)
    more = [await alice.pages.create(ws.id, "MINUTES", number_if_taken=True) for _ in range(2)]
    assert [first.title, *(p.title for p in more)] == ["Minutes", "MINUTES (2)", "MINUTES (3)"]
    assert all(p.created for p in more)
    with pytest.raises(InvalidInput, match="do not go together"):
        await alice.pages.create(ws.id, "Minutes", exist_ok=True, number_if_taken=True)


async def test_a_room_name_is_never_an_id(alice: CoopeClient) -> None:
    # `##12` would be stored as "#12", which the client reads as room 12 (it strips every #).
    for digits in ("12", "#2024", "##12", "#3", "# 3"):
        with pytest.raises(InvalidInput, match="cannot read as an id"):
            await alice.chat.create_room(digits)
    room = await alice.chat.create_room("2024 plans")
    for digits in ("7", "##7"):
        with pytest.raises(InvalidInput, match="cannot read as an id"):
            await alice.chat.rename_room(room.id, digits)
    assert (await alice.chat.resolve("#2024 plans")).id == room.id


async def test_a_workspace_name_is_never_an_id(alice: CoopeClient) -> None:
    for digits in ("3", "#3", "##12"):
        with pytest.raises(InvalidInput, match="cannot read as an id"):
            await alice.workspaces.create(digits)
    ws = await alice.workspaces.create("Plans 2024")
    with pytest.raises(InvalidInput, match="cannot read as an id"):
        await alice.workspaces.rename(ws.id, "#3")
    # Page titles may: a page is also named by its path.
    page = await alice.pages.create(ws.id, "2024")
    assert (await alice.pages.resolve("Plans 2024/2024")).id == page.id
