"""Account rules."""

from __future__ import annotations

import pytest

from coope.core.errors import InvalidInput
from coope.core.rules import check_password, check_username, username_from_hint


@pytest.mark.parametrize(
    ("raw", "name"), [("Alice", "alice"), (" bob.smith ", "bob.smith"), ("a_b-c", "a_b-c")]
)
def test_usernames_are_canonical(raw: str, name: str) -> None:
    assert check_username(raw) == name


@pytest.mark.parametrize("raw", ["", "ab", "9lives", "-x-", "with space", "x" * 33, "ünï"])
def test_bad_usernames(raw: str) -> None:
    with pytest.raises(InvalidInput):
        check_username(raw)


def test_password_bounds() -> None:
    check_password("12345678")
    for bad in ("1234567", "x" * 1025):
        with pytest.raises(InvalidInput):
            check_password(bad)


@pytest.mark.parametrize(
    ("hint", "name"),
    [
        ("Alice Liddell", "alice-liddell"),
        ("42", "u42"),
        ("x", "x00"),
        ("ÉLODIE", "elodie"),
        ("j.doe+spam", "j.doe-spam"),
        ("a" * 50, "a" * 32),
    ],
)
def test_usernames_from_hints_are_valid(hint: str, name: str) -> None:
    assert username_from_hint(hint) == name
    assert check_username(username_from_hint(hint)) == name
