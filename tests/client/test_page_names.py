"""`client.workspaces.resolve` and `client.pages.resolve` against a real daemon: the names people
write (`Team`, `3`, `#3`, `Team/Plans/Q3`, `Plans/Q3`) and what comes of the ones that name
nothing, or too much."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from coope.client import CoopeClient
from coope.client.names import PageEntry, page_paths
from coope.core.errors import Conflict, InvalidInput, NotFound
from coope.core.workspace_schemas import PageOut, WorkspaceOut
from tests.helpers import RunningDaemon


@pytest.fixture
async def bob(daemon: RunningDaemon, alice: CoopeClient) -> AsyncIterator[CoopeClient]:
    async with await daemon.user("bob") as client:
        yield client


@dataclass
class Team:
    """Alice's workspace `Team`: Plans / Q3 / Budget, and Notes at the top."""

    ws: WorkspaceOut
    plans: PageOut
    q3: PageOut
    budget: PageOut
    notes: PageOut


@pytest.fixture
async def team(alice: CoopeClient) -> Team:
    ws = await alice.workspaces.create("Team")
    plans = await alice.pages.create(ws.id, "Plans")
    q3 = await alice.pages.create(ws.id, "Q3", parent_id=plans.id)
    budget = await alice.pages.create(ws.id, "Budget", parent_id=q3.id)
    notes = await alice.pages.create(ws.id, "Notes")
    return Team(ws, plans, q3, budget, notes)


# --- workspaces ------------------------------------------------------------------------------


async def test_workspace_by_id_or_name_among_ones_own(alice: CoopeClient, bob: CoopeClient) -> None:
    mine = await alice.workspaces.create("Team")
    theirs = await bob.workspaces.create("Crew")
    for name in (str(mine.id), f"#{mine.id}", "Team", "team", "  TEAM  "):
        assert (await alice.workspaces.resolve(name)).id == mine.id, name
    assert (await bob.workspaces.resolve("crew")).id == theirs.id
    with pytest.raises(NotFound, match="you are in no workspace called 'team'"):
        await bob.workspaces.resolve("team")  # it exists, but not for him
    with pytest.raises(NotFound, match=f"no workspace {theirs.id}"):
        await alice.workspaces.resolve(str(theirs.id))
    with pytest.raises(NotFound, match="you are in no workspace called 'Nowhere'"):
        await alice.workspaces.resolve("Nowhere")


async def test_a_workspace_name_fits_one_workspace(alice: CoopeClient, bob: CoopeClient) -> None:
    one = await alice.workspaces.create("Twin")
    for client, name in ((alice, "twin"), (bob, "TWIN"), (bob, "Twin")):
        with pytest.raises(Conflict, match="already a workspace called"):
            await client.workspaces.create(name)
    assert (await alice.workspaces.resolve("TWIN")).id == one.id


async def test_workspace_numbers_are_ids(alice: CoopeClient, bob: CoopeClient) -> None:
    bobs = await bob.workspaces.create("Bob's")
    # No workspace is called after an id (the daemon refuses it), so a number is always one.
    for name in ("2024", "#2024", "##2024", str(bobs.id)):
        with pytest.raises(InvalidInput, match="cannot read as an id"):
            await alice.workspaces.create(name)
    mine = await alice.workspaces.create("Mine")
    for target in (str(mine.id), f"#{mine.id}"):
        assert (await alice.workspaces.resolve(target)).id == mine.id
    # The id of a workspace alice cannot see says no more than one never used.
    for target in (str(bobs.id), "2024"):
        with pytest.raises(NotFound, match=f"no workspace {target}"):
            await alice.workspaces.resolve(target)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "you are in no workspace called ''"),
        ("   ", "you are in no workspace called ''"),
        ("Te\x00am", r"you are in no workspace called 'Te\\x00am'"),
        ("///", "you are in no workspace called '///'"),
        ("0", "no workspace 0"),
        ("#0", "no workspace 0"),
        ("9" * 30, f"no workspace {'9' * 30}"),
        ("#" + "9" * 30, f"no workspace {'9' * 30}"),
        ("9" * 5000, "no workspace 9999"),  # past what `int` converts from text
        ("²", "you are in no workspace called '²'"),
    ],
)
async def test_hostile_workspace_names_are_not_found(
    alice: CoopeClient, team: Team, name: str, message: str
) -> None:
    with pytest.raises(NotFound, match=message):
        await alice.workspaces.resolve(name)


# --- pages -----------------------------------------------------------------------------------


