"""Login limiting per account and per client address, and the client address behind a trusted
reverse proxy. The daemon's clock is a ManualClock, so nothing here waits for a window to pass."""

from __future__ import annotations

import ipaddress
from typing import Any

import aiohttp
import pytest

from coope.daemon.config import parse_networks
from coope.daemon.http.client_address import client_address
from tests.helpers import PASSWORD, RunningDaemon

WRONG = "not the password at all"


async def login(
    daemon: RunningDaemon, username: str, password: str, forwarded_for: str | None = None
) -> tuple[int, dict[str, Any], str | None]:
    """(status, body, Retry-After) of one login over plain HTTP."""
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            daemon.url + "/api/v1/auth/login",
            json={"username": username, "password": password},
            headers=headers,
        ) as response,
    ):
        return response.status, await response.json(), response.headers.get("Retry-After")


async def people(daemon: RunningDaemon, *names: str) -> None:
    for name in names:
        await (await daemon.user(name)).aclose()


async def test_a_locked_account_leaves_others_behind_the_same_address_alone(
    start_daemon: Any,
) -> None:
    daemon = await start_daemon(manual_clock=True)  # 5 per account, 50 per address
    await people(daemon, "bob", "carol")
    for _ in range(5):
        assert (await login(daemon, "bob", WRONG))[0] == 401
    status, body, retry_after = await login(daemon, "bob", PASSWORD)
    assert (status, body["error"]["code"]) == (429, "rate_limited")
    assert retry_after is not None and 1 <= int(retry_after) <= 300
    # Same address, another account: not locked out by bob's mistakes.
    assert (await login(daemon, "carol", PASSWORD))[0] == 200
    assert daemon.clock is not None
    daemon.clock.advance(301)
    assert (await login(daemon, "bob", PASSWORD))[0] == 200


async def test_a_locked_account_answers_exactly_like_an_unknown_one(start_daemon: Any) -> None:
    daemon = await start_daemon(manual_clock=True)
    await people(daemon, "bob")
    for name in ("bob", "nobody"):
        for _ in range(5):
            assert (await login(daemon, name, WRONG))[0] == 401
    real, unknown = await login(daemon, "bob", PASSWORD), await login(daemon, "nobody", PASSWORD)
    assert real == unknown
    assert real[0] == 429


async def test_many_failures_from_one_address_lock_the_address(start_daemon: Any) -> None:
    daemon = await start_daemon(manual_clock=True)
    await people(daemon, "carol")
    # A few guesses at each of many names: no account reaches its limit, the address does.
    for i in range(50):
        assert (await login(daemon, f"user{i % 25}", WRONG))[0] == 401
    status, body, _ = await login(daemon, "carol", PASSWORD)
    assert status == 429 and "address" in body["error"]["message"]
    assert daemon.clock is not None
    daemon.clock.advance(301)
    assert (await login(daemon, "carol", PASSWORD))[0] == 200


async def test_a_clients_own_x_forwarded_for_is_ignored(start_daemon: Any) -> None:
    daemon = await start_daemon(
        manual_clock=True, login_max_failures=1, login_address_max_failures=10
    )
    await people(daemon, "carol")
    # Each guess claims another address; without a trusted proxy they all count against the peer.
    for i in range(10):
        assert (await login(daemon, f"user{i}", WRONG, f"203.0.113.{i}"))[0] == 401
    assert (await login(daemon, "carol", PASSWORD, "203.0.113.99"))[0] == 429


