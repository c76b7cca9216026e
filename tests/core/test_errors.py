"""The error tree: stable codes, and the client rebuilding the daemon's error from its body."""

from __future__ import annotations

import pytest

import coope.core.errors as errors
from coope.core.errors import (
    ERRORS_BY_CODE,
    CoopeError,
    InternalError,
    NotFound,
    RateLimited,
    error_from_body,
)


def test_codes_are_unique_and_every_class_is_exported() -> None:
    classes = [
        c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, CoopeError)
    ]
    assert len({c.code for c in classes}) == len(classes)
    assert {c.__name__ for c in classes} <= set(errors.__all__)


@pytest.mark.parametrize("cls", [c for c in ERRORS_BY_CODE.values() if c is not RateLimited])
def test_round_trip_through_the_wire_body(cls: type[CoopeError]) -> None:
    original = cls("something went wrong", details={"field": "x"})
    rebuilt = error_from_body(original.to_body(), original.status)
    assert type(rebuilt) is cls
    assert (rebuilt.message, rebuilt.details) == ("something went wrong", {"field": "x"})


def test_rate_limited_keeps_retry_after() -> None:
    rebuilt = error_from_body(RateLimited("slow down", retry_after=7).to_body(), 429)
    assert isinstance(rebuilt, RateLimited) and rebuilt.retry_after == 7


@pytest.mark.parametrize(
    ("body", "status", "expected"),
    [
        (None, 404, NotFound),
        ("<html>", 502, InternalError),
        ({"error": "x"}, 404, NotFound),
        ({"error": {"code": "from_the_future", "message": "m"}}, 404, NotFound),
    ],
)
def test_unrecognised_bodies_fall_back_to_the_status(
    body: object, status: int, expected: type[CoopeError]
) -> None:
    assert type(error_from_body(body, status)) is expected


def test_a_bare_415_is_an_unsupported_media_type() -> None:
    assert type(error_from_body(None, 415)) is errors.UnsupportedMediaType
