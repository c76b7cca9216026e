"""The OpenAPI document, built from the declared endpoints and the pydantic models they use."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from coope import __version__
from coope.core.schemas import ErrorOut
from coope.daemon.http.routes import Endpoint, RouteTable

_REF = "#/components/schemas/{model}"


def _parameters(model: type[BaseModel], where: Literal["query", "path"]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=_REF)
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": where, "required": where == "path" or name in required, "schema": prop}
        for name, prop in schema.get("properties", {}).items()
    ]


def build_openapi(tables: list[RouteTable]) -> dict[str, Any]:
    endpoints = [e for t in tables for e in t.endpoints]
    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = [(ErrorOut, "serialization")]
    for e in endpoints:
        if e.body is not None:
            wanted.append((e.body, "validation"))
        if e.response is not None:
            wanted.append((e.response, "serialization"))
    refs, defs = models_json_schema(list(dict.fromkeys(wanted)), ref_template=_REF)
    error_ref = refs[(ErrorOut, "serialization")]

    paths: dict[str, dict[str, Any]] = {}
    for e in endpoints:
        paths.setdefault(e.path, {})[e.method.lower()] = _operation(e, refs, error_ref)
    return {
        "openapi": "3.1.0",
        "info": {"title": "coope daemon", "version": __version__},
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A session JWT from /auth/login or an API token (coope_...)",
                }
            },
        },
    }


def _operation(e: Endpoint, refs: dict[Any, Any], error_ref: dict[str, Any]) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": e.handler.__name__,
        "summary": e.summary,
        "tags": [e.tag],
        "parameters": [],
    }
    if e.params is not None:
        op["parameters"] += _parameters(e.params, "path")
    elif "{" in e.path:
        op["parameters"] += [
            {"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
            for n in re.findall(r"{(\w+)}", e.path)
        ]
    if e.query is not None:
        op["parameters"] += _parameters(e.query, "query")
    if e.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[(e.body, "validation")]}},
        }
    elif e.raw_body:
        op["requestBody"] = {"required": True, "content": {e.raw_body: {"schema": {}}}}
    if e.auth:
        op["security"] = [{"bearer": []}]
    ok: dict[str, Any] = {"description": "OK"}
    if e.response is not None:
        ok["content"] = {"application/json": {"schema": refs[(e.response, "serialization")]}}
    elif e.raw_response:
        ok["content"] = {e.raw_response: {"schema": {"type": "string", "format": "binary"}}}
    error = {"description": "Error", "content": {"application/json": {"schema": error_ref}}}
    op["responses"] = {str(e.status): ok, "default": error}
    return op
