"""Page blocks in a CRDT document: positions, text splices, markdown and concurrent edits."""

from __future__ import annotations

import random
from typing import Any

import pytest
from pycrdt import Doc, Map, Text

from coope.core.blocks import (
    BLOCK_TYPES,
    BlockView,
    add_block,
    apply_markdown,
    blocks_of,
    check_block_type,
    delete_block,
    import_markdown,
    move_block,
    parse_markdown,
    plain_text,
    position_between,
    read_blocks,
    set_text,
    to_markdown,
    update_block,
)
from coope.core.errors import Conflict, InvalidInput, NotFound

# Every block type, in the normal form `to_markdown` writes.
PAGE = """# Title

## Section

### Detail

A paragraph
on two lines

- [ ] open task
- [x] done task
- a bullet

1. first
2. second

> a quote
>
> with a gap

```python
def f():

    return "```"
```

---

\\# not a heading
"""


def texts(doc: Doc[Any]) -> list[str]:
    return [view.text for view in read_blocks(doc)]


def replica_of(doc: Doc[Any]) -> Doc[Any]:
    copy: Doc[Any] = Doc()
    copy.apply_update(doc.get_update())
    return copy


def exchange(a: Doc[Any], b: Doc[Any]) -> None:
    a_update = a.get_update(b.get_state())
    b_update = b.get_update(a.get_state())
    a.apply_update(b_update)
    b.apply_update(a_update)


def integrated_text(value: str) -> Text:
    doc: Doc[Any] = Doc()
    text = doc.get("text", type=Text)
    text.insert(0, value)
    return text


# --- text splices -----------------------------------------------------------------------------


def test_pycrdt_counts_text_offsets_in_utf8_bytes() -> None:
    # The reason `set_text` converts offsets; if pycrdt changes this, `set_text` must follow.
    text = integrated_text("é")
    assert len(text) == 2
    text.insert(2, "x")
    assert str(text) == "éx"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("é", "éx"),
        ("éa", "éb"),
        ("café au lait", "cafés au lait"),
        ("😀 start", "🙂 start"),
        ("middle 😀 here", "middle 🎉🎉 here"),
        ("end 😀", "end 😀😀"),
        ("中文在前 text", "日文在前 text"),
        ("text 中间 text", "text 中之间 text"),
        ("text 结尾", "text 结尾了"),
        ("ééé", ""),
        ("", "😀中é"),
        ("a😀b中c", "a中b😀c"),
        ("e\u0301", "e\u0301\u0301"),
    ],
)
def test_set_text_handles_multibyte_characters(old: str, new: str) -> None:
    text = integrated_text(old)
    set_text(text, new)
    assert str(text) == new


def test_set_text_splices_so_a_concurrent_edit_survives() -> None:
    a: Doc[Any] = Doc()
    a_text = a.get("text", type=Text)
    a_text.insert(0, "héllo wörld 😀 中文")
    b = replica_of(a)
    b_text = b.get("text", type=Text)
    set_text(a_text, "hey wörld 😀 中文")
    set_text(b_text, "héllo wörld 😀 中文!!")
    exchange(a, b)
    assert str(a_text) == str(b_text) == "hey wörld 😀 中文!!"


def test_set_text_with_the_same_text_makes_no_update() -> None:
    text = integrated_text("same é")
    state = text.doc.get_state()
    set_text(text, "same é")
    assert text.doc.get_state() == state


# --- positions --------------------------------------------------------------------------------


def test_positions_at_the_front_stay_ordered_and_short() -> None:
    keys = [position_between(None, None)]
    for _ in range(200):
        keys.insert(0, position_between(None, keys[0]))
    assert sorted(keys) == keys
    assert len(set(keys)) == len(keys)
    assert max(map(len, keys)) <= 6


def test_positions_at_the_end_stay_ordered_and_short() -> None:
    keys = [position_between(None, None)]
    for _ in range(200):
        keys.append(position_between(keys[-1], None))
    assert sorted(keys) == keys
    assert len(set(keys)) == len(keys)
    assert max(map(len, keys)) <= 6