async def test_nested_paths_with_and_without_the_workspace(alice: CoopeClient, team: Team) -> None:
    q3 = team.q3.id
    for name in (
        "Team/Plans/Q3",
        f"{team.ws.id}/Plans/Q3",
        "Plans/Q3",
        "Q3",
        "team/plans/q3",
        "/Plans/Q3/",
        "  Plans/Q3 ",
        str(q3),
        f"#{q3}",
    ):
        assert (await alice.pages.resolve(name)).id == q3, name
    assert (await alice.pages.resolve("Q3/Budget")).id == team.budget.id
    assert (await alice.pages.resolve("Team/Plans/Q3/Budget")).id == team.budget.id
    # A path leaves out leading parents only, never one in the middle.
    with pytest.raises(NotFound, match="no page called 'Plans/Budget'"):
        await alice.pages.resolve("Plans/Budget")
    with pytest.raises(NotFound, match="no page called 'Team/Nothing'"):
        await alice.pages.resolve("Team/Nothing")


async def test_entries_carry_each_page_path(alice: CoopeClient, team: Team) -> None:
    entries = await alice.pages.entries([team.ws])
    assert {e.page.id: e.path for e in entries} == {
        team.plans.id: "Team/Plans",
        team.q3.id: "Team/Plans/Q3",
        team.budget.id: "Team/Plans/Q3/Budget",
        team.notes.id: "Team/Notes",
    }
    budget = next(e for e in entries if e.page.id == team.budget.id)
    assert budget.titles == ("Plans", "Q3", "Budget")
    assert budget.names() == {
        "Team/Plans/Q3/Budget",
        f"{team.ws.id}/Plans/Q3/Budget",
        "Plans/Q3/Budget",
        "Q3/Budget",
        "Budget",
    }


def test_page_paths_stop_at_parents_not_given_and_at_loops(team: Team) -> None:
    # A page whose parent is not in the list (in the trash, say) starts its own path.
    assert page_paths([team.q3, team.budget]) == {
        team.q3.id: ("Q3",),
        team.budget.id: ("Q3", "Budget"),
    }
    # A loop in what the daemon sent ends each path where it would come round again.
    looped = team.plans.model_copy(update={"parent_id": team.budget.id})
    assert page_paths([looped, team.q3, team.budget]) == {
        team.plans.id: ("Q3", "Budget", "Plans"),
        team.q3.id: ("Budget", "Plans", "Q3"),
        team.budget.id: ("Plans", "Q3", "Budget"),
    }
    assert PageEntry(team.q3, team.ws, ("Q3",)).path == "Team/Q3"


async def test_same_title_in_two_workspaces(alice: CoopeClient) -> None:
    alpha = await alice.workspaces.create("Alpha")
    beta = await alice.workspaces.create("Beta")
    one = await alice.pages.create(alpha.id, "Readme")
    two = await alice.pages.create(beta.id, "Readme")
    with pytest.raises(InvalidInput) as found:
        await alice.pages.resolve("readme")
    assert str(found.value.message) == (
        f"'readme' could be pages {one.id} (Alpha/Readme), {two.id} (Beta/Readme):"
        " use the id or a path"
    )
    assert (await alice.pages.resolve("beta/readme")).id == two.id
    assert (await alice.pages.resolve(f"{alpha.id}/Readme")).id == one.id
    assert (await alice.pages.resolve("Readme", within=beta)).id == two.id
    with pytest.raises(InvalidInput, match=f"page {one.id} is not in workspace Beta"):
        await alice.pages.resolve(str(one.id), within=beta)
    with pytest.raises(NotFound, match="no page called 'Alpha/Readme' in Beta"):
        await alice.pages.resolve("Alpha/Readme", within=beta)
    # Within a workspace, a number that is another workspace's page id may still be a title.
    digits = await alice.pages.create(beta.id, str(one.id))
    assert (await alice.pages.resolve(str(one.id), within=beta)).id == digits.id
    with pytest.raises(InvalidInput, match=f"page {one.id} is not in workspace Beta"):
        await alice.pages.resolve(f"#{one.id}", within=beta)


async def test_other_peoples_pages_are_not_found(
    alice: CoopeClient, bob: CoopeClient, team: Team
) -> None:
    with pytest.raises(NotFound, match=f"no page {team.q3.id}"):
        await bob.pages.resolve(str(team.q3.id))
    with pytest.raises(NotFound, match=f"no page {team.q3.id}"):
        await bob.pages.resolve(f"#{team.q3.id}")
    with pytest.raises(NotFound, match="no page called 'Team/Plans/Q3'"):
        await bob.pages.resolve("Team/Plans/Q3")


