"""Identity-provider JWTs (RS256) for users synced from Clerk webhooks."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from coope.client import CoopeClient
from coope.core.models import AuthKind
from coope.core.schemas import UserOut
from tests.conftest import DaemonFactory
from tests.daemon.identity import (
    accepted,
    accepted_as,
    assert_unauthenticated,
    claims_of,
    hmac_by_hand,
    new_rsa_key,
    new_webhook_secret,
    refused,
    segment,
    session_secret,
    user_deleted,
    user_event,
    whoami_raw,
)
from tests.helpers import RunningDaemon


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def idp_claims(sub: str = "user_abc", *, exp_in: float = 300, **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": sub, "iat": now, "exp": int(now + exp_in), **extra}


def idp_token(key: rsa.RSAPrivateKey, sub: str = "user_abc", **kw: Any) -> str:
    return jwt.encode(idp_claims(sub, **kw), key, algorithm="RS256")


@pytest.fixture
def secret() -> str:
    return new_webhook_secret()


@pytest.fixture(scope="module")
def idp_key() -> rsa.RSAPrivateKey:
    return new_rsa_key()


@pytest.fixture
async def daemon(
    start_daemon: DaemonFactory, secret: str, idp_key: rsa.RSAPrivateKey
) -> RunningDaemon:
    """Overrides conftest's `daemon` (and so `admin`): IdP key and webhook secret configured."""
    return await start_daemon(idp_public_key=public_pem(idp_key), clerk_webhook_secret=secret)


@pytest.fixture
async def synced(daemon: RunningDaemon, secret: str, admin: CoopeClient) -> UserOut:
    """`user_abc`, synced from the provider after the local admin signed up."""
    user = await accepted(daemon, secret, user_event())
    assert user is not None and user.role == "user"
    return user


async def test_idp_token_of_a_synced_user_is_accepted(
    daemon: RunningDaemon, synced: UserOut, idp_key: rsa.RSAPrivateKey
) -> None:
    claims = idp_claims()
    token = jwt.encode(claims, idp_key, algorithm="RS256")
    async with daemon.client(token) as client:
        me = await client.auth.whoami()
    assert (me.user.id, me.user.username, me.user.external_id) == (synced.id, "alice", "user_abc")
    assert me.auth is AuthKind.IDP
    assert me.expires_at is not None and me.expires_at.timestamp() == claims["exp"]


async def test_session_tokens_still_work_beside_the_idp(
    daemon: RunningDaemon, admin: CoopeClient, synced: UserOut
) -> None:
    assert admin.token is not None
    assert await accepted_as(daemon, admin.token) == ("root", AuthKind.SESSION)


async def test_idp_token_for_an_unknown_subject_is_refused(
    daemon: RunningDaemon, synced: UserOut, idp_key: rsa.RSAPrivateKey
) -> None:
    assert "not known" in await refused(daemon, idp_token(idp_key, "user_nobody"))


async def test_idp_token_naming_a_local_user_id_is_refused(
    daemon: RunningDaemon, admin: CoopeClient, synced: UserOut, idp_key: rsa.RSAPrivateKey
) -> None:
    # `sub` is the provider's id, never the daemon's numeric id of a local account.
    admin_id = (await admin.auth.whoami()).user.id
    assert "not known" in await refused(daemon, idp_token(idp_key, str(admin_id)))
    assert "not known" in await refused(daemon, idp_token(idp_key, "root"))


async def test_idp_token_signed_with_another_rsa_key_is_refused(
    daemon: RunningDaemon, synced: UserOut
) -> None:
    forged = idp_token(new_rsa_key())
    assert "signature" in (await refused(daemon, forged)).lower()
    status, body = await whoami_raw(daemon, f"Bearer {forged}")
    assert_unauthenticated(status, body)


async def test_expired_idp_token_is_refused(
    daemon: RunningDaemon, synced: UserOut, idp_key: rsa.RSAPrivateKey
) -> None:
    expired = idp_token(idp_key, exp_in=-60, iat=int(time.time()) - 3600)
    assert "expired" in await refused(daemon, expired)


@pytest.mark.parametrize("claim", ["exp", "iat", "sub"])
async def test_idp_token_missing_a_required_claim_is_refused(
    daemon: RunningDaemon, synced: UserOut, idp_key: rsa.RSAPrivateKey, claim: str
) -> None:
    claims = idp_claims()
    del claims[claim]
    assert claim in await refused(daemon, jwt.encode(claims, idp_key, algorithm="RS256"))