def test_positions_between_the_same_neighbours_go_as_deep_as_needed() -> None:
    low = position_between(None, None)
    high = position_between(low, None)
    # Always right after `low`: each key lands between `low` and the previous one.
    after_low = [low, high]
    for _ in range(200):
        after_low.insert(1, position_between(after_low[0], after_low[1]))
    # Always right before `high`: each key lands between the previous one and `high`.
    before_high = [low, high]
    for _ in range(200):
        before_high.insert(-1, position_between(before_high[-2], before_high[-1]))
    for keys in (after_low, before_high):
        assert sorted(keys) == keys
        assert len(set(keys)) == len(keys)
        assert max(map(len, keys)) <= 60


def test_positions_for_random_inserts_keep_the_intended_order() -> None:
    rng = random.Random(7)
    keys: list[str] = []
    for _ in range(1000):
        index = rng.randint(0, len(keys))
        before = keys[index - 1] if index > 0 else None
        after = keys[index] if index < len(keys) else None
        keys.insert(index, position_between(before, after))
    assert sorted(keys) == keys
    assert len(set(keys)) == len(keys)
    assert all(key[-1] != "0" for key in keys)


@pytest.mark.parametrize(
    ("before", "after"), [("W", "V"), ("V", "V"), ("", None), ("V0", None), (None, "a-b")]
)
def test_positions_refuse_bad_bounds(before: str | None, after: str | None) -> None:
    with pytest.raises(ValueError):
        position_between(before, after)


# --- blocks -----------------------------------------------------------------------------------


def test_add_update_move_and_delete_blocks() -> None:
    doc: Doc[Any] = Doc()
    first = add_block(doc, "heading1", "Plan")
    last = add_block(doc, "todo", "ship it", checked=True)
    middle = add_block(doc, "paragraph", "why", after=first)
    assert [view.id for view in read_blocks(doc)] == [first, middle, last]
    assert read_blocks(doc)[2] == BlockView(last, "todo", "ship it", True, read_blocks(doc)[2].pos)

    update_block(doc, middle, kind="quote", text="why not")
    update_block(doc, last, checked=False)
    assert [(view.type, view.text, view.checked) for view in read_blocks(doc)] == [
        ("heading1", "Plan", False),
        ("quote", "why not", False),
        ("todo", "ship it", False),
    ]

    move_block(doc, last, after=None)
    assert [view.id for view in read_blocks(doc)] == [last, first, middle]
    move_block(doc, last, after=middle)
    assert [view.id for view in read_blocks(doc)] == [first, middle, last]

    delete_block(doc, middle)
    assert [view.id for view in read_blocks(doc)] == [first, last]
    assert plain_text(doc) == "Plan\nship it"


def test_random_adds_moves_and_deletes_keep_the_intended_order() -> None:
    rng = random.Random(3)
    doc: Doc[Any] = Doc()
    blocks = blocks_of(doc)
    model: list[str] = []
    for step in range(300):
        roll = rng.random()
        if roll < 0.45 or len(model) < 2:
            index = rng.randint(0, len(model))
            after = model[index - 1] if index else None
            if after is None and model:
                # `add_block` appends when `after` is None; put it at the front by a move.
                block_id = add_block(doc, "paragraph", str(step))
                move_block(doc, block_id, after=None)
                model.insert(0, block_id)
            else:
                model.insert(index, add_block(doc, "paragraph", str(step), after=after))
        elif roll < 0.75:
            block_id = model.pop(rng.randrange(len(model)))
            index = rng.randint(0, len(model))
            move_block(doc, block_id, after=model[index - 1] if index else None)
            model.insert(index, block_id)
        elif roll < 0.9:
            delete_block(doc, model.pop(rng.randrange(len(model))))
        else:
            # What other replicas leave behind: a position shared with a neighbour, or junk.
            block_id = rng.choice(model)
            neighbour = rng.choice(model)
            blocks[block_id]["pos"] = rng.choice([blocks[neighbour]["pos"], "", "~", "V0"])
            model = [view.id for view in read_blocks(doc)]
        assert [view.id for view in read_blocks(doc)] == model


