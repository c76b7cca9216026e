"""Writers at the same moment: what one daemon's SQLite does one at a time, several daemons on
PostgreSQL do at once, and every rule must still hold.

Each test starts its writes together (`asyncio.gather`), so on PostgreSQL they run on several
pool threads, each in its own transaction, and the server interleaves them.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest

from coope.core.errors import Conflict, Gone
from coope.core.models import Invite, Role, Session, User, WorkspaceRole
from coope.daemon.storage import NewUser, Storage
from coope.daemon.storage.interface import FriendRequestOutcome, NewPage
from coope.daemon.storage.sqlite import SqliteStorage
from tests.helpers import assert_eventually
from tests.tools import PostgresServer

WRITERS = 8


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    storage: Storage
    if request.param == "postgres":
        from coope.daemon.storage.postgres import PostgresStorage

        server: PostgresServer = request.getfixturevalue("postgres")
        url = await asyncio.to_thread(server.url, f"races_{uuid.uuid4().hex[:12]}")
        storage = PostgresStorage(url, writers=WRITERS)
    else:
        storage = SqliteStorage(tmp_path / "coope.db")
    await storage.start()
    yield storage
    await storage.aclose()


def _new(name: str, role: Role = Role.USER) -> NewUser:
    return NewUser(username=name, display_name=name, password_hash="x", role=role, created_at=1.0)


async def _users(store: Storage, *names: str) -> list[User]:
    return [await store.create_user(_new(name)) for name in names]


async def test_of_first_signups_at_once_one_becomes_the_admin(store: Storage) -> None:
    # Every writer connected beforehand, so that the signups meet in the server.
    await asyncio.gather(*(store.forget_webhook_deliveries(before=0) for _ in range(WRITERS)))
    users = await asyncio.gather(*(store.create_user(_new(f"u{i}")) for i in range(WRITERS)))
    assert [u.role for u in users].count(Role.ADMIN) == 1


async def test_admins_demoting_each_other_at_once_leave_one(store: Storage) -> None:
    root = await store.create_user(_new("root"))
    for round_ in range(5):
        other = await store.create_user(_new(f"admin{round_}"))
        await store.set_role(other.id, Role.ADMIN)
        outcomes = await asyncio.gather(
            store.set_role(root.id, Role.USER),
            store.set_role(other.id, Role.USER),
            return_exceptions=True,
        )
        assert sum(isinstance(o, Conflict) for o in outcomes) == 1, outcomes
        admins = [u for u in (await store.list_users(None, 100, 0))[0] if u.is_admin]
        assert len(admins) == 1
        root = admins[0]


async def test_messages_sent_at_once_take_every_number_once(store: Storage) -> None:
    alice, bob = await _users(store, "alice", "bob")
    room = await store.create_group(alice.id, "general", [bob.id], 1.0)
    sent = await asyncio.gather(
        *(
            store.post_message(room.id, (alice, bob)[n % 2].id, f"c{n}", f"hi {n}", None, 2.0)
            for n in range(40)
        )
    )
    assert sorted(message.seq for message, _ in sent) == list(range(1, 41))
    # A retried send (the same client id) at the same time is stored once.
    again = await asyncio.gather(
        *(store.post_message(room.id, alice.id, "same", "once", None, 3.0) for _ in range(WRITERS))
    )
    assert len({message.id for message, _ in again}) == 1
    assert [stored for _, stored in again].count(True) == 1


async def test_an_edit_racing_a_delete_never_brings_the_message_back(store: Storage) -> None:
    alice, bob = await _users(store, "alice", "bob")
    room = await store.create_group(alice.id, "general", [bob.id], 1.0)
    for n in range(5):
        message, _ = await store.post_message(room.id, alice.id, f"m{n}", "text", None, 2.0)
        await asyncio.gather(
            store.delete_message(message.id, 3.0),
            store.edit_message(message.id, "edited", 3.0),
            store.set_reaction(message.id, bob.id, "👍", True, 3.0),
            return_exceptions=True,
        )
        final = await store.get_message(message.id)
        assert final is not None and final.deleted
        assert (final.body, final.reactions) == ("", {})


async def test_the_first_direct_message_from_both_sides_makes_one_room(store: Storage) -> None:
    alice, bob = await _users(store, "alice", "bob")
    outcomes = await asyncio.gather(
        *(
            store.post_direct(a.id, b.id, f"c{n}", "hello", None, 1.0)
            for n, (a, b) in enumerate([(alice, bob), (bob, alice)] * 3)
        )
    )
    assert len({room.id for room, *_ in outcomes}) == 1


async def test_an_invite_for_one_use_lets_one_person_in(store: Storage) -> None:
    owner, *joiners = await _users(store, "owner", *(f"j{i}" for i in range(WRITERS)))
    workspace = await store.create_workspace("Team", owner.id, 1.0)
    invite = Invite("code1", workspace.id, WorkspaceRole.EDITOR, owner.id, 1.0, None, 1, 0, False)
    await store.create_invite(invite)
    outcomes = await asyncio.gather(
        *(store.redeem_invite("code1", j.id, 2.0) for j in joiners), return_exceptions=True
    )
    assert sum(not isinstance(o, BaseException) for o in outcomes) == 1, outcomes
    assert all(isinstance(o, Gone) for o in outcomes if isinstance(o, BaseException))
    assert len(await store.workspace_members(workspace.id)) == 2


async def test_friend_requests_that_cross_make_friends(store: Storage) -> None:
    people = await _users(store, *(f"p{i}" for i in range(6)))
    pairs = [(a, b) for i, a in enumerate(people) for b in people[i + 1 :]]
    outcomes = await asyncio.gather(
        *(store.request_friend(x.id, y.id, 1.0) for a, b in pairs for x, y in ((a, b), (b, a)))
    )
    assert outcomes.count(FriendRequestOutcome.FRIENDS) == len(pairs)
    for person in people:
        assert sorted(await store.friend_ids(person.id)) == sorted(
            p.id for p in people if p is not person
        )
        incoming, outgoing = await store.friend_requests(person.id)
        assert (incoming, outgoing) == ([], [])


async def test_page_updates_appended_at_once_take_every_number_once(store: Storage) -> None:
    owner = await store.create_user(_new("owner"))
    workspace = await store.create_workspace("Team", owner.id, 1.0)
    page = await store.create_page(NewPage(workspace.id, None, "P", "", "a", owner.id, 1.0), None)
    seqs = await asyncio.gather(*(store.append_update(page.id, bytes([n]), 2.0) for n in range(30)))
    assert sorted(seqs) == list(range(1, 31))
    # A compaction that finishes late never puts an older snapshot over a newer one.
    await store.compact(page.id, b"newer", 20)
    await store.compact(page.id, b"older", 10)
    snapshot, updates, last = await store.load_content(page.id)
    assert (snapshot, len(updates), last) == (b"newer", 10, 30)


async def test_pages_moved_under_each_other_at_once_make_no_cycle(store: Storage) -> None:
    owner = await store.create_user(_new("owner"))
    workspace = await store.create_workspace("Team", owner.id, 1.0)
    for round_ in range(5):
        a, b = [
            await store.create_page(
                NewPage(workspace.id, None, f"{name}{round_}", "", name, owner.id, 1.0), None
            )
            for name in "ab"
        ]
        await asyncio.gather(
            store.move_page(a.id, b.id, "a", 2.0),
            store.move_page(b.id, a.id, "a", 2.0),
            return_exceptions=True,
        )
        moved = [await store.get_page(p.id) for p in (a, b)]
        assert [p.parent_id for p in moved if p is not None].count(None) >= 1


@pytest.mark.parametrize("store", ["postgres"], indirect=True)
async def test_a_login_waiting_on_a_password_reset_sees_it(store: Storage) -> None:
    """The reset is under way (its row written, not yet committed) when the login's session is
    inserted: the insert waits for it, then sees the new hash, and makes no session."""
    alice = await store.create_user(_new("alice"))
    url = store.db.url  # type: ignore[attr-defined]
    with psycopg.connect(url) as reset:  # another daemon's transaction, held open
        reset.execute("UPDATE users SET password_hash = 'new' WHERE id = %s", (alice.id,))
        session = Session("jti-1", alice.id, 1.0, 2.0, False)
        inserting = asyncio.ensure_future(store.create_session_if_current(session, "x"))
        await assert_eventually(
            lambda: _waiting_on_a_lock(url), what="the insert waits on the reset"
        )
        reset.commit()
    assert await inserting is False
    assert await store.get_session("jti-1") is None


def _waiting_on_a_lock(url: str) -> bool:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT COUNT(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchone()
    return bool(row and row[0])
