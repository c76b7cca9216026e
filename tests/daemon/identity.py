"""Helpers to forge and sign credentials and webhook deliveries for the auth tests."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import uuid
from datetime import UTC, datetime
from typing import Any

import aiohttp
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from svix.webhooks import Webhook

from coope.core.errors import Unauthenticated
from coope.core.models import AuthKind
from coope.core.schemas import UserOut
from tests.helpers import RunningDaemon

WEBHOOK_PATH = "/api/v1/webhooks/clerk"
WHOAMI = "/api/v1/auth/whoami"


# --- Clerk webhook deliveries -----------------------------------------------------------------


def new_webhook_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


def user_event(
    external_id: str = "user_abc",
    *,
    kind: str = "user.created",
    username: str | None = "alice",
    first_name: str | None = "Alice",
    last_name: str | None = "Liddell",
    email: str | None = "alice@example.com",
) -> dict[str, Any]:
    """A Clerk `user.created` / `user.updated` payload."""
    addresses = [{"id": "idn_1", "email_address": email}] if email else []
    return {
        "type": kind,
        "object": "event",
        "data": {
            "id": external_id,
            "username": username,
            "first_name": first_name,
            "last_name": last_name,
            "email_addresses": addresses,
            "primary_email_address_id": "idn_1" if email else None,
        },
    }


def user_deleted(external_id: str = "user_abc") -> dict[str, Any]:
    return {
        "type": "user.deleted",
        "object": "event",
        "data": {"id": external_id, "deleted": True, "object": "user"},
    }


class Delivery:
    """The answer to one webhook delivery. Every answer must be a JSON object."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status = status
        self.body = body

    @property
    def user(self) -> UserOut | None:
        user = self.body.get("user")
        return UserOut.model_validate(user) if user is not None else None

    def assert_error(self, status: int, code: str) -> str:
        """Assert this is the error `{"error": {"code", "message"}}`; return the message."""
        assert self.status == status, self.body
        assert set(self.body) == {"error"}, self.body
        error = self.body["error"]
        assert error["code"] == code, error
        assert isinstance(error["message"], str) and error["message"], error
        return str(error["message"])


async def send_webhook(
    daemon: RunningDaemon,
    secret: str,
    payload: dict[str, Any] | str,
    *,
    msg_id: str | None = None,
    timestamp: datetime | None = None,
    header_prefix: str = "svix",
) -> Delivery:
    """Sign `payload` like svix does and POST it to the daemon's Clerk endpoint."""
    body = payload if isinstance(payload, str) else json.dumps(payload)
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    timestamp = timestamp or datetime.now(UTC)
    signature = Webhook(secret).sign(msg_id, timestamp, body)
    headers = {
        f"{header_prefix}-id": msg_id,
        f"{header_prefix}-timestamp": str(int(timestamp.timestamp())),
        f"{header_prefix}-signature": signature,
        "Content-Type": "application/json",
    }
    async with (
        aiohttp.ClientSession() as http,
        http.post(daemon.url + WEBHOOK_PATH, data=body.encode(), headers=headers) as response,
    ):
        assert response.content_type == "application/json", await response.text()
        answer = await response.json()
        assert isinstance(answer, dict), answer
        return Delivery(response.status, answer)


async def accepted(
    daemon: RunningDaemon, secret: str, payload: dict[str, Any], **kw: Any
) -> UserOut | None:
    delivery = await send_webhook(daemon, secret, payload, **kw)
    assert delivery.status == 200, delivery.body
    assert delivery.body["received"] is True
    return delivery.user


# --- JWTs -------------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def claims_of(token: str) -> dict[str, Any]:
    """A token's claims, read without checking anything."""
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


async def session_secret(daemon: RunningDaemon) -> bytes:
    """The secret the daemon signs sessions with, read from its database."""
    [(secret,)] = await daemon.sql("SELECT value FROM service_secrets WHERE name = 'session'")
    return bytes(secret)


def hmac_by_hand(claims: dict[str, Any], key: bytes, alg: str = "HS256") -> str:
    """An HMAC-signed token built without pyjwt, which refuses PEM text as an HMAC key and warns
    about keys shorter than the hash (a warning is an error in this test suite)."""
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    signing_input = segment({"alg": alg, "typ": "JWT"}) + "." + segment(claims)
    mac = hmac.new(key, signing_input.encode(), digest).digest()
    return signing_input + "." + b64url(mac)


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


# --- asking the daemon who we are -------------------------------------------------------------


async def whoami_raw(daemon: RunningDaemon, authorization: str | None) -> tuple[int, Any]:
    """GET whoami with exactly this Authorization header (or none): (status, JSON body)."""
    headers = {"Authorization": authorization} if authorization is not None else {}
    async with (
        aiohttp.ClientSession() as http,
        http.get(daemon.url + WHOAMI, headers=headers) as response,
    ):
        assert response.content_type == "application/json", await response.text()
        return response.status, await response.json()


def assert_unauthenticated(status: int, body: Any) -> str:
    assert status == 401, body
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == "unauthenticated", body
    message = body["error"]["message"]
    assert isinstance(message, str) and message, body
    return str(message)


async def refused(daemon: RunningDaemon, token: str) -> str:
    """Assert the daemon refuses `token`, through the typed client; return its message."""
    async with daemon.client(token) as client:
        with pytest.raises(Unauthenticated) as refusal:
            await client.auth.whoami()
    return refusal.value.message


async def accepted_as(daemon: RunningDaemon, token: str) -> tuple[str, AuthKind]:
    async with daemon.client(token) as client:
        me = await client.auth.whoami()
    return me.user.username, me.auth