def test_a_bulk_import_gets_short_positions() -> None:
    doc: Doc[Any] = Doc()
    markdown = "\n\n".join(f"paragraph {i}" for i in range(2000)) + "\n"
    import_markdown(doc, markdown)
    assert to_markdown(read_blocks(doc)) == markdown
    assert max(len(view.pos) for view in read_blocks(doc)) <= 3


def test_a_block_map_is_complete_when_it_arrives() -> None:
    doc: Doc[Any] = Doc()
    block_id = add_block(doc, "todo", "x", block_id="b1")
    assert block_id == "b1"
    raw = blocks_of(replica_of(doc))["b1"]
    assert set(raw.keys()) == {"type", "text", "checked", "pos"}
    assert isinstance(raw["text"], Text)


def test_moving_to_the_same_place_changes_nothing() -> None:
    doc: Doc[Any] = Doc()
    first = add_block(doc, "paragraph", "a")
    second = add_block(doc, "paragraph", "b")
    state = doc.get_state()
    move_block(doc, first, after=None)
    move_block(doc, second, after=first)
    move_block(doc, second, after=second)
    assert doc.get_state() == state


def test_block_errors() -> None:
    doc: Doc[Any] = Doc()
    block_id = add_block(doc, "paragraph", "x")
    with pytest.raises(InvalidInput, match="heading1"):
        check_block_type("title")
    with pytest.raises(InvalidInput):
        add_block(doc, "title")
    with pytest.raises(InvalidInput):
        update_block(doc, block_id, kind="title")
    with pytest.raises(Conflict):
        add_block(doc, "paragraph", block_id=block_id)
    with pytest.raises(NotFound):
        add_block(doc, "paragraph", after="missing")
    for call in (update_block, delete_block):
        with pytest.raises(NotFound):
            call(doc, "missing")
    with pytest.raises(NotFound):
        move_block(doc, block_id, after="missing")
    assert check_block_type("code") == "code"
    assert len(read_blocks(doc)) == 1


def test_blocks_written_oddly_by_other_clients_read_as_paragraphs() -> None:
    doc: Doc[Any] = Doc()
    blocks = blocks_of(doc)
    blocks["kanban"] = Map({"type": "kanban", "text": Text("cards"), "checked": True, "pos": "V"})
    blocks["bare"] = Map({"text": "a plain string", "pos": "W"})
    blocks["empty"] = Map({"type": 3, "pos": 7})
    blocks["scalar"] = "not a block"
    assert read_blocks(doc) == [
        BlockView("empty", "paragraph", "", False, ""),
        BlockView("kanban", "paragraph", "cards", False, "V"),
        BlockView("bare", "paragraph", "a plain string", False, "W"),
    ]
    # Editing such a block works; appending after one without a usable position repairs it.
    update_block(doc, "bare", text="now a Text")
    assert isinstance(blocks["bare"]["text"], Text)
    add_block(doc, "paragraph", "after empty", after="empty")
    assert texts(doc) == ["", "after empty", "cards", "now a Text"]


def test_blocks_on_the_same_position_are_spread_out_when_something_goes_between() -> None:
    a: Doc[Any] = Doc()
    add_block(a, "paragraph", "start", block_id="s")
    b = replica_of(a)
    # Both replicas append at the end at once, so both new blocks get the same position.
    add_block(a, "paragraph", "from a", block_id="x1")
    add_block(b, "paragraph", "from b", block_id="x2")
    exchange(a, b)
    assert read_blocks(a)[1].pos == read_blocks(a)[2].pos
    add_block(a, "paragraph", "between", after="x1")
    assert texts(a) == ["start", "from a", "between", "from b"]
    move_block(a, "s", after="x1")
    assert texts(a) == ["from a", "start", "between", "from b"]
    positions = [view.pos for view in read_blocks(a)]
    assert positions == sorted(set(positions))


# --- markdown ---------------------------------------------------------------------------------