async def test_tampered_idp_token_is_refused(
    daemon: RunningDaemon, secret: str, synced: UserOut, idp_key: rsa.RSAPrivateKey
) -> None:
    await accepted(daemon, secret, user_event("user_def", username="bob", email=None))
    header, _, signature = idp_token(idp_key).split(".")
    as_bob = header + "." + segment(idp_claims("user_def")) + "." + signature
    assert "signature" in (await refused(daemon, as_bob)).lower()
    assert (await accepted_as(daemon, idp_token(idp_key, "user_def")))[0] == "bob"


async def test_hs256_signed_with_the_idp_public_key_is_refused(
    daemon: RunningDaemon, admin: CoopeClient, synced: UserOut, idp_key: rsa.RSAPrivateKey
) -> None:
    # Algorithm confusion: a verifier that took the header's word would check this HMAC with
    # the public key text as the secret, which everybody knows.
    pem = public_pem(idp_key)
    for key in (pem.encode(), pem.strip().encode()):
        assert "signature" in (await refused(daemon, hmac_by_hand(idp_claims(), key))).lower()
    # Control: the same hand-made HS256 with the real session secret and a real session works,
    # so it is the key that is refused, not the construction.
    assert admin.token is not None
    control = hmac_by_hand(claims_of(admin.token), await session_secret(daemon))
    assert await accepted_as(daemon, control) == ("root", AuthKind.SESSION)


async def test_alg_none_idp_token_is_refused(daemon: RunningDaemon, synced: UserOut) -> None:
    unsigned = segment({"alg": "none", "typ": "JWT"}) + "." + segment(idp_claims()) + "."
    assert "alg value is not allowed" in await refused(daemon, unsigned)


async def test_user_deleted_at_the_provider_loses_access_at_once(
    daemon: RunningDaemon, secret: str, synced: UserOut, idp_key: rsa.RSAPrivateKey
) -> None:
    token = idp_token(idp_key)
    assert await accepted_as(daemon, token) == ("alice", AuthKind.IDP)
    deleted = await accepted(daemon, secret, user_deleted())
    assert deleted is not None and deleted.disabled
    assert "disabled" in await refused(daemon, token)
    assert "disabled" in await refused(daemon, idp_token(idp_key))  # a fresh token too


async def test_user_disabled_by_an_admin_loses_idp_access(
    start_daemon: DaemonFactory, secret: str, idp_key: rsa.RSAPrivateKey
) -> None:
    daemon = await start_daemon(
        manual_clock=True, idp_public_key=public_pem(idp_key), clerk_webhook_secret=secret
    )
    assert daemon.clock is not None
    async with await daemon.user("root") as admin:
        await accepted(daemon, secret, user_event())
        before = idp_token(idp_key, iat=int(time.time()) - 120)
        assert await accepted_as(daemon, before) == ("alice", AuthKind.IDP)
        # The daemon's clock says the disabling was a minute ago: tokens say when they were
        # issued to the second, and one issued now is after it without waiting for the next.
        daemon.clock.advance(-60)
        await admin.admin.disable("alice")
        assert "disabled" in await refused(daemon, idp_token(idp_key))
        await admin.admin.enable("alice")
        # The provider's session from before the disabling stays ended; a later sign-in works.
        assert "issued before the account was disabled" in await refused(daemon, before)
        assert await accepted_as(daemon, idp_token(idp_key)) == ("alice", AuthKind.IDP)


async def test_configured_issuer_is_enforced(
    start_daemon: DaemonFactory, secret: str, idp_key: rsa.RSAPrivateKey
) -> None:
    issuer = "https://clerk.example.test"
    daemon = await start_daemon(
        idp_public_key=public_pem(idp_key), idp_issuer=issuer, clerk_webhook_secret=secret
    )
    async with await daemon.user("root"):
        await accepted(daemon, secret, user_event())
    good = jwt.encode(idp_claims(iss=issuer), idp_key, algorithm="RS256")
    async with daemon.client(good) as client:
        assert (await client.auth.whoami()).auth is AuthKind.IDP
    for claims in (idp_claims(iss="https://evil.example.test"), idp_claims()):
        await refused(daemon, jwt.encode(claims, idp_key, algorithm="RS256"))
