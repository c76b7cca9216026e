"""Clerk user sync: svix-signed webhooks against a real daemon, checked through the admin API."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from svix.webhooks import Webhook

from coope.client import CoopeClient
from coope.core.errors import Conflict, Unauthenticated
from coope.core.schemas import UserOut
from coope.daemon.services.clerk import DELIVERY_RETENTION_S
from coope.daemon.storage import ExternalProfile
from coope.daemon.storage.interface import WebhookDelivery
from coope.daemon.storage.sqlite import SqliteStorage
from tests.conftest import DaemonFactory
from tests.daemon.identity import (
    WEBHOOK_PATH,
    Delivery,
    accepted,
    new_webhook_secret,
    send_webhook,
    user_deleted,
    user_event,
)
from tests.helpers import PASSWORD, RunningDaemon

# --- helpers ---------------------------------------------------------------------------------


async def find_users(admin: CoopeClient, search: str) -> list[UserOut]:
    return (await admin.admin.users(search=search)).users


async def find_external(admin: CoopeClient, external_id: str) -> UserOut | None:
    found = [u for u in (await admin.admin.users(limit=200)).users if u.external_id == external_id]
    assert len(found) <= 1, found
    return found[0] if found else None


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def secret() -> str:
    return new_webhook_secret()


@pytest.fixture
async def daemon(start_daemon: DaemonFactory, secret: str) -> RunningDaemon:
    """Overrides conftest's `daemon` (and so `admin`, `alice`): this one accepts webhooks."""
    return await start_daemon(clerk_webhook_secret=secret)


# --- applying deliveries ----------------------------------------------------------------------


async def test_user_created_makes_an_account(
    daemon: RunningDaemon, secret: str, admin: CoopeClient
) -> None:
    user = await accepted(daemon, secret, user_event())
    assert user is not None
    listed = await find_users(admin, "alice")
    assert [(u.id, u.username) for u in listed] == [(user.id, "alice")]
    alice = listed[0]
    assert alice.external_id == "user_abc"
    assert alice.email == "alice@example.com"
    assert alice.display_name == "Alice Liddell"
    assert (alice.role, alice.disabled) == ("user", False)


async def test_primary_email_is_chosen_among_several(
    daemon: RunningDaemon, secret: str, admin: CoopeClient
) -> None:
    payload = user_event(email="old@example.com")
    payload["data"]["email_addresses"].append({"id": "idn_2", "email_address": "main@example.com"})
    payload["data"]["primary_email_address_id"] = "idn_2"
    await accepted(daemon, secret, payload)
    synced = await find_external(admin, "user_abc")
    assert synced is not None and synced.email == "main@example.com"


async def test_webhook_account_has_no_usable_password(
    daemon: RunningDaemon, secret: str, admin: CoopeClient
) -> None:
    await accepted(daemon, secret, user_event())
    async with daemon.client() as client:
        with pytest.raises(Unauthenticated, match="wrong username or password"):
            await client.auth.login("alice", PASSWORD)
        with pytest.raises(Unauthenticated, match="wrong username or password"):
            await client.auth.login("alice", "")


async def test_user_updated_changes_the_same_account(
    daemon: RunningDaemon, secret: str, admin: CoopeClient
) -> None:
    created = await accepted(daemon, secret, user_event())
    updated = await accepted(
        daemon,
        secret,
        user_event(
            kind="user.updated",
            username="alicia",
            first_name="Alicia",
            email="alicia@example.org",
        ),
    )
    assert created is not None and updated is not None
    assert updated.id == created.id
    synced = await find_external(admin, "user_abc")
    assert synced is not None
    assert (synced.id, synced.username, synced.display_name, synced.email) == (
        created.id,
        "alicia",
        "Alicia Liddell",
        "alicia@example.org",
    )
    assert await find_users(admin, "alice") == []
    assert (await admin.admin.users()).total == 2  # root and the synced user, nobody else


async def test_user_deleted_disables_and_keeps_the_data(
    daemon: RunningDaemon, secret: str, admin: CoopeClient
) -> None:
    created = await accepted(daemon, secret, user_event())
    deleted = await accepted(daemon, secret, user_deleted())
    assert created is not None and deleted is not None
    assert (deleted.id, deleted.disabled) == (created.id, True)
    listed = await find_users(admin, "alice")
    assert len(listed) == 1
    kept = listed[0]
    assert (kept.id, kept.disabled) == (created.id, True)
    assert (kept.username, kept.display_name, kept.email, kept.external_id) == (
        "alice",
        "Alice Liddell",
        "alice@example.com",
        "user_abc",
    )