def test_markdown_round_trip_with_every_block_type() -> None:
    doc: Doc[Any] = Doc()
    import_markdown(doc, PAGE)
    views = read_blocks(doc)
    assert {view.type for view in views} == set(BLOCK_TYPES)
    assert to_markdown(views) == PAGE
    assert [(view.type, view.text, view.checked) for view in views][3:6] == [
        ("paragraph", "A paragraph\non two lines", False),
        ("todo", "open task", False),
        ("todo", "done task", True),
    ]
    assert (views[-3].text, views[-3].lang) == ('def f():\n\n    return "```"', "python")
    assert {view.lang for view in views if view.type != "code"} == {""}


TRICKY: list[tuple[str, str, bool, str]] = [
    ("paragraph", "# not a heading\n- not a bullet\n1. not numbered", False, ""),
    ("paragraph", "> not a quote\n```\n---\n***", False, ""),
    ("paragraph", "", False, ""),
    ("paragraph", "gap\n\nin the middle\n   \nand spaces", False, ""),
    ("paragraph", "\\# a backslash\n\\plain\n\\\\- two", False, ""),
    ("paragraph", "  indented start\n    more", False, ""),
    ("bullet", "[ ] not a todo", False, ""),
    ("bullet", "\\[x] escaped already", False, ""),
    ("bullet", "", False, ""),
    ("bullet", "two\nlines\n\n  and a gap", False, ""),
    ("todo", "", True, ""),
    ("todo", "[x] inside", False, ""),
    ("numbered", "a", False, ""),
    ("numbered", "b\n- still b", False, ""),
    ("heading1", "# hashes", False, ""),
    ("heading2", "", False, ""),
    ("heading3", "multi\nline", False, ""),
    ("quote", "", False, ""),
    ("quote", " leading space\n\n> nested", False, ""),
    ("code", "", False, ""),
    ("code", "```\n````\n", False, ""),
    ("code", "\n\n", False, ""),
    ("code", "print('hi')", False, "python"),
    ("code", "", False, "c++"),
    ("code", "```\n", False, "sh"),
    ("divider", "", False, ""),
    ("paragraph", "é 😀 中文", False, ""),
]


def test_parse_reads_back_what_to_markdown_writes() -> None:
    views = [BlockView(str(i), k, t, c, "", lang) for i, (k, t, c, lang) in enumerate(TRICKY)]
    assert parse_markdown(to_markdown(views)) == TRICKY


def test_parse_reads_back_random_block_lists() -> None:
    rng = random.Random(11)
    pieces = ["a", " ", "#", "-", "*", "1.", ">", "`", "```", "[ ]", "[x]", "\\", "\n", "é", "---"]
    for _ in range(300):
        blocks = []
        for _ in range(rng.randint(0, 6)):
            kind = rng.choice(BLOCK_TYPES)
            text = "" if kind == "divider" else "".join(rng.choices(pieces, k=rng.randint(0, 8)))
            if kind != "code":
                # Markdown has no way to write blank lines around a block's text.
                text = text.strip("\n")
            lang = rng.choice(["", "py", "c++"]) if kind == "code" else ""
            blocks.append((kind, text, kind == "todo" and rng.random() < 0.5, lang))
        views = [BlockView(str(i), k, t, c, "", lang) for i, (k, t, c, lang) in enumerate(blocks)]
        markdown = to_markdown(views)
        assert parse_markdown(markdown) == blocks, markdown


def test_parse_accepts_common_variants() -> None:
    markdown = (
        "* star\n+ plus\n- [X] upper x\n7. seven\n3) three\n"
        "#### deep\n```python\nprint()\n```\n````  js  {.numberLines}\nx\n````\n"
        "> a\nlazy\nplain\nlines\n***\n\n- loose\n\n- list"
    )
    assert parse_markdown(markdown) == [
        ("bullet", "star", False, ""),
        ("bullet", "plus", False, ""),
        ("todo", "upper x", True, ""),
        ("numbered", "seven", False, ""),
        ("numbered", "three", False, ""),
        ("heading3", "deep", False, ""),
        ("code", "print()", False, "python"),
        ("code", "x", False, "js"),
        ("quote", "a\nlazy\nplain\nlines", False, ""),
        ("divider", "", False, ""),
        ("bullet", "loose", False, ""),
        ("bullet", "list", False, ""),
    ]
    assert parse_markdown("no final newline\r\nwindows") == [
        ("paragraph", "no final newline\nwindows", False, "")
    ]
    assert parse_markdown("") == parse_markdown("\n\n") == []


