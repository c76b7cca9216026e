"""The OpenAPI document describes exactly the routes the daemon serves, with real schemas."""

from __future__ import annotations

import aiohttp

from coope.core.schemas import SessionOut, SignupIn
from tests.helpers import RunningDaemon


async def test_openapi_lists_every_route_and_its_models(daemon: RunningDaemon) -> None:
    async with aiohttp.ClientSession() as http, http.get(daemon.url + "/api/v1/openapi.json") as r:
        doc = await r.json()
    assert doc["openapi"].startswith("3.")
    documented = {
        (method.upper(), path) for path, methods in doc["paths"].items() for method in methods
    }
    served = {
        (route.method, route.resource.canonical)
        for route in daemon.app.router.routes()
        if route.method != "HEAD"
        and route.resource is not None
        and route.resource.canonical
        not in ("/api/v1/openapi.json", "/api/v1/ws", "/api/v1/sync/{page_id}")
    }
    assert documented == served

    signup = doc["paths"]["/api/v1/auth/signup"]["post"]
    body_ref = signup["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body_schema = doc["components"]["schemas"][body_ref.rsplit("/", 1)[1]]
    assert set(body_schema["properties"]) == set(SignupIn.model_fields)
    ok = signup["responses"]["201"]["content"]["application/json"]["schema"]["$ref"]
    assert set(doc["components"]["schemas"][ok.rsplit("/", 1)[1]]["properties"]) == set(
        SessionOut.model_fields
    )
    assert "security" not in signup
    assert doc["paths"]["/api/v1/auth/whoami"]["get"]["security"] == [{"bearer": []}]
    params = {p["name"]: p for p in doc["paths"]["/api/v1/admin/users"]["get"]["parameters"]}
    assert set(params) == {"search", "limit", "offset"}
    assert params["limit"]["schema"]["maximum"] == 500