async def test_deleting_an_unknown_user_is_received_and_changes_nothing(
    daemon: RunningDaemon, secret: str, admin: CoopeClient
) -> None:
    before = await admin.admin.users()
    delivery = await send_webhook(daemon, secret, user_deleted("user_nobody"))
    assert (delivery.status, delivery.body) == (200, {"received": True, "user": None})
    assert await admin.admin.users() == before


async def test_user_updated_after_deletion_keeps_the_account_disabled(
    daemon: RunningDaemon, secret: str, admin: CoopeClient
) -> None:
    # svix does not promise order: a retried user.updated may land after user.deleted. Deletion
    # at the provider is final, so a late update refreshes the profile but never re-enables.
    created = await accepted(daemon, secret, user_event())
    await accepted(daemon, secret, user_deleted())
    updated = await accepted(daemon, secret, user_event(kind="user.updated", first_name="Al"))
    assert created is not None and updated is not None
    synced = await find_external(admin, "user_abc")
    assert synced is not None
    assert (synced.id, synced.disabled, synced.display_name) == (created.id, True, "Al Liddell")


async def test_profile_update_does_not_undo_an_admin_disable(
    daemon: RunningDaemon, secret: str, admin: CoopeClient
) -> None:
    # An admin locks a synced account out; the user then edits their profile at the provider.
    # That routine user.updated must not silently unlock the account.
    await accepted(daemon, secret, user_event())
    await admin.admin.disable("alice")
    await accepted(daemon, secret, user_event(kind="user.updated", first_name="Ally"))
    synced = await find_external(admin, "user_abc")
    assert synced is not None and synced.display_name == "Ally Liddell"
    assert synced.disabled is True, "a profile update re-enabled an account an admin disabled"


async def test_username_collision_with_a_local_account_gets_a_suffix(
    daemon: RunningDaemon, secret: str, admin: CoopeClient, alice: CoopeClient
) -> None:
    local = (await alice.auth.whoami()).user
    synced = await accepted(daemon, secret, user_event())
    assert synced is not None
    assert synced.username == "alice-2"
    assert synced.id != local.id
    by_name = {u.username: u for u in await find_users(admin, "alice")}
    assert set(by_name) == {"alice", "alice-2"}
    assert (by_name["alice"].id, by_name["alice"].external_id) == (local.id, None)
    assert by_name["alice-2"].external_id == "user_abc"
    # The local account is untouched and still logs in with its password.
    assert (await alice.auth.whoami()).user.username == "alice"
    async with daemon.client() as again:
        assert (await again.auth.login("alice", PASSWORD)).user.id == local.id


async def test_username_is_derived_when_the_provider_has_none(
    daemon: RunningDaemon, secret: str, admin: CoopeClient
) -> None:
    synced = await accepted(
        daemon, secret, user_event("user_x", username=None, email="Bob.Smith@example.com")
    )
    assert synced is not None
    assert (synced.username, synced.display_name) == ("bob.smith", "Alice Liddell")


async def test_first_account_of_a_daemon_is_admin_even_from_a_webhook(
    daemon: RunningDaemon, secret: str
) -> None:
    first = await accepted(daemon, secret, user_event())
    second = await accepted(daemon, secret, user_event("user_def", username="bob", email=None))
    assert first is not None and second is not None
    assert (first.role, second.role) == ("admin", "user")
    async with daemon.client() as client:
        session = await client.auth.signup("carol", PASSWORD)
    assert (session.first_user, session.user.role) == (False, "user")


# --- refusing deliveries ----------------------------------------------------------------------


async def test_forged_signature_is_refused_and_changes_nothing(
    daemon: RunningDaemon, secret: str, admin: CoopeClient
) -> None:
    delivery = await send_webhook(daemon, new_webhook_secret(), user_event())
    assert "signature" in delivery.assert_error(400, "bad_request")
    assert await find_users(admin, "alice") == []
    assert (await admin.admin.users()).total == 1