def test_numbered_runs_restart_after_another_block() -> None:
    views = [
        BlockView(str(i), kind, "x", False, "")
        for i, kind in enumerate(["numbered", "numbered", "paragraph", "numbered"])
    ]
    assert to_markdown(views) == "1. x\n2. x\n\nx\n\n1. x\n"


def test_items_of_one_list_are_tight_and_lists_are_apart() -> None:
    kinds = ["bullet", "todo", "bullet", "numbered", "numbered", "bullet", "quote", "quote"]
    views = [BlockView(str(i), kind, kind, False, "") for i, kind in enumerate(kinds)]
    assert to_markdown(views) == (
        "- bullet\n- [ ] todo\n- bullet\n\n1. numbered\n2. numbered\n\n- bullet\n\n"
        "> quote\n\n> quote\n"
    )
    assert [(v[0], v[1]) for v in parse_markdown(to_markdown(views))] == [
        (kind, kind) for kind in kinds
    ]


def test_a_code_language_lives_in_the_block_map_of_code_blocks_only() -> None:
    doc: Doc[Any] = Doc()
    import_markdown(doc, "```rust\nfn main() {}\n```\n\nplain\n")
    code, plain = (blocks_of(doc)[view.id] for view in read_blocks(doc))
    assert (code["lang"], "lang" in plain) == ("rust", False)
    # Blocks written before languages existed, or by another client, read as they can.
    code["lang"] = 7
    plain["lang"] = "python"
    assert [view.lang for view in read_blocks(doc)] == ["", ""]
    # A language a fence cannot carry is left out of the markdown; the code stays code.
    code["lang"] = "two words"
    assert to_markdown(read_blocks(doc)) == "```\nfn main() {}\n```\n\nplain\n"
    code["lang"] = "a`b"
    assert to_markdown(read_blocks(doc)).startswith("```\n")


def test_changing_only_the_language_writes_only_the_language() -> None:
    doc: Doc[Any] = Doc()
    import_markdown(doc, "```py\nx = 1\n```\n")
    before = read_blocks(doc)[0]
    events: list[Any] = []
    blocks = blocks_of(doc)
    subscription = blocks.observe_deep(events.extend)
    apply_markdown(doc, "```python\nx = 1\n```\n")
    blocks.unobserve(subscription)
    after = read_blocks(doc)[0]
    assert (after.id, after.text, after.lang) == (before.id, "x = 1", "python")
    assert [set(event.keys) for event in events] == [{"lang"}]
    update_block(doc, after.id, lang="")
    assert to_markdown(read_blocks(doc)) == "```\nx = 1\n```\n"


# --- apply_markdown ---------------------------------------------------------------------------


def snapshot(doc: Doc[Any]) -> dict[str, BlockView]:
    return {view.id: view for view in read_blocks(doc)}


