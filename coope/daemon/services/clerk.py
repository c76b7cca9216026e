"""User sync from a Clerk-style identity provider, delivered as svix-signed webhooks.

Only verified deliveries change anything; each delivery id is recorded in the same transaction as
its change, so a replayed delivery is refused and leaves the data as it was. Deleting a user at the
provider disables the account here and keeps its data.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from coope.core.errors import BadRequest, Conflict
from coope.core.models import User
from coope.daemon.clock import Clock
from coope.daemon.services.auth import AuthService
from coope.daemon.storage import ExternalProfile, Storage

log = logging.getLogger(__name__)

HANDLED = ("user.created", "user.updated", "user.deleted")


class ClerkSync:
    def __init__(self, storage: Storage, auth: AuthService, clock: Clock, secret: str) -> None:
        # svix's package imports its whole API client (~0.5 s); only a daemon that is configured
        # for webhooks pays for it, once, at start.
        from svix.webhooks import Webhook

        self._webhook = Webhook(secret)
        self._storage = storage
        self._auth = auth
        self._clock = clock

    async def deliver(self, body: bytes, headers: Mapping[str, str]) -> User | None:
        """Verify and apply one delivery. Returns the affected user, if any."""
        self._verify(body, headers)
        # svix also accepts the Standard Webhooks header names; the id is under one or the other.
        delivery_id = headers.get("svix-id") or headers.get("webhook-id")
        if not delivery_id:
            raise BadRequest("webhook delivery has no svix-id header")
        payload = _parse(body)
        kind, data = payload["type"], payload["data"]
        if kind not in HANDLED:
            log.info("webhook ignored", extra={"event_type": kind})
            return None
        external_id = _str(data, "id", required=True)
        now = self._clock.now()
        try:
            if kind == "user.deleted":
                user = await self._storage.disable_external_user(
                    external_id, delivery_id=delivery_id, now=now
                )
                if user is not None:
                    await self._auth.announce_revoked(user.id, None, "account deleted")
            else:
                profile = _profile(external_id, data)
                user = await self._storage.upsert_external_user(
                    profile, delivery_id=delivery_id, now=now
                )
        except Conflict as exc:
            raise BadRequest(f"replayed webhook delivery: {exc.message}") from exc
        log.info("webhook applied", extra={"event_type": kind, "external_id": external_id})
        return user

    def _verify(self, body: bytes, headers: Mapping[str, str]) -> None:
        from svix.webhooks import WebhookVerificationError

        try:
            self._webhook.verify(body, dict(headers))
        except WebhookVerificationError as exc:
            raise BadRequest(f"webhook signature rejected: {exc}") from exc


def _parse(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise BadRequest("webhook body is not JSON") from exc
    if (
        not isinstance(payload, dict)
        or not isinstance(payload.get("type"), str)
        or not isinstance(payload.get("data"), dict)
    ):
        raise BadRequest("webhook body must be an object with 'type' and 'data'")
    return payload


def _str(data: Mapping[str, Any], key: str, *, required: bool = False) -> str:
    value = data.get(key)
    if isinstance(value, str) and value.strip():
        return value.strip()
    if required:
        raise BadRequest(f"webhook data lacks {key!r}")
    return ""


def _primary_email(data: Mapping[str, Any]) -> str | None:
    addresses = [a for a in data.get("email_addresses") or [] if isinstance(a, dict)]
    primary_id = data.get("primary_email_address_id")
    for address in addresses:
        if address.get("id") == primary_id and isinstance(address.get("email_address"), str):
            return str(address["email_address"])
    first = addresses[0].get("email_address") if addresses else None
    return first if isinstance(first, str) else None


def _profile(external_id: str, data: Mapping[str, Any]) -> ExternalProfile:
    email = _primary_email(data)
    full_name = " ".join(n for n in (_str(data, "first_name"), _str(data, "last_name")) if n)
    hint = _str(data, "username") or (email or "").split("@")[0] or full_name or external_id
    return ExternalProfile(
        external_id=external_id,
        username_hint=hint,
        display_name=(full_name or _str(data, "username") or hint)[:64],
        email=email,
    )
