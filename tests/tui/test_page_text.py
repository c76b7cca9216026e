"""A block's text typed in the TUI while someone else types in it: values in, values out, and
the same result as the CRDT's own merge of the two edits."""

from __future__ import annotations

from typing import Any

import pytest
from pycrdt import Doc, Text

from coope.core.blocks import Splice, splice, splice_text
from coope.tui.page_text import applied, rebase


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("abc", "abc", Splice(3, 3, "")),
        ("", "hi", Splice(0, 0, "hi")),
        ("hello world", "hello big world", Splice(6, 6, "big ")),
        ("abcdef", "abef", Splice(2, 4, "")),
        ("abc", "aXc", Splice(1, 2, "X")),
        # A run of equal characters: the splice is put at the end of the run.
        ("aa", "aaa", Splice(2, 2, "a")),
        ("aaa", "aa", Splice(2, 3, "")),
    ],
)
def test_splice(old: str, new: str, expected: Splice) -> None:
    assert splice(old, new) == expected
    assert applied(old, [expected]) == new


# (before, the person's edit of it, what the document reads meanwhile, the result)
CASES = [
    # Nobody else typed: the edit as it is.
    ("abc", Splice(1, 1, "X"), "abc", "aXbc"),
    # Apart from each other: both kept, wherever they are.
    ("hello world", Splice(0, 0, ">"), "hello world!", ">hello world!"),
    ("hello world", Splice(11, 11, "!"), "<hello world", "<hello world!"),
    # The person deletes a range someone types in: their text stays.
    ("abcdef", Splice(2, 4, ""), "abcXdef", "abXef"),
    # Ctrl+W on a word while someone types in it.
    ("hello world", Splice(5, 11, ""), "hello big world", "hellobig "),
    # The person replaces a range someone types in: theirs stays, the person's after it.
    ("abcdef", Splice(2, 4, "YY"), "abcXdef", "abYYXef"),
    # Both type at the same place: theirs first, the person's after it.
    ("ab", Splice(1, 1, "Y"), "aXb", "aXYb"),
    # The person types inside what they deleted: after what they put there.
    ("abcdef", Splice(3, 3, "Y"), "abZef", "abZYef"),
    # Both delete the same text: gone once, the rest stays.
    ("abcdef", Splice(1, 4, ""), "abef", "aef"),
    ("abcdef", Splice(2, 3, ""), "abf", "abf"),
    # A run of equal characters: the person's 'a' and their 'b' both stay.
    ("aa", Splice(0, 0, "a"), "baa", "baaa"),
    ("aa", Splice(2, 2, "a"), "baa", "baaa"),
    ("aa", Splice(0, 1, ""), "aaa", "aa"),
    # Not ASCII: offsets are characters.
    ("héllo wörld", Splice(5, 11, ""), "héllo bïg wörld", "héllobïg "),
]


@pytest.mark.parametrize(("before", "mine", "current", "result"), CASES)
def test_rebase_keeps_both_sides_typing(
    before: str, mine: Splice, current: str, result: str
) -> None:
    changes = rebase(before, mine, current)
    assert applied(current, changes) == result
    # Made in the order given, each splice's offsets are of the text as it then reads.
    for change in changes:
        assert 0 <= change.start <= change.end


def shared(text: str) -> tuple[Doc[Any], Text]:
    doc: Doc[Any] = Doc()
    doc["text"] = shared_text = Text(text)
    return doc, shared_text


@pytest.mark.parametrize(("before", "mine", "current", "result"), CASES)
def test_rebase_made_in_a_crdt_text_reads_as_the_result(
    before: str, mine: Splice, current: str, result: str
) -> None:
    doc, text = shared(current)
    with doc.transaction():
        for change in rebase(before, mine, current):
            splice_text(text, change)
    assert str(text) == result


def test_deletions_merge_as_the_crdt_merges_them() -> None:
    """What `rebase` keeps is what two replicas keep when each makes its edit unseen by the
    other (Yjs keeps text inserted inside a range another replica deletes)."""
    for before, mine, theirs, result in [
        ("abcdef", Splice(2, 4, ""), Splice(3, 3, "X"), "abXef"),
        ("hello world", Splice(5, 11, ""), Splice(6, 6, "big "), "hellobig "),
    ]:
        ours, our_text = shared(before)
        other: Doc[Any] = Doc()
        other.apply_update(ours.get_update())
        other_text = other.get("text", type=Text)
        splice_text(our_text, mine)
        splice_text(other_text, theirs)
        ours.apply_update(other.get_update(ours.get_state()))
        assert str(our_text) == result
        current = applied(before, [theirs])
        assert applied(current, rebase(before, mine, current)) == result


def test_splice_text_counts_characters_not_bytes() -> None:
    _, text = shared("naïve café")
    splice_text(text, Splice(6, 10, "bar"))
    assert str(text) == "naïve bar"