async def test_tampered_body_is_refused(
    daemon: RunningDaemon, secret: str, admin: CoopeClient
) -> None:
    body = json.dumps(user_event())
    msg_id, now = "msg_tamper", datetime.now(UTC)
    signature = Webhook(secret).sign(msg_id, now, body)
    headers = {
        "svix-id": msg_id,
        "svix-timestamp": str(int(now.timestamp())),
        "svix-signature": signature,
        "Content-Type": "application/json",
    }
    tampered = body.replace('"alice"', '"mallory"')
    assert tampered != body
    async with (
        aiohttp.ClientSession() as http,
        http.post(daemon.url + WEBHOOK_PATH, data=tampered, headers=headers) as response,
    ):
        delivery = Delivery(response.status, await response.json())
    delivery.assert_error(400, "bad_request")
    assert (await admin.admin.users()).total == 1


async def test_missing_signature_headers_are_refused(
    daemon: RunningDaemon, secret: str, admin: CoopeClient
) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.post(daemon.url + WEBHOOK_PATH, json=user_event()) as response,
    ):
        delivery = Delivery(response.status, await response.json())
    delivery.assert_error(400, "bad_request")
    assert (await admin.admin.users()).total == 1


async def test_signature_from_a_rotated_secret_list_is_accepted(
    daemon: RunningDaemon, secret: str, admin: CoopeClient
) -> None:
    # svix sends one signature per active secret, space-separated; one good one is enough.
    body = json.dumps(user_event())
    now = datetime.now(UTC)
    good = Webhook(secret).sign("msg_rot", now, body)
    bad = Webhook(new_webhook_secret()).sign("msg_rot", now, body)
    headers = {
        "svix-id": "msg_rot",
        "svix-timestamp": str(int(now.timestamp())),
        "svix-signature": f"{bad} {good}",
        "Content-Type": "application/json",
    }
    async with (
        aiohttp.ClientSession() as http,
        http.post(daemon.url + WEBHOOK_PATH, data=body, headers=headers) as response,
    ):
        assert response.status == 200, await response.text()
    assert [u.external_id for u in await find_users(admin, "alice")] == ["user_abc"]


@pytest.mark.parametrize("age", [timedelta(minutes=10), -timedelta(minutes=10)])
async def test_stale_or_future_timestamp_is_refused(
    daemon: RunningDaemon, secret: str, admin: CoopeClient, age: timedelta
) -> None:
    await accepted(daemon, secret, user_event())
    update = user_event(kind="user.updated", username="alicia", first_name="Alicia")
    delivery = await send_webhook(daemon, secret, update, timestamp=datetime.now(UTC) - age)
    assert "timestamp" in delivery.assert_error(400, "bad_request")
    synced = await find_external(admin, "user_abc")
    assert synced is not None
    assert (synced.username, synced.display_name) == ("alice", "Alice Liddell")


async def test_replayed_delivery_is_received_and_changes_nothing(
    daemon: RunningDaemon, secret: str, admin: CoopeClient
) -> None:
    # svix retries a delivery until it gets a 2xx: a delivery applied already is answered as
    # received, or svix would retry it for days; and it must not be applied a second time.
    sent_at = datetime.now(UTC)
    created = await accepted(daemon, secret, user_event(), msg_id="msg_1", timestamp=sent_at)
    await accepted(
        daemon,
        secret,
        user_event(kind="user.updated", username="alicia", first_name="Alicia"),
        msg_id="msg_2",
    )
    # The byte-identical request again (a captured delivery replayed within the tolerance
    # window), then the same delivery freshly and validly signed (svix retrying it).
    identical = await send_webhook(daemon, secret, user_event(), msg_id="msg_1", timestamp=sent_at)
    assert (identical.status, identical.body) == (200, {"received": True, "user": None})
    retried = await send_webhook(daemon, secret, user_event(), msg_id="msg_1")
    assert (retried.status, retried.body) == (200, {"received": True, "user": None})
    synced = await find_external(admin, "user_abc")
    assert created is not None and synced is not None
    assert (synced.id, synced.username, synced.display_name) == (
        created.id,
        "alicia",
        "Alicia Liddell",
    )


async def test_replayed_deletion_does_not_disable_again(
    daemon: RunningDaemon, secret: str, admin: CoopeClient
) -> None:
    await accepted(daemon, secret, user_event(), msg_id="msg_1")
    await accepted(daemon, secret, user_deleted(), msg_id="msg_del")
    await admin.admin.enable("alice")  # an admin restores the account on purpose
    replay = await send_webhook(daemon, secret, user_deleted(), msg_id="msg_del")
    assert (replay.status, replay.body) == (200, {"received": True, "user": None})
    synced = await find_external(admin, "user_abc")
    assert synced is not None and synced.disabled is False


