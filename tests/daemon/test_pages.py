"""Pages: the tree, the trash, covers, search, and who may do what."""

from __future__ import annotations

import struct
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from coope.client import CoopeClient
from coope.core.errors import CoopeError, InvalidInput, NotFound
from tests.helpers import RunningDaemon, assert_eventually


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


@dataclass
class Team:
    """A workspace with one member of each role, plus an outsider and the daemon's admin."""

    daemon: RunningDaemon
    workspace_id: int
    admin: CoopeClient
    owner: CoopeClient
    editor: CoopeClient
    viewer: CoopeClient
    outsider: CoopeClient


@pytest.fixture
async def team(daemon: RunningDaemon) -> AsyncIterator[Team]:
    clients = [await daemon.user(n) for n in ("root", "olga", "eddie", "vicky", "otto")]
    admin, owner, editor, viewer, outsider = clients
    ws = await owner.workspaces.create("Team")
    await owner.workspaces.set_member(ws.id, "eddie", "editor")
    await owner.workspaces.set_member(ws.id, "vicky", "viewer")
    yield Team(daemon, ws.id, admin, owner, editor, viewer, outsider)
    for client in clients:
        await client.aclose()


async def test_tree_move_archive_restore_delete(team: Team) -> None:
    pages = team.editor.pages
    root = await pages.create(team.workspace_id, "Root", icon="📚")
    child = await pages.create(team.workspace_id, "Child", parent_id=root.id)
    grandchild = await pages.create(team.workspace_id, "Grandchild", parent_id=child.id)
    other = await pages.create(team.workspace_id, "Other")
    tree = {p.id: p.parent_id for p in await pages.tree(team.workspace_id)}
    assert tree == {root.id: None, child.id: root.id, grandchild.id: child.id, other.id: None}

    with pytest.raises(InvalidInput, match="under itself"):
        await pages.move(root.id, grandchild.id)
    with pytest.raises(InvalidInput, match="under itself"):
        await pages.move(root.id, root.id)
    moved = await pages.move(child.id, other.id)
    assert moved.parent_id == other.id
    first = await pages.create(team.workspace_id, "First", parent_id=other.id)
    await pages.move(first.id, other.id, after=None)
    await pages.move(first.id, None)
    top = [p.title for p in await pages.tree(team.workspace_id) if p.parent_id is None]
    assert top == ["Root", "Other", "First"]  # appended last, in order

    assert sorted(await pages.archive(other.id)) == sorted([other.id, child.id, grandchild.id])
    assert [p.title for p in await pages.trash(team.workspace_id)] == ["Other"]
    assert {p.title for p in await pages.tree(team.workspace_id)} == {"Root", "First"}
    with pytest.raises(InvalidInput, match="trash"):
        await pages.append(child.id, "edit a trashed page")
    with pytest.raises(InvalidInput, match="archive"):
        await pages.delete(root.id)  # live pages are not deleted straight away
    restored = await pages.restore(other.id)
    assert (restored.archived, restored.parent_id) == (False, None)
    assert len(await pages.tree(team.workspace_id)) == 5

    await pages.archive(child.id)
    assert sorted(await pages.delete(child.id)) == sorted([child.id, grandchild.id])
    assert await pages.trash(team.workspace_id) == []
    with pytest.raises(NotFound):
        await pages.get(grandchild.id)


# --- ids of other workspaces answer like ids that do not exist ---------------------------------


@dataclass
class ForeignIds:
    """Page ids that are not pages of the team's workspace, for one reason each."""

    stranger: int  # a page of a workspace the caller is not in
    elsewhere: int  # a page of another workspace the caller is in
    trashed: int  # a page of the same workspace, in the trash
    missing: int  # no page at all


@pytest.fixture
async def foreign(team: Team) -> ForeignIds:
    stranger_ws = await team.outsider.workspaces.create("Otto's")
    stranger = await team.outsider.pages.create(stranger_ws.id, "Otto's page")
    other_ws = await team.editor.workspaces.create("Eddie's own")
    elsewhere = await team.editor.pages.create(other_ws.id, "Eddie's page")
    trashed = await team.editor.pages.create(team.workspace_id, "Trashed")
    await team.editor.pages.archive(trashed.id)
    return ForeignIds(stranger.id, elsewhere.id, trashed.id, stranger.id + 1000)


