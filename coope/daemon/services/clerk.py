"""User sync from a Clerk-style identity provider, delivered as svix-signed webhooks.

Only verified deliveries change anything, and only once. svix retries a delivery until it gets a
2xx, with the same id and the same body, so each delivery is recorded (id and a digest of its
body) in the same transaction as its change: the same delivery again is answered as received and
changes nothing, while a different body under an id already seen is refused as a conflict.
Records are kept for `DELIVERY_RETENTION_S`, far beyond svix's retry schedule (about a day).

Payloads are validated against the few fields read here; Clerk adds fields over time, so others
are ignored. A malformed payload is a 4xx, never a 500; an event type not handled here is
answered 2xx and ignored, so that svix stops sending it. Deleting a user at the provider disables
the account here and keeps its data. An account an admin deleted here stays deleted: deliveries
for its provider id are received and change nothing.

Names from the provider follow the rules of names made here (`coope.core.schemas.display_name_or`),
but are made to fit rather than refused: a refusal would only make svix retry the same payload.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from coope.core import rules
from coope.core.errors import BadRequest, InvalidInput
from coope.core.models import User
from coope.core.schemas import display_name_or
from coope.daemon.clock import Clock
from coope.daemon.services.auth import AuthService
from coope.daemon.storage import ExternalProfile, Storage
from coope.daemon.storage.interface import WebhookDelivery

log = logging.getLogger(__name__)

HANDLED = ("user.created", "user.updated", "user.deleted")
DELIVERY_RETENTION_S = 7 * 24 * 3600
DELIVERY_ID_MAX = 255

M = TypeVar("M", bound=BaseModel)
ExternalId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]


class _Payload(BaseModel):
    # Clerk adds fields to its payloads over time: only the ones read here are declared.
    model_config = ConfigDict(extra="ignore", frozen=True)


class ClerkEvent(_Payload):
    """The envelope of every Clerk webhook."""

    type: str = Field(max_length=200)
    data: dict[str, Any]


class ClerkEmailAddress(_Payload):
    id: str | None = None
    email_address: str = Field(max_length=320)


class ClerkUser(_Payload):
    """`data` of `user.created` and `user.updated`."""

    id: ExternalId
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email_addresses: list[ClerkEmailAddress] = []
    primary_email_address_id: str | None = None


class ClerkDeletedUser(_Payload):
    """`data` of `user.deleted`."""

    id: ExternalId


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
        """Verify and apply one delivery. Returns the affected user, if any: None for an event
        that is ignored, for an unknown user's deletion, for any event about an account an admin
        deleted, and for a delivery applied before.

        Raises:
            BadRequest: The signature, the headers or the JSON are not right.
            InvalidInput: The payload does not have the shape of its event type.
            Conflict: This delivery id was applied before with a different body.
        """
        self._verify(body, headers)
        # svix also accepts the Standard Webhooks header names; the id is under one or the other.
        delivery_id = headers.get("svix-id") or headers.get("webhook-id")
        if not delivery_id:
            raise BadRequest("webhook delivery has no svix-id header")
        if len(delivery_id) > DELIVERY_ID_MAX:
            raise BadRequest(f"a webhook delivery id has at most {DELIVERY_ID_MAX} characters")
        event = _parse(ClerkEvent, body, "webhook body")
        if event.type not in HANDLED:
            log.info("webhook ignored", extra={"event_type": event.type})
            return None
        now = self._clock.now()
        delivery = WebhookDelivery(delivery_id, hashlib.sha256(body).hexdigest(), now)
        if event.type == "user.deleted":
            external_id = _parse(ClerkDeletedUser, event.data, "webhook data").id
            result = await self._storage.disable_external_user(external_id, delivery=delivery)
            if result.applied and result.user is not None:
                await self._auth.announce_revoked(result.user.id, None, "account deleted")
        else:
            user = _parse(ClerkUser, event.data, "webhook data")
            external_id = user.id
            result = await self._storage.upsert_external_user(_profile(user), delivery=delivery)
        await self._storage.forget_webhook_deliveries(before=now - DELIVERY_RETENTION_S)
        outcome = "applied" if result.applied else "already applied"
        log.info(f"webhook {outcome}", extra={"event_type": event.type, "external_id": external_id})
        return result.user if result.applied else None

    def _verify(self, body: bytes, headers: Mapping[str, str]) -> None:
        from svix.webhooks import WebhookVerificationError

        try:
            self._webhook.verify(body, dict(headers))
        except WebhookVerificationError as exc:
            raise BadRequest(f"webhook signature rejected: {exc}") from exc


def _parse(model: type[M], value: bytes | dict[str, Any], where: str) -> M:
    """`value` (JSON bytes or parsed data) as `model`, or a 4xx naming every problem.

    JSON is read by pydantic's parser, which has a nesting limit: a deeply nested body is a
    `json_invalid` problem, where `json.loads` would raise `RecursionError`.
    """
    try:
        if isinstance(value, bytes):
            return model.model_validate_json(value)
        return model.model_validate(value)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        if any(e["type"] == "json_invalid" for e in errors):
            raise BadRequest(f"{where} is not JSON: {errors[0]['msg']}") from exc
        problems = [
            {"field": ".".join(str(p) for p in e["loc"]) or where, "problem": e["msg"]}
            for e in errors
        ]
        summary = "; ".join(f"{p['field']}: {p['problem']}" for p in problems)
        raise InvalidInput(f"invalid {where}: {summary}", details={"errors": problems}) from exc


def _printable(text: str | None) -> str:
    """`text` as one trimmed line without control characters, which would reach terminals.

    Dropped rather than refused: a refusal would only make svix retry the same payload.
    """
    return rules.without_control_characters(text or "").strip()


def _primary_email(user: ClerkUser) -> str | None:
    primary = [a for a in user.email_addresses if a.id == user.primary_email_address_id]
    candidates = primary or user.email_addresses
    return (_printable(candidates[0].email_address) or None) if candidates else None


def _profile(user: ClerkUser) -> ExternalProfile:
    email = _primary_email(user)
    username = _printable(user.username)
    full_name = " ".join(n for n in (_printable(user.first_name), _printable(user.last_name)) if n)
    hint = username or (email or "").split("@")[0] or full_name or user.id
    return ExternalProfile(
        external_id=user.id,
        username_hint=hint,
        display_name=display_name_or(full_name or username or hint, rules.username_from_hint(hint)),
        email=email,
    )
