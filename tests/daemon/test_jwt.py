"""Session JWT hardening: forged, tampered, expired and malformed credentials are all refused."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
import pytest

from coope.client import CoopeClient
from coope.core.models import AuthKind
from tests.conftest import DaemonFactory
from tests.daemon.identity import (
    accepted_as,
    assert_unauthenticated,
    b64url,
    claims_of,
    hmac_by_hand,
    new_rsa_key,
    refused,
    segment,
    session_secret,
    whoami_raw,
)
from tests.helpers import RunningDaemon

# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
async def alice_token(alice: CoopeClient) -> str:
    assert alice.token is not None
    return alice.token


@pytest.fixture
async def admin_id(admin: CoopeClient) -> int:
    return (await admin.auth.whoami()).user.id


async def sign(daemon: RunningDaemon, claims: dict[str, Any]) -> str:
    return jwt.encode(claims, await session_secret(daemon), algorithm="HS256")


# --- positive controls ------------------------------------------------------------------------


async def test_real_session_token_is_accepted(daemon: RunningDaemon, alice_token: str) -> None:
    assert await accepted_as(daemon, alice_token) == ("alice", AuthKind.SESSION)
    claims = claims_of(alice_token)
    assert jwt.get_unverified_header(alice_token)["alg"] == "HS256"
    assert set(claims) == {"iss", "sub", "jti", "iat", "exp"}
    assert claims["iss"] == "coope"


async def test_token_forged_with_the_real_secret_and_a_real_session_is_accepted(
    daemon: RunningDaemon, alice_token: str
) -> None:
    # The control for every forgery below: this harness does know how to make a good token, so
    # each refusal is caused by the one thing that test changes.
    reissued = await sign(daemon, claims_of(alice_token))
    assert reissued == alice_token  # same claims, same key: the very same token
    hand_made = hmac_by_hand(claims_of(alice_token), await session_secret(daemon))
    assert await accepted_as(daemon, hand_made) == ("alice", AuthKind.SESSION)


async def test_bearer_scheme_is_case_insensitive(daemon: RunningDaemon, alice_token: str) -> None:
    status, body = await whoami_raw(daemon, f"bearer {alice_token}")
    assert (status, body["user"]["username"], body["auth"]) == (200, "alice", "session")


# --- forged and tampered tokens ---------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
async def test_unsigned_alg_none_token_is_refused(
    daemon: RunningDaemon, alice_token: str, alg: str
) -> None:
    unsigned = segment({"alg": alg, "typ": "JWT"}) + "." + segment(claims_of(alice_token)) + "."
    assert "alg value is not allowed" in await refused(daemon, unsigned)
    status, body = await whoami_raw(daemon, f"Bearer {unsigned}")
    assert_unauthenticated(status, body)


async def test_alg_none_header_with_the_original_signature_is_refused(
    daemon: RunningDaemon, alice_token: str
) -> None:
    _, payload, signature = alice_token.split(".")
    relabelled = segment({"alg": "none", "typ": "JWT"}) + "." + payload + "." + signature
    assert "alg value is not allowed" in await refused(daemon, relabelled)


async def test_token_signed_with_a_wrong_key_is_refused(
    daemon: RunningDaemon, alice_token: str
) -> None:
    wrong = jwt.encode(claims_of(alice_token), b"w" * 32, algorithm="HS256")
    assert "signature" in (await refused(daemon, wrong)).lower()


async def test_the_secrets_hex_text_is_not_the_key(daemon: RunningDaemon, alice_token: str) -> None:
    # The key is the bytes; their hex text (as an older daemon's file held it) is not a key too.
    text_key = (await session_secret(daemon)).hex().encode()
    await refused(daemon, jwt.encode(claims_of(alice_token), text_key, algorithm="HS256"))


@pytest.mark.parametrize("claim", ["sub", "exp", "jti", "iss"])
async def test_tampered_claim_under_the_original_signature_is_refused(
    daemon: RunningDaemon, admin: CoopeClient, alice_token: str, admin_id: int, claim: str
) -> None:
    header, _, signature = alice_token.split(".")
    claims = claims_of(alice_token)
    assert admin.token is not None
    changes: dict[str, Any] = {
        "sub": str(admin_id),
        "exp": claims["exp"] + 365 * 24 * 3600,
        "jti": claims_of(admin.token)["jti"],
        "iss": "coope-admin",
    }
    assert changes[claim] != claims[claim]
    tampered = header + "." + segment({**claims, claim: changes[claim]}) + "." + signature
    await refused(daemon, tampered)
    status, body = await whoami_raw(daemon, f"Bearer {tampered}")
    assert "signature" in assert_unauthenticated(status, body).lower()
    # Nothing was spoiled by the attempt: the real token still works.
    assert await accepted_as(daemon, alice_token) == ("alice", AuthKind.SESSION)


async def test_well_signed_token_naming_another_user_for_a_session_is_refused(
    daemon: RunningDaemon, alice_token: str, admin_id: int
) -> None:
    # Even with the key, a session belongs to one user: alice's jti cannot carry admin's sub.
    claims = {**claims_of(alice_token), "sub": str(admin_id)}
    assert "ended" in await refused(daemon, await sign(daemon, claims))


async def test_well_signed_token_for_an_unknown_session_is_refused(
    daemon: RunningDaemon, alice_token: str, admin_id: int
) -> None:
    now = int(time.time())
    claims = {
        "iss": "coope",
        "sub": str(admin_id),
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + 3600,
    }
    assert "ended" in await refused(daemon, await sign(daemon, claims))
    status, body = await whoami_raw(daemon, "Bearer " + await sign(daemon, claims))
    assert "ended" in assert_unauthenticated(status, body)


async def test_token_of_a_logged_out_session_is_refused_even_when_re_signed(
    daemon: RunningDaemon, alice: CoopeClient, alice_token: str
) -> None:
    await alice.auth.logout()
    fresh = await sign(daemon, {**claims_of(alice_token), "iat": int(time.time())})
    assert "ended" in await refused(daemon, fresh)


@pytest.mark.parametrize("issuer", ["evil", "Coope", "", None])
async def test_token_with_a_wrong_or_missing_issuer_is_refused(
    daemon: RunningDaemon, alice_token: str, issuer: str | None
) -> None:
    claims = claims_of(alice_token)
    if issuer is None:
        del claims["iss"]
    else:
        claims["iss"] = issuer
    message = await refused(daemon, await sign(daemon, claims))
    assert "iss" in message


@pytest.mark.parametrize("claim", ["exp", "iat", "sub", "jti"])
async def test_token_missing_a_required_claim_is_refused(
    daemon: RunningDaemon, alice_token: str, claim: str
) -> None:
    claims = claims_of(alice_token)
    del claims[claim]
    assert claim in await refused(daemon, await sign(daemon, claims))


@pytest.mark.parametrize("sub", ["alice", "", "2.0", 2, None])
async def test_token_with_a_malformed_subject_is_refused(
    daemon: RunningDaemon, alice_token: str, sub: Any
) -> None:
    claims = {**claims_of(alice_token), "sub": sub}
    status, body = await whoami_raw(daemon, "Bearer " + await sign(daemon, claims))
    assert_unauthenticated(status, body)


async def test_expired_token_is_refused(daemon: RunningDaemon, alice_token: str) -> None:
    now = int(time.time())
    expired = await sign(daemon, {**claims_of(alice_token), "iat": now - 7200, "exp": now - 3600})
    assert "expired" in await refused(daemon, expired)


async def test_session_past_its_lifetime_is_refused_by_the_daemon_clock(
    start_daemon: DaemonFactory,
) -> None:
    daemon = await start_daemon(manual_clock=True, session_ttl_s=3600)
    assert daemon.clock is not None
    async with await daemon.user("zoe") as zoe:
        assert zoe.token is not None
        assert (await zoe.auth.whoami()).user.username == "zoe"
        daemon.clock.advance(3601)
        # The JWT's own `exp` is still in the future by the wall clock; the stored session is
        # what says the session is over.
        assert claims_of(zoe.token)["exp"] > time.time()
        assert "expired" in await refused(daemon, zoe.token)


async def test_rs256_token_is_refused_when_no_idp_key_is_configured(
    daemon: RunningDaemon, alice_token: str
) -> None:
    assert daemon.config.idp_public_key is None
    rs256 = jwt.encode(claims_of(alice_token), new_rsa_key(), algorithm="RS256")
    assert jwt.get_unverified_header(rs256)["alg"] == "RS256"
    assert "alg value is not allowed" in await refused(daemon, rs256)
    status, body = await whoami_raw(daemon, f"Bearer {rs256}")
    assert_unauthenticated(status, body)


@pytest.mark.parametrize("alg", ["HS384", "HS512"])
async def test_other_hmac_algorithms_are_refused_even_with_the_real_secret(
    daemon: RunningDaemon, alice_token: str, alg: str
) -> None:
    token = hmac_by_hand(claims_of(alice_token), await session_secret(daemon), alg)
    assert jwt.get_unverified_header(token)["alg"] == alg
    assert "alg value is not allowed" in await refused(daemon, token)


# --- malformed credentials --------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "a.b.c",
        "a.b",
        "...",
        "a.b.c.d",
        segment({"alg": "HS256"}) + "..",
        segment([1, 2]) + "." + segment({}) + ".",
        segment("HS256") + "." + segment({}) + ".",
        b64url(b"\xff\xfe\xfd") + "." + segment({}) + ".",
        segment({"alg": ["HS256"]}) + "." + segment({"sub": "1"}) + ".",
        segment({"alg": {"HS256": 1}}) + "." + segment({"sub": "1"}) + ".",
        segment({"alg": "HS256"}) + "." + b64url(b"not json") + "." + b64url(b"sig"),
        segment({"alg": "HS256"}) + "." + segment([]) + "." + b64url(b"sig"),
        "eyJ" + "A" * 3000,
        "coope_",
        "coope_not-a-real-api-token",
        "%00%01",
        "null",
        "{}",
    ],
)
async def test_garbage_bearer_is_refused_as_json_401(daemon: RunningDaemon, token: str) -> None:
    status, body = await whoami_raw(daemon, f"Bearer {token}")
    assert_unauthenticated(status, body)


async def test_garbage_through_the_client_is_unauthenticated(daemon: RunningDaemon) -> None:
    assert "invalid" in await refused(daemon, "not-a-jwt")


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic YWxpY2U6Y29ycmVjdCBob3JzZSBiYXR0ZXJ5",
        "Token {token}",
        "JWT {token}",
        "Bearer",
        "Bearer   ",
        "{token}",
        "Bearer: {token}",
        "",
    ],
)
async def test_non_bearer_authorization_header_is_refused(
    daemon: RunningDaemon, alice_token: str, authorization: str
) -> None:
    status, body = await whoami_raw(daemon, authorization.format(token=alice_token))
    assert_unauthenticated(status, body)


async def test_missing_authorization_header_is_refused(daemon: RunningDaemon) -> None:
    status, body = await whoami_raw(daemon, None)
    assert "Bearer" in assert_unauthenticated(status, body)