async def _answer(call: Awaitable[Any], *ids: int) -> tuple[str, str]:
    """The error class and message a call gets, with the ids it names made alike."""
    with pytest.raises(CoopeError) as caught:
        await call
    message = caught.value.message
    for page_id in ids:
        message = message.replace(str(page_id), "N")
    return type(caught.value).__name__, message


ParentCall = Callable[[CoopeClient, int, int, int], Awaitable[Any]]
PARENT_CALLS: list[tuple[str, ParentCall]] = [
    ("create under", lambda c, ws, page, x: c.pages.create(ws, "child", parent_id=x)),
    ("move under", lambda c, ws, page, x: c.pages.move(page, x)),
    ("move under, after", lambda c, ws, page, x: c.pages.move(page, x, after=page)),
]


@pytest.mark.parametrize(("name", "call"), PARENT_CALLS, ids=[n for n, _ in PARENT_CALLS])
async def test_a_parent_that_will_not_do_gets_one_answer(
    team: Team, foreign: ForeignIds, name: str, call: ParentCall
) -> None:
    page = await team.editor.pages.create(team.workspace_id, "Mover")
    answers = {
        reason: await _answer(call(team.editor, team.workspace_id, page.id, parent_id), parent_id)
        for reason, parent_id in vars(foreign).items()
    }
    expected = ("InvalidInput", "the parent must be a live page of the same workspace")
    assert answers == dict.fromkeys(answers, expected), name
    assert (await team.editor.pages.get(page.id)).parent_id is None


async def test_a_sibling_that_is_not_one_gets_one_answer(team: Team, foreign: ForeignIds) -> None:
    page = await team.editor.pages.create(team.workspace_id, "Mover")
    answers = {
        reason: await _answer(team.editor.pages.move(page.id, None, after=after), after)
        for reason, after in vars(foreign).items()
    }
    expected = ("InvalidInput", "page N is not among the new siblings")
    assert answers == dict.fromkeys(answers, expected)


PathCall = Callable[[CoopeClient, int], Awaitable[Any]]
PATH_CALLS: list[tuple[str, PathCall]] = [
    ("get", lambda c, p: c.pages.get(p)),
    ("content", lambda c, p: c.pages.content(p)),
    ("state", lambda c, p: c.pages.state(p)),
    ("rename", lambda c, p: c.pages.rename(p, "mine now")),
    ("icon", lambda c, p: c.pages.set_icon(p, "✨")),
    ("move", lambda c, p: c.pages.move(p, None)),
    ("archive", lambda c, p: c.pages.archive(p)),
    ("restore", lambda c, p: c.pages.restore(p)),
    ("delete", lambda c, p: c.pages.delete(p)),
    ("append", lambda c, p: c.pages.append(p, "more")),
    ("import", lambda c, p: c.pages.import_markdown(p, "- item")),
    ("update", lambda c, p: c.pages.apply_update(p, b"\x00\x00")),
    ("set cover", lambda c, p: c.pages.set_cover(p, tiny_png())),
    ("get cover", lambda c, p: c.pages.cover(p)),
    ("clear cover", lambda c, p: c.pages.clear_cover(p)),
]


@pytest.mark.parametrize(("name", "call"), PATH_CALLS, ids=[n for n, _ in PATH_CALLS])
async def test_another_workspaces_page_is_answered_like_a_missing_one(
    team: Team, foreign: ForeignIds, name: str, call: PathCall
) -> None:
    # The stranger's page is archived, and has a cover: nothing about its state may show.
    await team.outsider.pages.set_cover(foreign.stranger, tiny_png())
    stranger = await _answer(call(team.editor, foreign.stranger), foreign.stranger)
    missing = await _answer(call(team.editor, foreign.missing), foreign.missing)
    assert stranger == missing == ("NotFound", "no page N"), name
    await team.outsider.pages.archive(foreign.stranger)
    archived = await _answer(call(team.editor, foreign.stranger), foreign.stranger)
    assert archived == missing, name