async def test_another_body_under_a_seen_delivery_id_is_a_conflict(
    daemon: RunningDaemon, secret: str, admin: CoopeClient
) -> None:
    await accepted(daemon, secret, user_event(), msg_id="msg_1")
    other = user_event(kind="user.updated", username="mallory", first_name="Mallory")
    delivery = await send_webhook(daemon, secret, other, msg_id="msg_1")
    assert "different body" in delivery.assert_error(409, "conflict")
    synced = await find_external(admin, "user_abc")
    assert synced is not None and (synced.username, synced.display_name) == (
        "alice",
        "Alice Liddell",
    )


async def test_delivery_records_are_forgotten_after_the_retention(
    start_daemon: DaemonFactory, secret: str
) -> None:
    daemon = await start_daemon(manual_clock=True, clerk_webhook_secret=secret)
    assert daemon.clock is not None
    await accepted(daemon, secret, user_event(), msg_id="msg_old")
    later = user_event(kind="user.updated", first_name="Later")
    conflict = await send_webhook(daemon, secret, later, msg_id="msg_old")
    conflict.assert_error(409, "conflict")
    # Long after svix's last retry, the next delivery prunes the old record, and the id is free.
    daemon.clock.advance(DELIVERY_RETENTION_S + 3600)
    await accepted(daemon, secret, user_event("user_bob", username="bob"), msg_id="msg_new")
    reused = await accepted(daemon, secret, later, msg_id="msg_old")
    assert reused is not None and reused.display_name == "Later Liddell"


async def test_a_record_from_before_body_digests_counts_as_the_same_delivery(
    tmp_path: Path,
) -> None:
    store = SqliteStorage(tmp_path / "c.db")
    await store.start()
    try:
        await store.db.write(
            lambda conn: conn.execute(
                "INSERT INTO webhook_deliveries (id, received_at) VALUES ('msg_old', 1.0)"
            )
        )
        profile = ExternalProfile("user_abc", "alice", "Alice", None)
        result = await store.upsert_external_user(
            profile, delivery=WebhookDelivery("msg_old", "c" * 64, 2.0)
        )
        assert (result.applied, result.user) == (False, None)
        assert await store.get_user_by_external_id("user_abc") is None
        assert await store.forget_webhook_deliveries(before=1.5) == 1
    finally:
        await store.aclose()


async def test_delivery_records_survive_a_restart(tmp_path: Path) -> None:
    profile = ExternalProfile("user_abc", "alice", "Alice", None)
    delivery = WebhookDelivery("msg_1", "a" * 64, 1000.0)
    store = SqliteStorage(tmp_path / "c.db")
    await store.start()
    try:
        first = await store.upsert_external_user(profile, delivery=delivery)
    finally:
        await store.aclose()
    assert first.applied and first.user is not None
    reopened = SqliteStorage(tmp_path / "c.db")
    await reopened.start()
    try:
        again = await reopened.upsert_external_user(profile, delivery=delivery)
        assert (again.applied, again.user) == (False, None)
        with pytest.raises(Conflict):
            await reopened.disable_external_user(
                "user_abc", delivery=WebhookDelivery("msg_1", "b" * 64, 1001.0)
            )
        user = await reopened.get_user(first.user.id)
        assert user is not None and user.disabled is False
    finally:
        await reopened.aclose()


async def test_distinct_deliveries_with_standard_webhooks_headers_all_apply(
    daemon: RunningDaemon, secret: str, admin: CoopeClient
) -> None:
    # The verifier (svix) also accepts the Standard Webhooks names `webhook-id`,
    # `webhook-timestamp` and `webhook-signature`; the delivery ledger must then key on
    # `webhook-id` too, or two different deliveries are mistaken for one replayed delivery.
    first = await send_webhook(daemon, secret, user_event(), header_prefix="webhook")
    assert first.status == 200, first.body
    second = await send_webhook(
        daemon,
        secret,
        user_event(kind="user.updated", username="alicia", first_name="Alicia"),
        header_prefix="webhook",
    )
    assert second.status == 200, second.body
    synced = await find_external(admin, "user_abc")
    assert synced is not None and synced.username == "alicia"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("this is not json", "not JSON"),
        ('{"type": "user.created", "data": ', "not JSON"),
        ("[" * 100_000, "recursion limit"),
        (
            '{"type": "user.created", "data": {"id": "user_abc", "x": '
            + "[" * 1000
            + "]" * 1000
            + "}}",
            "recursion limit",
        ),
    ],
)
async def test_body_that_is_not_json_is_refused(
    daemon: RunningDaemon, secret: str, admin: CoopeClient, body: str, problem: str
) -> None:
    delivery = await send_webhook(daemon, secret, body)
    assert problem in delivery.assert_error(400, "bad_request")
    assert (await admin.admin.users()).total == 1


