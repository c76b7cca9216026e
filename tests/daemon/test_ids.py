"""Ids are never used twice: an id a script saved never comes to name something new.

Workspaces and pages are deleted through the API. Users, tokens, rooms, messages are never
deleted by the daemon today (revoked, left, tombstoned), so for each kind the newest row is
deleted in the database itself, as a future delete would, and the next one must still get a new
id.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from coope.client import CoopeClient
from coope.core.models import Role
from coope.daemon.storage import NewUser
from coope.daemon.storage.interface import NewPage
from coope.daemon.storage.sqlite import SqliteStorage


async def test_a_deleted_workspace_id_is_not_given_again(alice: CoopeClient) -> None:
    first = await alice.workspaces.create("First")
    second = await alice.workspaces.create("Second")
    await alice.workspaces.delete(second.id)
    third = await alice.workspaces.create("Third")
    assert third.id > second.id > first.id


async def test_a_deleted_page_id_is_not_given_again(alice: CoopeClient) -> None:
    ws = await alice.workspaces.create("Team")
    await alice.pages.create(ws.id, "Keep")
    gone = await alice.pages.create(ws.id, "Gone")
    await alice.pages.archive(gone.id)
    await alice.pages.delete(gone.id)
    again = await alice.pages.create(ws.id, "Gone")
    assert again.id > gone.id


async def test_a_deleted_workspaces_pages_ids_are_not_given_again(alice: CoopeClient) -> None:
    ws = await alice.workspaces.create("Team")
    page = await alice.pages.create(ws.id, "Plans")
    await alice.workspaces.delete(ws.id)
    other = await alice.workspaces.create("Other")
    assert (await alice.pages.create(other.id, "Plans")).id > page.id


Make = Callable[[SqliteStorage, int], Awaitable[int]]


async def _user(storage: SqliteStorage, n: int) -> int:
    new = NewUser(f"user{n}", f"User {n}", "x", Role.USER, float(n))
    return (await storage.create_user(new)).id


async def _token(storage: SqliteStorage, n: int) -> int:
    return (await storage.create_token(1, f"t{n}", "coope_x", f"hash{n}", float(n), None)).id


async def _room(storage: SqliteStorage, n: int) -> int:
    return (await storage.create_group(1, f"room{n}", [], float(n))).id


async def _message(storage: SqliteStorage, n: int) -> int:
    message, _ = await storage.post_message(1, 1, f"client{n}", f"hello {n}", None, float(n))
    return message.id


async def _workspace(storage: SqliteStorage, n: int) -> int:
    return (await storage.create_workspace(f"ws{n}", 1, float(n))).id


async def _page(storage: SqliteStorage, n: int) -> int:
    return (await storage.create_page(NewPage(1, None, f"page{n}", "", f"{n}", 1, 1.0), None)).id


KINDS: dict[str, tuple[str, Make]] = {
    "users": ("users", _user),
    "api tokens": ("api_tokens", _token),
    "rooms": ("rooms", _room),
    "messages": ("messages", _message),
    "workspaces": ("workspaces", _workspace),
    "pages": ("pages", _page),
}


@pytest.mark.parametrize("kind", list(KINDS))
async def test_the_newest_rows_id_is_not_given_again(tmp_path: Path, kind: str) -> None:
    table, make = KINDS[kind]
    storage = SqliteStorage(tmp_path / "coope.db")
    await storage.start()
    try:
        # Something to hang the rows on: user 1, room 1, workspace 1.
        await storage.create_user(NewUser("root", "Root", "x", Role.ADMIN, 0.0))
        await storage.create_group(1, "base", [], 0.0)
        await storage.create_workspace("base", 1, 0.0)
        first = await make(storage, 1)
        newest = await make(storage, 2)

        def delete(conn: sqlite3.Connection) -> None:
            if table == "rooms":
                conn.execute("DELETE FROM room_members WHERE room_id = ?", (newest,))
            conn.execute(f"DELETE FROM {table} WHERE id = ?", (newest,))

        await storage.db.write(delete)
        again = await make(storage, 3)
        assert again > newest > first
    finally:
        await storage.aclose()