async def test_search_finds_titles_and_text_the_user_may_read(team: Team) -> None:
    page = await team.editor.pages.create(
        team.workspace_id, "Release plan", markdown="# Goals\n\nShip the *kettle* feature"
    )
    await team.editor.pages.append(page.id, "a quokka appears")
    secret_ws = await team.outsider.workspaces.create("Otto's")
    await team.outsider.pages.create(secret_ws.id, "quokka diary", markdown="quokka quokka")

    async def found(client: CoopeClient, query: str) -> list[str]:
        return [h.page.title for h in await client.pages.search(query)]

    assert await found(team.viewer, "release") == ["Release plan"]
    assert await found(team.viewer, "kett") == ["Release plan"]  # prefixes match
    await assert_eventually(lambda: _contains(team.viewer, "quokka", ["Release plan"]))
    assert await found(team.outsider, "quokka") == ["quokka diary"]
    assert await found(team.viewer, 'AND "OR (') == []  # query syntax is text, not operators
    await team.editor.pages.archive(page.id)
    assert await found(team.viewer, "release") == []


async def _contains(client: CoopeClient, query: str, titles: list[str]) -> bool:
    return [h.page.title for h in await client.pages.search(query)] == titles


Call = Callable[[Team, int], Awaitable[Any]]

# (action, lowest role that may do it). Roles in order: outsider < viewer < editor < owner; the
# daemon's admin may do everything an owner may.
MATRIX: list[tuple[str, str, Call]] = [
    ("read tree", "viewer", lambda t, p: t.pages.tree(t.workspace_id)),
    ("read page", "viewer", lambda t, p: t.pages.get(p)),
    ("read content", "viewer", lambda t, p: t.pages.content(p)),
    ("read state", "viewer", lambda t, p: t.pages.state(p)),
    ("list trash", "viewer", lambda t, p: t.pages.trash(t.workspace_id)),
    ("list members", "viewer", lambda t, p: t.workspaces.members(t.workspace_id)),
    ("create page", "editor", lambda t, p: t.pages.create(t.workspace_id, "new")),
    ("rename page", "editor", lambda t, p: t.pages.rename(p, "renamed")),
    ("set icon", "editor", lambda t, p: t.pages.set_icon(p, "✨")),
    ("append", "editor", lambda t, p: t.pages.append(p, "more")),
    ("import", "editor", lambda t, p: t.pages.import_markdown(p, "- item")),
    ("move", "editor", lambda t, p: t.pages.move(p, None)),
    ("set cover", "editor", lambda t, p: t.pages.set_cover(p, tiny_png())),
    ("archive", "editor", lambda t, p: t.pages.archive(p)),
    ("rename workspace", "owner", lambda t, p: t.workspaces.rename(t.workspace_id, "Renamed")),
    ("invite", "owner", lambda t, p: t.workspaces.invite(t.workspace_id)),
    ("list invites", "owner", lambda t, p: t.workspaces.invites(t.workspace_id)),
    ("set member", "owner", lambda t, p: t.workspaces.set_member(t.workspace_id, "otto", "viewer")),
]
RANK = {"outsider": 0, "viewer": 1, "editor": 2, "owner": 3, "admin": 3}


class _As:
    """A `Team` seen through one member's client: `.pages`, `.workspaces`, `.workspace_id`."""

    def __init__(self, team: Team, client: CoopeClient) -> None:
        self.pages, self.workspaces, self.workspace_id = (
            client.pages,
            client.workspaces,
            team.workspace_id,
        )


@pytest.mark.parametrize("role", ["outsider", "viewer", "editor", "owner", "admin"])
async def test_permission_matrix(team: Team, role: str) -> None:
    client = getattr(team, role)
    for action, needed, call in MATRIX:
        page = await team.owner.pages.create(team.workspace_id, f"page for {action}")
        try:
            await call(_As(team, client), page.id)  # type: ignore[arg-type]
            outcome = "ok"
        except CoopeError as exc:
            outcome = type(exc).__name__
        if RANK[role] >= RANK[needed]:
            expected = "ok"
        elif role == "outsider":
            expected = "NotFound"  # it does not exist for them
        else:
            expected = "Forbidden"
        assert outcome == expected, f"{role} / {action}: {outcome}"
