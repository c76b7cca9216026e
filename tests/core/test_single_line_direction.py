"""Direction overrides and isolates in one-line names: refused when a person types them, dropped
from names that come from elsewhere, left alone in multi-line text."""

from __future__ import annotations

import pytest

from coope.core.rules import check_single_line, control_character, without_control_characters
from coope.core.schemas import display_name_or

# U+202A-U+202E: embeddings and overrides; U+2066-U+2069: isolates. Each reorders what a
# terminal shows after it.
DIRECTION_MARKS = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]


@pytest.mark.parametrize("mark", DIRECTION_MARKS, ids=lambda m: f"U+{ord(m):04X}")
def test_a_one_line_name_holds_no_direction_mark(mark: str) -> None:
    name = f"invoice{mark}fdp.exe"
    assert control_character(name, single_line=True) == f"U+{ord(mark):04X}"
    with pytest.raises(ValueError, match="control characters"):
        check_single_line(name)
    assert without_control_characters(name) == "invoicefdp.exe"


def test_text_of_several_lines_keeps_them() -> None:
    # Right-to-left writers use them in messages, where no name is at stake.
    assert control_character("\u2067שלום\u2069 world\n") is None


def test_a_right_to_left_name_without_marks_is_fine() -> None:
    assert check_single_line("שלום עולם") == "שלום עולם"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("Alice Liddell", "Alice Liddell"),
        ("  Alice \n Liddell\x1b ", "Alice Liddell"),
        ("\u202eecilA", "ecilA"),
        ("x" * 100, "x" * 64),
        ("deleted USER", "fallback"),
        ("\u200b", "fallback"),
        ("", "fallback"),
    ],
)
def test_names_from_elsewhere_are_made_to_fit(raw: str, shown: str) -> None:
    assert display_name_or(raw, "fallback") == shown
