"""Property-based fuzzing of every operation from the daemon's own OpenAPI document.

A real daemon process, real data (a workspace with pages, rooms with messages, a friend, tokens),
and a fuzzer logged in as an admin who owns that data. Schemathesis generates valid requests
(half of them aimed at the real ids) and invalid ones for each operation; every answer must be
no server error, a status the document lists for the operation, and a body of the documented
type and schema; invalid input gets a 4xx. Logout is fuzzed with a session made for each call,
so the fuzzer's own stays. Deterministic (derandomized, the global `random` seeded per operation, a
fixed number of examples, no example database), so CI runs the same requests every time.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.daemon.sweep_world import Api, build_world
from tests.helpers import PASSWORD, DaemonProcess

pytestmark = [pytest.mark.slow]

EXAMPLES = 40  # per operation and generation mode: about two minutes on a quiet machine
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
# Invalid input must be refused with a 4xx; which one (400, 413, 415, 422...) the document says.
CONFIG = schemathesis.Config.from_dict(
    {"checks": {"negative_data_rejection": {"expected-statuses": ["4XX"]}}}
)
# Operations that end the session they are called with: each call gets a session of its own.
ENDS_SESSION = {"accounts_logout"}
WEBHOOK_SECRET = "whsec_" + "ZnV6emluZyB0aGUgd2ViaG9vaw=="


@dataclass
class Target:
    daemon: DaemonProcess
    token: str
    # Real values for path parameters, by name (ids of the fuzzer's own data, a friend's name).
    values: dict[str, Any]


async def _seed(url: str) -> tuple[str, dict[str, Any]]:
    async with aiohttp.ClientSession() as http:
        api = Api(http, url)
        root = await api.signup("root")
        friend = await api.signup("friend")
        world = await build_world(api, "fuzzer", "friend", friend)
        await api.ok("POST", "/api/v1/admin/users/fuzzer/role", root, json_body={"role": "admin"})
        # The fuzzer acts on the friend by name: on itself, it would disable or demote itself.
        return world.token, {**world.values, "username": "friend"}


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    data_dir: Path = tmp_path_factory.mktemp("fuzz") / "data"
    daemon = DaemonProcess(data_dir, env={"COOPE_CLERK_WEBHOOK_SECRET": WEBHOOK_SECRET})
    daemon.start()
    try:
        token, values = asyncio.run(_seed(daemon.url))
        yield Target(daemon, token, values)
    finally:
        try:
            daemon.terminate()
        finally:
            daemon.kill()


def _with_real_ids(values: dict[str, Any]) -> Callable[[Case[Any]], Case[Any]]:
    def aim(case: Case[Any]) -> Case[Any]:
        for name in list(case.path_parameters or {}):
            if name in values:
                case.path_parameters[name] = values[name]
        return case

    return aim


def _fuzz(op: Any, mode: GenerationMode, target: Target, session: requests.Session) -> str | None:
    """Run one operation in one mode; the failure Schemathesis reports, or None."""
    strategy = op.as_strategy(generation_mode=mode)
    if mode is GenerationMode.POSITIVE and op.path_parameters:
        # Random ids mostly miss: half of the valid requests go to the real data.
        strategy = st.one_of(strategy, strategy.map(_with_real_ids(target.values)))
    headers = {"Authorization": f"Bearer {target.token}"}
    fresh_session = op.definition.raw.get("operationId") in ENDS_SESSION
    secured = bool(op.definition.raw.get("security"))

    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        verbosity=hypothesis.Verbosity.quiet,
    )
    def run(case: Case[Any]) -> None:
        auth = _new_session(session, target.daemon.url) if fresh_session else headers
        if secured and mode is GenerationMode.NEGATIVE and _without_credential(case):
            auth = {}  # the invalid request is one without the credential: sent as it is made
        response = case.call(session=session, headers=auth, timeout=30)
        case.validate_response(response, checks=CHECKS, headers=auth)

    # Schemathesis also draws from the global `random`: seeded here, the same requests are made
    # whatever ran before in this process.
    random.seed(f"{op.label} {mode.value}")
    try:
        run()
    except Unsatisfiable:
        return None  # nothing to generate in this mode (no parameters, or none can be invalid)
    except (AssertionError, BaseExceptionGroup) as exc:
        return str(exc)
    return None


def _without_credential(case: Case[Any]) -> bool:
    """An invalid request made by leaving out the security header (the document declares no
    other header): adding the fuzzer's own would make it valid again, and a 2xx a false alarm."""
    sent = {name.lower() for name in case.headers or {}}
    return (
        case.meta is not None
        and case.meta.is_negative_at(ParameterLocation.HEADER)
        and "authorization" not in sent
    )


def _new_session(session: requests.Session, url: str) -> dict[str, str]:
    """A new account's session (signup is not rate-limited, unlike failed logins)."""
    body = {"username": f"s{uuid.uuid4().hex[:12]}", "password": PASSWORD}
    response = session.post(url + "/api/v1/auth/signup", json=body, timeout=30)
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def _server_tracebacks(log: str) -> list[str]:
    found = []
    for line in log.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and (
            record.get("level") in ("error", "critical") or "exc" in record
        ):
            found.append(line[:2000])
    return found


@pytest.mark.timeout(900)
def test_fuzzing_every_operation_finds_no_server_error(target: Target) -> None:
    schema = schemathesis.openapi.from_url(
        target.daemon.url + "/api/v1/openapi.json", config=CONFIG
    )
    results = list(schema.get_all_operations())
    ops = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(ops) == len(results), [r for r in results if not isinstance(r, Ok)]
    # Deleting comes last, so the real data stays for every other operation as long as it can.
    ops.sort(key=lambda op: op.method.upper() == "DELETE")
    failures = []
    with requests.Session() as session:
        for op in ops:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                failure = _fuzz(op, mode, target, session)
                if failure is not None:
                    failures.append(f"== {op.label} ({mode.value})\n{failure}")
    tracebacks = _server_tracebacks(target.daemon.stderr_text())
    report = "\n\n".join(failures + ["== the daemon's log", *tracebacks])
    assert not failures and not tracebacks, report