async def test_a_trusted_proxy_names_the_client(start_daemon: Any) -> None:
    daemon = await start_daemon(
        manual_clock=True,
        login_max_failures=1,
        login_address_max_failures=10,
        trusted_proxies=parse_networks(["127.0.0.0/8"]),
    )
    await people(daemon, "bob", "carol")
    for i in range(10):
        assert (await login(daemon, f"user{i}", WRONG, "198.51.100.7"))[0] == 401
    assert (await login(daemon, "carol", PASSWORD, "198.51.100.7"))[0] == 429
    # Another client behind the same proxy is not locked out...
    assert (await login(daemon, "carol", PASSWORD, "198.51.100.8"))[0] == 200
    # ...and the locked one cannot pose as it: the proxy appends the address it really saw.
    assert (await login(daemon, "carol", PASSWORD, "198.51.100.8, 198.51.100.7"))[0] == 429

    # A locked account stays locked for the address that failed on it, a correct password
    # included; bob himself, elsewhere, is not locked out by it.
    assert (await login(daemon, "bob", WRONG, "198.51.100.20"))[0] == 401
    assert (await login(daemon, "bob", PASSWORD, "198.51.100.20"))[0] == 429
    assert (await login(daemon, "bob", PASSWORD, "198.51.100.21"))[0] == 200


async def test_a_locked_account_gives_each_other_address_one_try(start_daemon: Any) -> None:
    daemon = await start_daemon(manual_clock=True, trusted_proxies=parse_networks(["127.0.0.0/8"]))
    await people(daemon, "bob")
    for _ in range(5):
        assert (await login(daemon, "bob", WRONG, "198.51.100.1"))[0] == 401
    assert (await login(daemon, "bob", WRONG, "198.51.100.1"))[0] == 429
    # A guesser moving on: one try per new address, then that address is locked out too.
    for i in range(2, 6):
        assert (await login(daemon, "bob", WRONG, f"198.51.100.{i}"))[0] == 401
        assert (await login(daemon, "bob", PASSWORD, f"198.51.100.{i}"))[0] == 429
    assert (await login(daemon, "bob", PASSWORD, "192.0.2.50"))[0] == 200


TRUSTED = parse_networks(["10.0.0.0/8", "::1"])


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("192.0.2.1", ["198.51.100.7"], "192.0.2.1"),  # the peer is no proxy of ours
        ("10.0.0.2", [], "10.0.0.2"),  # a proxy that sent no header
        ("10.0.0.2", ["198.51.100.7"], "198.51.100.7"),
        ("10.0.0.2", ["6.6.6.6, 198.51.100.7, 10.0.0.3"], "198.51.100.7"),
        ("10.0.0.2", ["6.6.6.6", "198.51.100.7"], "198.51.100.7"),  # header sent twice
        ("::1", ["[2001:db8::5]:4711"], "2001:db8::5"),
        ("10.0.0.2", ["198.51.100.7:5000"], "198.51.100.7"),
        ("10.0.0.2", ["10.0.0.9, 10.0.0.3"], "10.0.0.9"),  # proxies all the way
        ("10.0.0.2", ["198.51.100.7, garbage"], "10.0.0.2"),  # not a proxy's writing
        ("::ffff:10.0.0.2", ["198.51.100.7"], "198.51.100.7"),
        (None, ["198.51.100.7"], "unknown"),
    ],
)
def test_client_address(peer: str | None, forwarded: list[str], expected: str) -> None:
    assert client_address(peer, forwarded, TRUSTED) == expected


def test_trusted_proxies_must_be_addresses_or_ranges() -> None:
    assert parse_networks(["10.0.0.1", "fd00::/8"]) == (
        ipaddress.ip_network("10.0.0.1/32"),
        ipaddress.ip_network("fd00::/8"),
    )
    with pytest.raises(ValueError, match="proxy.example"):
        parse_networks(["proxy.example"])


def test_the_daemon_refuses_a_bad_trusted_proxy() -> None:
    from typer.testing import CliRunner

    from coope.cli.main import app

    result = CliRunner().invoke(app, ["daemon", "--port", "0", "--trusted-proxy", "10.0.0.0/8,x"])
    assert result.exit_code == 2
    assert "'x' is not an IP address or CIDR range" in result.output
    result = CliRunner().invoke(app, ["daemon", "--help"], env={"COLUMNS": "200"})
    assert "COOPE_TRUSTED_PROXY" in result.output