async def test_page_numbers_are_ids_first_then_titles(
    alice: CoopeClient, bob: CoopeClient, team: Team
) -> None:
    hidden = await bob.pages.create((await bob.workspaces.create("Bob's")).id, "Hidden")
    year = await alice.pages.create(team.ws.id, "2024")
    shadow = await alice.pages.create(team.ws.id, str(hidden.id))
    zero = await alice.pages.create(team.ws.id, "0")
    big = await alice.pages.create(team.ws.id, "9" * 30)
    assert (await alice.pages.resolve("2024")).id == year.id
    assert (await alice.pages.resolve(str(hidden.id))).id == shadow.id
    # Numbers no page can have as its id are titles, not refused ids.
    assert (await alice.pages.resolve("0")).id == zero.id
    assert (await alice.pages.resolve("9" * 30)).id == big.id
    assert (await alice.pages.resolve("Team/2024")).id == year.id
    with pytest.raises(NotFound, match="no page 2024"):
        await alice.pages.resolve("#2024")
    # A title that is the id of a page one can read: the id wins.
    titled = await alice.pages.create(team.ws.id, str(team.notes.id))
    assert (await alice.pages.resolve(str(team.notes.id))).id == team.notes.id
    assert (await alice.pages.resolve(f"Team/{team.notes.id}")).id == titled.id
    # A number that names nothing says so as an id.
    with pytest.raises(NotFound, match="no page 987654321"):
        await alice.pages.resolve("987654321")


async def test_trash_is_searched_only_when_asked(alice: CoopeClient, team: Team) -> None:
    await alice.pages.archive(team.plans.id)
    with pytest.raises(NotFound, match="no page called 'Plans'"):
        await alice.pages.resolve("Plans")
    for name in ("Plans", "team/plans", f"{team.ws.id}/Plans"):
        found = await alice.pages.resolve(name, trash=True)
        assert (found.id, found.archived) == (team.plans.id, True), name
    # The trash lists what was archived by its root: sub-pages are found by id only.
    with pytest.raises(NotFound, match="no page called 'Q3'"):
        await alice.pages.resolve("Q3", trash=True)
    assert (await alice.pages.resolve(str(team.q3.id))).archived is True
    # A live page of the same title: alone without the trash, ambiguous with it.
    again = await alice.pages.create(team.ws.id, "Plans")
    assert (await alice.pages.resolve("Plans")).id == again.id
    with pytest.raises(InvalidInput, match=f"{team.plans.id} \\(Team/Plans\\)"):
        await alice.pages.resolve("Plans", trash=True)


async def test_case_settles_ties_and_long_lists_are_cut(alice: CoopeClient, team: Team) -> None:
    # Siblings never share a title (any case), but pages under different parents may.
    with pytest.raises(Conflict):
        await alice.pages.create(team.ws.id, "notes")
    lower = await alice.pages.create(team.ws.id, "notes", parent_id=team.plans.id)
    assert (await alice.pages.resolve("notes")).id == lower.id
    assert (await alice.pages.resolve("Notes")).id == team.notes.id
    with pytest.raises(InvalidInput, match="'NOTES' could be pages"):
        await alice.pages.resolve("NOTES")
    parents = [await alice.pages.create(team.ws.id, f"P{i:02}") for i in range(12)]
    same = [await alice.pages.create(team.ws.id, "Same", parent_id=p.id) for p in parents]
    with pytest.raises(InvalidInput) as found:
        await alice.pages.resolve("Same")
    message = found.value.message
    assert all(f"{p.id} (Team/P{i:02}/Same)" in message for i, p in enumerate(same[:10]))
    assert str(same[10].id) not in message and "and 2 more: use the id or a path" in message


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "no page called ''"),
        ("  ", "no page called ''"),
        ("///", "no page called '///'"),
        ("Q3\x00", r"no page called 'Q3\\x00'"),
        ("\x00/Plans", r"no page called '\\x00/Plans'"),
        ("#", "no page called '#'"),
        ("#0", "no page 0"),
        ("0", "no page 0"),
        ("9" * 30, f"no page {'9' * 30}"),
        ("#" + "9" * 30, f"no page {'9' * 30}"),
        ("9" * 5000, "no page 9999"),
        ("#" + "9" * 5000, "no page 9999"),
        ("١٢", "no page called '١٢'"),  # Arabic-Indic digits: a title, not page 12
        ("²", "no page called '²'"),
    ],
)
async def test_hostile_page_names_are_not_found(
    alice: CoopeClient, team: Team, name: str, message: str
) -> None:
    with pytest.raises(NotFound, match=message):
        await alice.pages.resolve(name)