def test_apply_markdown_keeps_ids_and_touches_only_what_changed() -> None:
    doc: Doc[Any] = Doc()
    import_markdown(doc, "# Title\n\nkeep me\n\nedit me\n\ndrop me\n\n- [ ] task\n\nlast\n")
    before = snapshot(doc)
    ids = list(before)
    events: list[Any] = []
    # pycrdt keeps subscriptions on the wrapper object: unobserve through the same one.
    blocks = blocks_of(doc)
    subscription = blocks.observe_deep(events.extend)

    apply_markdown(doc, "# Title\n\nkeep me\n\nedited me\n\n- [x] task\n\nnew one\n\nlast\n")

    blocks.unobserve(subscription)
    after = snapshot(doc)
    assert [(view.type, view.text, view.checked) for view in after.values()] == [
        ("heading1", "Title", False),
        ("paragraph", "keep me", False),
        ("paragraph", "edited me", False),
        ("todo", "task", True),
        ("paragraph", "new one", False),
        ("paragraph", "last", False),
    ]
    order = list(after)
    assert order[:4] == [ids[0], ids[1], ids[2], ids[4]]
    assert order[5] == ids[5]
    assert ids[3] not in after
    # Nothing moved: every surviving block kept its position.
    assert all(
        after[block_id].pos == before[block_id].pos for block_id in order if block_id in before
    )
    touched = {event.path[0] for event in events if event.path}
    assert touched == {ids[2], ids[4]}


def test_apply_markdown_with_the_same_markdown_makes_no_update() -> None:
    doc: Doc[Any] = Doc()
    import_markdown(doc, PAGE)
    state = doc.get_state()
    apply_markdown(doc, to_markdown(read_blocks(doc)))
    assert doc.get_state() == state


def test_apply_markdown_inserts_at_the_front_and_between() -> None:
    doc: Doc[Any] = Doc()
    import_markdown(doc, "b\n\nd\n")
    ids = list(snapshot(doc))
    apply_markdown(doc, "a\n\nb\n\nc1\n\nc2\n\nd\n\ne\n")
    assert texts(doc) == ["a", "b", "c1", "c2", "d", "e"]
    views = read_blocks(doc)
    assert [views[1].id, views[4].id] == ids
    apply_markdown(doc, "")
    assert read_blocks(doc) == []


def test_apply_markdown_pairs_an_edit_with_its_own_block_when_a_neighbour_goes() -> None:
    doc: Doc[Any] = Doc()
    import_markdown(doc, "intro\n\nfirst point\n\nsecond point is long\n\noutro\n")
    ids = list(snapshot(doc))
    apply_markdown(doc, "intro\n\nsecond point is longer\n\noutro\n")
    assert [view.id for view in read_blocks(doc)] == [ids[0], ids[2], ids[3]]
    assert texts(doc) == ["intro", "second point is longer", "outro"]


def test_apply_markdown_rewriting_blocks_keeps_their_ids_in_order() -> None:
    doc: Doc[Any] = Doc()
    import_markdown(doc, "# Old title\n\nold body\n")
    ids = list(snapshot(doc))
    apply_markdown(doc, "- [x] something\n\n> else entirely\n")
    assert [view.id for view in read_blocks(doc)] == ids
    assert [(view.type, view.text, view.checked) for view in read_blocks(doc)] == [
        ("todo", "something", True),
        ("quote", "else entirely", False),
    ]


def test_concurrent_markdown_edit_and_typing_in_the_same_paragraph_both_survive() -> None:
    a: Doc[Any] = Doc()
    import_markdown(a, "# Notes\n\nThe quick brown fox\n\nEnd\n")
    b = replica_of(a)
    shared = to_markdown(read_blocks(a))
    paragraph = read_blocks(b)[1].id

    # A edits the first word in an editor; B meanwhile types and adds a block.
    apply_markdown(a, shared.replace("The quick", "A quick"))
    update_block(b, paragraph, text="The quick brown fox jumps")
    add_block(b, "todo", "feed the fox", after=paragraph)
    exchange(a, b)

    assert snapshot(a) == snapshot(b)
    assert texts(a) == ["Notes", "A quick brown fox jumps", "feed the fox", "End"]
    assert read_blocks(a)[1].id == paragraph


def test_concurrent_text_edit_and_move_of_one_block_both_survive() -> None:
    a: Doc[Any] = Doc()
    import_markdown(a, "one\n\ntwo\n\nthree\n")
    b = replica_of(a)
    moved = read_blocks(a)[2].id

    update_block(a, moved, text="three, edited")
    move_block(b, moved, after=None)
    exchange(a, b)

    assert snapshot(a) == snapshot(b)
    assert texts(a) == ["three, edited", "one", "two"]
