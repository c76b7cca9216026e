"""Account administration of identity-provider accounts: an account an admin deleted stays
deleted whatever the provider sends later, and the provider's names follow the display name rule
(made to fit, never refused)."""

from __future__ import annotations

import pytest

from coope.client import CoopeClient
from coope.core.schemas import UserOut
from tests.conftest import DaemonFactory
from tests.daemon.identity import (
    accepted,
    new_webhook_secret,
    send_webhook,
    user_deleted,
    user_event,
)
from tests.helpers import RunningDaemon


@pytest.fixture
def secret() -> str:
    return new_webhook_secret()


@pytest.fixture
async def daemon(start_daemon: DaemonFactory, secret: str) -> RunningDaemon:
    """Overrides conftest's `daemon` (and so `admin`): this one accepts webhooks."""
    return await start_daemon(clerk_webhook_secret=secret)


async def _everyone(admin: CoopeClient) -> list[UserOut]:
    return (await admin.admin.users(limit=500)).users


@pytest.mark.parametrize(
    "later",
    [
        user_event(kind="user.updated", first_name="Back"),
        user_event(kind="user.created", username="alice2"),
        user_deleted(),
    ],
    ids=["updated", "created", "deleted"],
)
async def test_an_account_an_admin_deleted_stays_deleted(
    daemon: RunningDaemon, secret: str, admin: CoopeClient, later: dict[str, object]
) -> None:
    made = await accepted(daemon, secret, user_event())
    assert made is not None
    await admin.admin.delete_user("alice")
    before = await _everyone(admin)

    delivery = await send_webhook(daemon, secret, later)
    assert (delivery.status, delivery.body) == (200, {"received": True, "user": None})
    assert await _everyone(admin) == before, "no account came back or was made"
    [tombstone] = [u for u in before if u.id == made.id]
    assert (tombstone.deleted, tombstone.disabled, tombstone.username) == (
        True,
        True,
        f"deleted:{made.id}",
    )
    assert tombstone.external_id == "user_abc", "the provider's id stays, to find the tombstone"


async def test_the_old_username_is_free_after_the_deletion(
    daemon: RunningDaemon, secret: str, admin: CoopeClient
) -> None:
    await accepted(daemon, secret, user_event())
    await admin.admin.delete_user("alice")
    # Another person of the provider may take the name now.
    other = await accepted(daemon, secret, user_event("user_other"))
    assert other is not None and (other.username, other.deleted) == ("alice", False)


@pytest.mark.parametrize(
    ("first_name", "username", "shown"),
    [
        ("x" * 200, "alice", "x" * 64),  # cut at the rule's length, not refused
        ("Al " + "y" * 70, "alice", "Al " + "y" * 61),
        ("x" * 63 + " z", "alice", "x" * 63),  # no space left dangling at the cut
        ("\u202eecilA", "alice", "ecilA"),  # a direction override is dropped
        ("Al\u2066ice\u2069", "alice", "Alice"),  # and so is an isolate
        ("Al \t  ice", "alice", "Al ice"),  # one space for each run of white space
        ("Deleted", "alice", "alice"),  # "Deleted User": what deleted accounts show
        ("\u200b\u200d", "alice", "alice"),  # nothing to see
    ],
    ids=["long", "long-words", "cut-at-space", "override", "isolate", "spaces", "deleted", "empty"],
)
async def test_provider_names_follow_the_display_name_rule(
    daemon: RunningDaemon, secret: str, first_name: str, username: str, shown: str
) -> None:
    last_name = "User" if first_name == "Deleted" else None
    payload = user_event(first_name=first_name, last_name=last_name, username=username)
    user = await accepted(daemon, secret, payload)
    assert user is not None and user.display_name == shown
