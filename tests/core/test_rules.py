"""Account rules."""

from __future__ import annotations

import re

import pytest

from coope.core.errors import InvalidInput
from coope.core.rules import (
    SINGLE_LINE_PATTERN,
    check_password,
    check_single_line,
    check_username,
    control_character,
    username_from_hint,
)


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


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("plain text, ünïcödé and emoji 🎉", None),
        ("lines\nand\ttabs\r\n", None),
        ("nul\x00", "U+0000"),
        ("\x1b[2J", "U+001B"),
        ("del\x7f", "U+007F"),
        ("c1\x9b", "U+009B"),
        ("form feed\x0c", "U+000C"),
    ],
)
def test_control_characters_in_text(text: str, found: str | None) -> None:
    assert control_character(text) == found


@pytest.mark.parametrize("text", ["two\nlines", "tab\there", "cr\r", "ls\u2028", "esc\x1b"])
def test_single_lines_hold_no_line_breaks_or_controls(text: str) -> None:
    assert control_character(text, single_line=True) is not None
    with pytest.raises(ValueError, match="one line"):
        check_single_line(text)


def test_single_line_pattern_agrees_with_the_check() -> None:
    # Python's re reads the ECMA pattern's \uXXXX escapes the same way.
    pattern = re.compile(SINGLE_LINE_PATTERN)
    for code in range(0x3000):
        text = f"a{chr(code)}b"
        assert (pattern.match(text) is not None) == (
            control_character(text, single_line=True) is None
        ), hex(code)
