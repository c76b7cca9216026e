"""The operations of the daemon's own OpenAPI document, and requests built from them.

Tests that sweep every operation read them from here, so that an operation added to the daemon
is swept without anyone remembering to add it; what cannot be derived from the document fails
loudly instead of being skipped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    spec: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.spec["operationId"])

    @property
    def label(self) -> str:
        return f"{self.method} {self.path} ({self.id})"

    @property
    def statuses(self) -> set[int]:
        """The documented statuses (the document has no `default` response)."""
        return {int(s) for s in self.spec["responses"]}

    @property
    def secured(self) -> bool:
        return bool(self.spec.get("security"))

    @property
    def websocket(self) -> bool:
        return "101" in self.spec["responses"]

    @property
    def path_params(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)

    def query_params(self) -> list[dict[str, Any]]:
        return [p for p in self.spec.get("parameters", []) if p["in"] == "query"]

    @property
    def body_types(self) -> list[str]:
        return list(self.spec.get("requestBody", {}).get("content", {}))


def operations(doc: Mapping[str, Any]) -> list[Operation]:
    return [
        Operation(method.upper(), path, spec)
        for path, methods in doc["paths"].items()
        for method, spec in methods.items()
    ]


def find_operation(ops: list[Operation], method: str, path: str) -> Operation:
    """The operation a concrete request (`GET /api/v1/rooms/3`) goes to."""
    path = path.split("?", 1)[0]
    # A literal segment wins over a parameter (`/messages/search` over `/messages/{id}`).
    for op in sorted(ops, key=lambda o: len(o.path_params)):
        pattern = "/".join(
            "[^/]+" if re.fullmatch(r"{\w+}", s) else re.escape(s) for s in op.path.split("/")
        )
        if op.method == method and re.fullmatch(pattern, path):
            return op
    raise AssertionError(f"no operation in the document serves {method} {path}")


def url_path(op: Operation, values: Mapping[str, Any]) -> str:
    """The operation's path with each parameter filled from `values` (by name)."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise AssertionError(
                f"{op.label}: no value for the path parameter {name!r}; teach the sweep one"
            )
        return quote(str(values[name]), safe="")

    return re.sub(r"{(\w+)}", fill, op.path)


def resolve(doc: Mapping[str, Any], schema: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def minimal_value(
    doc: Mapping[str, Any], schema: Mapping[str, Any], name: str, values: Mapping[str, Any]
) -> Any:
    """The smallest valid value for a schema, or the named one from `values`."""
    if name in values:
        return values[name]
    schema = resolve(doc, schema)
    if "anyOf" in schema:
        branches = [b for b in schema["anyOf"] if resolve(doc, b).get("type") != "null"]
        return minimal_value(doc, branches[0], name, values)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "string":
        return "x" * max(1, int(schema.get("minLength", 1)))
    if kind in ("integer", "number"):
        return max(1, int(schema.get("minimum", 1)))
    if kind == "boolean":
        return False
    if kind == "array":
        item = schema.get("items", {})
        return [minimal_value(doc, item, name, values) for _ in range(schema.get("minItems", 0))]
    if kind == "object":
        return minimal_object(doc, schema, values)
    raise AssertionError(f"no minimal value for {name!r} with schema {dict(schema)}")


def minimal_object(
    doc: Mapping[str, Any], schema: Mapping[str, Any], values: Mapping[str, Any]
) -> dict[str, Any]:
    """Required properties, plus the optional ones `values` names (ids that point elsewhere)."""
    schema = resolve(doc, schema)
    required = set(schema.get("required", []))
    return {
        name: minimal_value(doc, prop, name, values)
        for name, prop in schema.get("properties", {}).items()
        if name in required or name in values
    }


def json_body(doc: Mapping[str, Any], op: Operation, values: Mapping[str, Any]) -> Any:
    schema = op.spec["requestBody"]["content"]["application/json"]["schema"]
    return minimal_object(doc, schema, values)


def query(doc: Mapping[str, Any], op: Operation, values: Mapping[str, Any]) -> dict[str, str]:
    """Required query parameters, plus those `values` names."""
    found: dict[str, str] = {}
    for param in op.query_params():
        name = param["name"]
        if param.get("required") or name in values:
            value = minimal_value(doc, param["schema"], name, values)
            found[name] = str(value).lower() if isinstance(value, bool) else str(value)
    return found