def _with_data(kind: str = "user.created", **fields: Any) -> dict[str, Any]:
    payload = user_event(kind=kind) if kind != "user.deleted" else user_deleted()
    payload["data"].update(fields)
    return payload


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ([1, 2], "Input should be an object"),
        ({"type": "user.created"}, "data: Field required"),
        ({"type": 7, "data": {}}, "type: Input should be a valid string"),
        ({"type": "user.created", "data": []}, "data: Input should be an object"),
        ({"type": "user.created", "data": {"username": "alice"}}, "id: Field required"),
        ({"type": "user.created", "data": {"id": "  "}}, "id: String should have at least"),
        (_with_data(id=5), "id: Input should be a valid string"),
        (_with_data(email_addresses=5), "email_addresses: Input should be a valid list"),
        (_with_data(email_addresses=[5]), "email_addresses.0: Input should be a valid"),
        (_with_data(email_addresses=[{"id": "idn_1"}]), "email_addresses.0.email_address"),
        (_with_data(first_name=5), "first_name: Input should be a valid string"),
        (_with_data("user.updated", username={"a": 1}), "username: Input should be a valid"),
        (_with_data(primary_email_address_id=[]), "primary_email_address_id"),
        (_with_data("user.deleted", id=None), "id: Input should be a valid string"),
    ],
)
async def test_signed_payload_of_the_wrong_shape_is_refused(
    daemon: RunningDaemon, secret: str, admin: CoopeClient, body: Any, problem: str
) -> None:
    # Each of these was a 500 (which svix retries for days) before payloads had a schema.
    delivery = await send_webhook(daemon, secret, json.dumps(body))
    assert problem in delivery.assert_error(422, "invalid_input")
    assert delivery.body["error"]["details"]["errors"]
    assert (await admin.admin.users()).total == 1


async def test_extra_fields_clerk_adds_are_ignored(
    daemon: RunningDaemon, secret: str, admin: CoopeClient
) -> None:
    payload = user_event()
    payload["data"]["public_metadata"] = {"plan": {"tier": ["pro"]}}
    payload["data"]["email_addresses"][0]["verification"] = {"status": "verified"}
    payload["instance_id"] = "ins_1"
    user = await accepted(daemon, secret, payload)
    assert user is not None and user.email == "alice@example.com"


async def test_control_characters_from_the_provider_are_dropped(
    daemon: RunningDaemon, secret: str
) -> None:
    name = "\x1b]0;pwned\x07Al\u2028\x1b[2J\x9b"
    user = await accepted(daemon, secret, user_event(first_name=name, username="al\x1bice"))
    assert user is not None
    assert (user.display_name, user.username) == ("]0;pwnedAl[2J Liddell", "alice")


async def test_unhandled_event_type_is_received_and_ignored(
    daemon: RunningDaemon, secret: str, admin: CoopeClient
) -> None:
    payload = {
        "type": "session.created",
        "object": "event",
        "data": {"id": "sess_1", "user_id": "user_abc", "object": "session"},
    }
    delivery = await send_webhook(daemon, secret, payload)
    assert (delivery.status, delivery.body) == (200, {"received": True, "user": None})
    users = await admin.admin.users()
    assert [u.username for u in users.users] == ["root"]


async def test_daemon_without_a_secret_has_no_webhook(start_daemon: DaemonFactory) -> None:
    plain = await start_daemon()
    delivery = await send_webhook(plain, new_webhook_secret(), user_event())
    assert "COOPE_CLERK_WEBHOOK_SECRET" in delivery.assert_error(404, "not_found")
    async with plain.client() as client:
        session = await client.auth.signup("first", PASSWORD)
    assert session.first_user is True  # the refused delivery created no account


async def test_webhook_accepts_only_post(daemon: RunningDaemon) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.get(daemon.url + WEBHOOK_PATH) as response,
    ):
        delivery = Delivery(response.status, await response.json())
    delivery.assert_error(405, "method_not_allowed")
