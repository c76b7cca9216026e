"""A page's content as a CRDT: ordered blocks in a pycrdt `Doc`, and their markdown form.

`doc["blocks"]` is a `Map` from block id to a block `Map` holding `type`, `text` (a `Text`),
`checked` and `pos`, and for a code block an optional `lang` string (the fence's language; blocks
written before it existed simply have none). Blocks are ordered by `(pos, id)`, where `pos` is a
fractional index: a move changes `pos` only, because deleting and re-inserting a block would lose
an edit another replica makes to it at the same time. For the same reason text changes are
minimal splices, never a replacement of the `Text`.

pycrdt counts `Text` offsets in UTF-8 bytes, not characters; every splice here goes through
`set_text`, which converts.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any, NamedTuple, cast

from pycrdt import Doc, Map, Text

from coope.core.errors import Conflict, InvalidInput, NotFound

BLOCK_TYPES: tuple[str, ...] = (
    "paragraph",
    "heading1",
    "heading2",
    "heading3",
    "todo",
    "bullet",
    "numbered",
    "quote",
    "code",
    "divider",
)

# Base 62 in ASCII order, so keys compare correctly as plain `str`. A key never ends with the
# smallest digit: "V" and "V0" would be the same fraction, and nothing would fit between them.
_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_DIGIT_VALUE = {digit: value for value, digit in enumerate(_DIGITS)}
_BASE = len(_DIGITS)
_FIRST_KEY = _DIGITS[_BASE // 2]
# Pairing changed blocks by similarity costs one text comparison per (old, new) pair; past this,
# a run is paired by position.
_PAIRING_LIMIT = 400
_EXACT_SIMILARITY_CHARS = 4000

MarkdownBlock = tuple[str, str, bool, str]
"""A block as markdown sees it: (type, text, checked, lang)."""


@dataclass(frozen=True)
class BlockView:
    """A plain snapshot of one block, detached from the document."""

    id: str
    type: str
    text: str
    checked: bool
    pos: str
    lang: str = ""


def blocks_of(doc: Doc[Any]) -> Map[Any]:
    """The root map of block id to block map, created empty if the document has none."""
    # `Doc.get` is typed by the document's root type parameter, which says nothing here.
    return cast(Map[Any], doc.get("blocks", type=Map))


def read_blocks(doc: Doc[Any]) -> list[BlockView]:
    """The document's blocks in order.

    Other clients write to the same document, so reading is tolerant: an unknown or missing
    `type` reads as a paragraph, a missing `text` as empty, `checked` counts only for todos, and
    an entry that is not a map at all is skipped.
    """
    views = []
    for block_id, block in blocks_of(doc).items():
        if isinstance(block, Map):
            views.append(_view(block_id, block))
    views.sort(key=lambda view: (view.pos, view.id))
    return views


def check_block_type(kind: str) -> str:
    """Return `kind` if it is a block type, or raise `InvalidInput` naming the allowed ones."""
    if kind not in BLOCK_TYPES:
        raise InvalidInput(
            f"unknown block type {kind!r}; use one of: {', '.join(BLOCK_TYPES)}",
            details={"field": "type"},
        )
    return kind


def position_between(before: str | None, after: str | None) -> str:
    """A fractional index that sorts strictly between two others.

    Args:
        before: The key to sort after, or None for the open start.
        after: The key to sort before, or None for the open end.

    Returns:
        A base-62 key. Repeated inserts at either end grow keys by one character every 30 to 60
        inserts; repeated inserts between two adjacent keys go as deep as needed.

    Raises:
        ValueError: A key is not a valid position, or `before` does not sort before `after`.
    """
    for key in (before, after):
        if key is not None and not _is_key(key):
            raise ValueError(f"not a position key: {key!r}")
    if before is not None and after is not None and before >= after:
        raise ValueError(f"no position between {before!r} and {after!r}")
    if after is None:
        return _FIRST_KEY if before is None else _increment(before)
    if before is None:
        return _decrement(after)
    return _midpoint(before, after)


def add_block(
    doc: Doc[Any],
    kind: str,
    text: str = "",
    *,
    checked: bool = False,
    lang: str = "",
    after: str | None = None,
    block_id: str | None = None,
) -> str:
    """Insert a block and return its id.

    Args:
        doc: The page document.
        kind: One of `BLOCK_TYPES`.
        text: The block's initial text.
        checked: Whether a todo is done.
        lang: A code block's language (the word after its opening fence).
        after: The id of the block to insert after; None appends at the end.
        block_id: The new block's id; a random one by default.

    Raises:
        InvalidInput: `kind` is not a block type, or `block_id` is empty.
        NotFound: `after` names no block.
        Conflict: `block_id` is taken.
    """
    check_block_type(kind)
    new_id = block_id if block_id is not None else uuid.uuid4().hex
    if not new_id:
        raise InvalidInput("a block id cannot be empty", details={"field": "id"})
    with doc.transaction():
        views = read_blocks(doc)
        if new_id in blocks_of(doc):
            raise Conflict(f"block {new_id!r} already exists")
        index = len(views) if after is None else _index_of(views, after) + 1
        _insert_blocks(doc, views, index, [(kind, text, checked, lang)], [new_id])
    return new_id


class Splice(NamedTuple):
    """`old[start:end]` replaced by `inserted` (offsets in code points)."""

    start: int
    end: int
    inserted: str


def splice(old: str, new: str) -> Splice:
    """The one splice that turns `old` into `new`: what differs between the common ends."""
    limit = min(len(old), len(new))
    start = 0
    while start < limit and old[start] == new[start]:
        start += 1
    end = 0
    while end < limit - start and old[-1 - end] == new[-1 - end]:
        end += 1
    return Splice(start, len(old) - end, new[start : len(new) - end])


def splice_text(text: Text, change: Splice) -> None:
    """Make `change` to an integrated `Text` as the CRDT's own delete and insert, so a
    replica that edits the same text at the same time keeps its edit."""
    old = str(text)
    # pycrdt offsets count UTF-8 bytes; Python indexes count code points.
    at = len(old[: change.start].encode())
    removed = len(old[change.start : change.end].encode())
    with text.doc.transaction():
        if removed:
            del text[at : at + removed]
        if change.inserted:
            text.insert(at, change.inserted)


def set_text(text: Text, new: str) -> None:
    """Make an integrated `Text` read `new` by splicing only the part that differs.

    A replica that edits another part of the same text at the same time keeps its edit.
    """
    old = str(text)
    if old != new:
        splice_text(text, splice(old, new))


def update_block(
    doc: Doc[Any],
    block_id: str,
    *,
    kind: str | None = None,
    text: str | None = None,
    checked: bool | None = None,
    lang: str | None = None,
) -> None:
    """Change a block's type, text, checked state or language; fields left as None stay.

    Raises:
        NotFound: No block has this id.
        InvalidInput: `kind` is not a block type.
    """
    if kind is not None:
        check_block_type(kind)
    with doc.transaction():
        _update(_block(doc, block_id), kind=kind, text=text, checked=checked, lang=lang)


def move_block(doc: Doc[Any], block_id: str, *, after: str | None) -> None:
    """Move a block after another one (None: to the front) by changing its `pos` only.

    Raises:
        NotFound: `block_id` or `after` names no block.
    """
    with doc.transaction():
        views = read_blocks(doc)
        here = _index_of(views, block_id)
        if after == block_id:
            return
        others = views[:here] + views[here + 1 :]
        index = 0 if after is None else _index_of(others, after) + 1
        if index == here:
            return
        ids = [view.id for view in others]
        ids.insert(index, block_id)
        keys: list[str | None] = [view.pos for view in others]
        keys.insert(index, None)
        blocks = blocks_of(doc)
        for i, pos in enumerate(_place(keys)):
            if pos != keys[i]:
                cast(Map[Any], blocks[ids[i]])["pos"] = pos


def delete_block(doc: Doc[Any], block_id: str) -> None:
    """Delete a block.

    Raises:
        NotFound: No block has this id.
    """
    with doc.transaction():
        blocks = blocks_of(doc)
        if block_id not in blocks:
            raise NotFound(f"no block {block_id!r}")
        del blocks[block_id]


def plain_text(doc: Doc[Any]) -> str:
    """The non-empty block texts in order, one per line, for search indexing."""
    return "\n".join(view.text for view in read_blocks(doc) if view.text)


def to_markdown(blocks: list[BlockView]) -> str:
    """Render blocks as markdown in normal form, ending with a newline.

    Blocks are separated by one blank line, except the items of one list, which are on
    consecutive lines (a tight list): bullets and todos (both `-` items) with each other, and
    numbered items with each other, numbered from 1. Code blocks keep their language after the
    opening fence. `parse_markdown` reads this form back into the same blocks.
    """
    out: list[str] = []
    number = 0
    previous: str | None = None
    for view in blocks:
        number = number + 1 if view.type == "numbered" else 0
        if previous is not None:
            same_list = _LIST_OF.get(previous, previous) == _LIST_OF.get(view.type)
            out.append("\n" if same_list else "\n\n")
        out.append(_block_markdown(view.type, view.text, view.checked, number, view.lang))
        previous = view.type
    return "".join(out) + "\n" if out else ""


def parse_markdown(markdown: str) -> list[MarkdownBlock]:
    """Read markdown into (type, text, checked, lang) blocks; `to_markdown` writes what this
    reads."""
    return _Parser().parse(markdown)


def import_markdown(doc: Doc[Any], markdown: str) -> None:
    """Append the blocks of a markdown text at the end of the page."""
    parsed = parse_markdown(markdown)
    with doc.transaction():
        views = read_blocks(doc)
        _insert_blocks(doc, views, len(views), parsed, [uuid.uuid4().hex for _ in parsed])


def apply_markdown(doc: Doc[Any], markdown: str) -> None:
    """Make the page's blocks match a markdown text with the fewest CRDT operations.

    The old and new block lists are aligned with `difflib.SequenceMatcher`. Blocks that did not
    change are not touched and do not move. In a changed run, old and new blocks are paired one
    to one in order (the most alike first, see `_pair`): a paired block keeps its id, gets its
    type and checked state set if they differ and a minimal text splice, so an edit another
    replica makes inside it at the same time survives the merge. Unpaired new blocks are
    inserted between their neighbours, unpaired old ones deleted. All in one transaction.
    """
    new = parse_markdown(markdown)
    with doc.transaction():
        views = read_blocks(doc)
        old = [(view.type, view.text, view.checked, view.lang) for view in views]
        # Each target slot: the old block it reuses (or None for a new block) and what it holds.
        target: list[tuple[BlockView | None, MarkdownBlock]] = []
        deleted: list[BlockView] = []
        matcher = SequenceMatcher(None, old, new, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            olds, news = views[i1:i2], new[j1:j2]
            if tag == "equal":
                target.extend(zip(olds, news, strict=True))
                continue
            pairs = _pair(old[i1:i2], news)
            paired_old = {i for i, _ in pairs}
            paired_new = {j: i for i, j in pairs}
            deleted.extend(view for i, view in enumerate(olds) if i not in paired_old)
            for j, wanted in enumerate(news):
                target.append((olds[paired_new[j]] if j in paired_new else None, wanted))
        blocks = blocks_of(doc)
        for gone in deleted:
            del blocks[gone.id]
        keys = [reused.pos if reused is not None else None for reused, _ in target]
        for pos, key, (reused, wanted) in zip(_place(keys), keys, target, strict=True):
            kind, text, checked, lang = wanted
            if reused is None:
                blocks[uuid.uuid4().hex] = _new_block(kind, text, checked, pos, lang)
                continue
            block = cast(Map[Any], blocks[reused.id])
            # An equal block is left alone even where its raw fields are odd: this edit did not
            # touch it, and rewriting them would override what another client meant.
            if (reused.type, reused.text, reused.checked, reused.lang) != wanted:
                _update(block, kind=kind, text=text, checked=checked, lang=lang)
            if pos != key:
                block["pos"] = pos


# --- reading and writing blocks ---------------------------------------------------------------


def _view(block_id: str, block: Map[Any]) -> BlockView:
    kind = block.get("type")
    kind = kind if isinstance(kind, str) and kind in BLOCK_TYPES else "paragraph"
    text = block.get("text")
    pos = block.get("pos")
    lang = block.get("lang")
    return BlockView(
        id=block_id,
        type=kind,
        text=str(text) if isinstance(text, Text | str) else "",
        checked=kind == "todo" and block.get("checked") is True,
        pos=pos if isinstance(pos, str) else "",
        lang=lang if kind == "code" and isinstance(lang, str) else "",
    )


def _block(doc: Doc[Any], block_id: str) -> Map[Any]:
    block = blocks_of(doc).get(block_id)
    if not isinstance(block, Map):
        raise NotFound(f"no block {block_id!r}")
    return block


def _index_of(views: list[BlockView], block_id: str) -> int:
    for index, view in enumerate(views):
        if view.id == block_id:
            return index
    raise NotFound(f"no block {block_id!r}")


def _new_block(kind: str, text: str, checked: bool, pos: str, lang: str = "") -> Map[Any]:
    # Built whole, then inserted in one go: no replica ever sees a block without its fields.
    fields: dict[str, Any] = {"type": kind, "text": Text(text), "checked": checked, "pos": pos}
    if lang:  # only code blocks have one; the others keep the shape they always had
        fields["lang"] = lang
    return Map(fields)


def _insert_blocks(
    doc: Doc[Any], views: list[BlockView], index: int, new: list[MarkdownBlock], ids: list[str]
) -> None:
    keys: list[str | None] = [view.pos for view in views]
    keys[index:index] = [None] * len(new)
    placed = _place(keys)
    blocks = blocks_of(doc)
    for offset, view in enumerate(views):
        i = offset if offset < index else offset + len(new)
        if placed[i] != view.pos:
            cast(Map[Any], blocks[view.id])["pos"] = placed[i]
    for offset, ((kind, text, checked, lang), block_id) in enumerate(zip(new, ids, strict=True)):
        blocks[block_id] = _new_block(kind, text, checked, placed[index + offset], lang)


def _update(
    block: Map[Any],
    *,
    kind: str | None,
    text: str | None,
    checked: bool | None,
    lang: str | None = None,
) -> None:
    # Writing an unchanged value is still an operation, and would win over a concurrent change.
    if kind is not None and block.get("type") != kind:
        block["type"] = kind
    if checked is not None and block.get("checked") is not checked:
        block["checked"] = checked
    if lang is not None:
        current = block.get("lang")
        if (current if isinstance(current, str) else "") != lang:
            block["lang"] = lang
    if text is not None:
        current = block.get("text")
        if isinstance(current, Text):
            set_text(current, text)
        elif current != text:
            block["text"] = Text(text)


def _pair(old: list[MarkdownBlock], new: list[MarkdownBlock]) -> list[tuple[int, int]]:
    """Pair the old and new blocks of a changed run one to one, in order.

    Pairing by position alone goes wrong as soon as a block is dropped and a later one edited:
    the edited text would land in the dropped block's id, and a concurrent edit to the block
    the person actually changed would be lost with it. So the most alike blocks are paired
    first (an order-keeping alignment maximising text similarity), and the rest in between are
    paired by position.
    """
    if len(old) * len(new) > _PAIRING_LIMIT:
        return list(zip(range(len(old)), range(len(new)), strict=False))
    similarity = [[_similarity(before, after) for after in new] for before in old]
    best = [[0.0] * (len(new) + 1) for _ in range(len(old) + 1)]
    for i in reversed(range(len(old))):
        for j in reversed(range(len(new))):
            best[i][j] = max(similarity[i][j] + best[i + 1][j + 1], best[i + 1][j], best[i][j + 1])
    anchors = []
    i = j = 0
    while i < len(old) and j < len(new):
        if best[i][j] == similarity[i][j] + best[i + 1][j + 1]:
            anchors.append((i, j))
            i, j = i + 1, j + 1
        elif best[i][j] == best[i + 1][j]:
            i += 1
        else:
            j += 1
    pairs: list[tuple[int, int]] = []
    i = j = 0
    for anchor_i, anchor_j in [*anchors, (len(old), len(new))]:
        pairs.extend(zip(range(i, anchor_i), range(j, anchor_j), strict=False))
        pairs.append((anchor_i, anchor_j))
        i, j = anchor_i + 1, anchor_j + 1
    return pairs[:-1]


def _similarity(before: MarkdownBlock, after: MarkdownBlock) -> float:
    same_type = 0.1 if before[0] == after[0] else 0.0
    matcher = SequenceMatcher(None, before[1], after[1], autojunk=False)
    # The exact ratio is quadratic in the worst case; long texts (code) get the linear estimate.
    long = len(before[1]) + len(after[1]) > _EXACT_SIMILARITY_CHARS
    return (matcher.quick_ratio() if long else matcher.ratio()) + same_type


# --- fractional positions ---------------------------------------------------------------------


def _is_key(key: object) -> bool:
    return (
        isinstance(key, str)
        and key != ""
        and key[-1] != _DIGITS[0]
        and all(char in _DIGIT_VALUE for char in key)
    )


def _increment(key: str) -> str:
    for i, char in enumerate(key):
        value = _DIGIT_VALUE[char]
        if value < _BASE - 1:
            return key[:i] + _DIGITS[value + 1]
    return key + _DIGITS[1]


def _decrement(key: str) -> str:
    for i, char in enumerate(key):
        value = _DIGIT_VALUE[char]
        if value >= 2:
            return key[:i] + _DIGITS[value - 1]
        if value == 1:
            if i + 1 < len(key):
                return key[: i + 1]
            return key[:i] + _DIGITS[0] + _DIGITS[-1]
    raise AssertionError(f"{key!r} is not a position key")


def _midpoint(low: str, high: str | None) -> str:
    """A key between `low` ("" for zero) and `high` (None for one), read as base-62 fractions."""
    if high is not None:
        shared = 0
        while (low[shared] if shared < len(low) else _DIGITS[0]) == high[shared]:
            shared += 1
        if shared:
            return high[:shared] + _midpoint(low[shared:], high[shared:])
    low_digit = _DIGIT_VALUE[low[0]] if low else 0
    high_digit = _DIGIT_VALUE[high[0]] if high is not None else _BASE
    if high_digit - low_digit > 1:
        return _DIGITS[(low_digit + high_digit) // 2]
    if high is not None and len(high) > 1:
        return high[0]
    return _DIGITS[low_digit] + _midpoint(low[1:], None)


def _keys_between(low: str | None, high: str | None, count: int) -> list[str]:
    """`count` ascending keys between two bounds (None: open), spread out by bisection.

    Spreading keeps a bulk insert short (2,000 blocks get keys of two or three characters)
    where one key after the other would add a character every 61 blocks.
    """
    if count == 0:
        return []
    if count == 1:
        return [position_between(low, high)]
    # The midpoint reads an open start as "" (zero) and an open end as None (one).
    middle = _midpoint(low or "", high)
    left = (count - 1) // 2
    return [
        *_keys_between(low, middle, left),
        middle,
        *_keys_between(middle, high, count - 1 - left),
    ]


def _place(keys: list[str | None]) -> list[str]:
    """Fill the None slots of an ordered key list with keys that keep the order.

    Two replicas inserting at the same spot pick the same key, and other clients may write keys
    that are not valid; when a slot's neighbours leave no room, those neighbours get new keys
    too (a move, not a re-insert), as few as needed.
    """
    placed = list(keys)
    index = 0
    while index < len(placed):
        if placed[index] is not None:
            index += 1
            continue
        low_index = index - 1
        while low_index >= 0 and not _is_key(placed[low_index]):
            low_index -= 1
        low = placed[low_index] if low_index >= 0 else None
        high_index = index + 1
        while high_index < len(placed) and not _above(placed[high_index], low):
            high_index += 1
        high = placed[high_index] if high_index < len(placed) else None
        placed[low_index + 1 : high_index] = _keys_between(low, high, high_index - low_index - 1)
        index = high_index
    return cast(list[str], placed)


def _above(key: str | None, low: str | None) -> bool:
    return _is_key(key) and (low is None or cast(str, key) > low)


# --- markdown -----------------------------------------------------------------------------------

_HEADING = re.compile(r"(#{1,6})(?: (.*))?")
_TODO = re.compile(r"[-*+] \[([ xX])\](?: (.*))?")
_BULLET = re.compile(r"[-*+](?: (.*))?")
_NUMBERED = re.compile(r"(\d{1,9})[.)](?: (.*))?")
_QUOTE = re.compile(r">(?: ?(.*))")
_FENCE = re.compile(r"(`{3,})(.*)")
_DIVIDER = re.compile(r"(-{3,}|\*{3,}|_{3,})\s*")
_TODO_TEXT = re.compile(r"\[[ xX]\](?: |$)")

_MARKS = {"heading1": "#", "heading2": "##", "heading3": "###", "bullet": "-"}
# Block types that are items of a list, by list: items of one list are written without blank
# lines between them. A todo is a `- [ ]` item, so it shares a list with bullets.
_LIST_OF = {"bullet": "-", "todo": "-", "numbered": "1."}
# A code block's language as a fence can carry it: one word, no backtick (that would end the
# info string of a backtick fence).
_LANG = re.compile(r"[^\s`]+")
# Continuation lines of a multi-line block are indented this much (numbered: by its marker).
_INDENT = 2


def _starts_block(line: str) -> bool:
    return any(
        pattern.fullmatch(line)
        for pattern in (_HEADING, _TODO, _BULLET, _NUMBERED, _QUOTE, _FENCE, _DIVIDER)
    )


def _is_blank(line: str) -> bool:
    return line.strip() == ""


def _is_todo_text(line: str) -> bool:
    return _TODO_TEXT.match(line) is not None


def _paragraph_needs_escape(line: str) -> bool:
    return _is_blank(line) or _starts_block(line)


def _needs_escape(line: str, misread: Callable[[str], bool]) -> bool:
    # A leading backslash escapes a line that would otherwise be misread; a line that merely
    # starts with a backslash is escaped only if dropping that backslash would change it.
    return misread(line) or (line.startswith("\\") and _needs_escape(line[1:], misread))


def _escape(line: str, misread: Callable[[str], bool]) -> str:
    return "\\" + line if _needs_escape(line, misread) else line


def _unescape(line: str, misread: Callable[[str], bool]) -> str:
    return line[1:] if line.startswith("\\") and _needs_escape(line[1:], misread) else line


def _block_markdown(kind: str, text: str, checked: bool, number: int, lang: str = "") -> str:
    lines = text.split("\n")
    if kind not in BLOCK_TYPES:
        kind = "paragraph"
    if kind == "divider":
        return "---"
    if kind == "code":
        closers = [len(line.rstrip()) for line in lines if re.fullmatch(r"`{3,}\s*", line)]
        fence = "`" * max([3, *(length + 1 for length in closers)])
        # A language written by another client that a fence cannot carry is left out.
        info = lang if _LANG.fullmatch(lang) else ""
        return "\n".join([fence + info, *(lines if text else []), fence])
    if kind == "quote":
        return "\n".join(f"> {line}" if line else ">" for line in lines)
    if kind == "paragraph":
        return "\n".join(_escape(line, _paragraph_needs_escape) for line in lines)
    first = lines[0]
    if kind == "todo":
        marker = "- [x]" if checked else "- [ ]"
    elif kind == "numbered":
        marker = f"{number}."
    else:
        marker = _MARKS[kind]
        if kind == "bullet":
            first = _escape(first, _is_todo_text)
    indent = " " * (len(marker) + 1 if kind == "numbered" else _INDENT)
    rest = [indent + _escape(line, _is_blank) for line in lines[1:]]
    return "\n".join([f"{marker} {first}" if first else marker, *rest])


class _Parser:
    """A line-by-line reader of the markdown that `to_markdown` writes, and of common variants."""

    def __init__(self) -> None:
        self.blocks: list[MarkdownBlock] = []
        self.kind: str | None = None
        self.lines: list[str] = []
        self.checked = False
        self.indent = 0
        self.fence = ""
        self.lang = ""

    def parse(self, markdown: str) -> list[MarkdownBlock]:
        for line in markdown.replace("\r\n", "\n").split("\n"):
            self.feed(line)
        self.close()
        return self.blocks

    def close(self) -> None:
        if self.kind is not None:
            self.blocks.append((self.kind, "\n".join(self.lines), self.checked, self.lang))
        self.kind, self.lines, self.checked, self.fence, self.lang = None, [], False, "", ""

    def open(self, kind: str, first: str, *, checked: bool = False, indent: int = 0) -> None:
        self.close()
        self.kind, self.lines, self.checked, self.indent = kind, [first], checked, indent

    def feed(self, line: str) -> None:
        if self.fence:
            stripped = line.rstrip()
            if len(stripped) >= len(self.fence) and stripped == "`" * len(stripped):
                self.close()
            else:
                self.lines.append(line)
        elif _is_blank(line):
            self.close()
        elif _starts_block(line):
            self.start(line)
        elif self.kind == "paragraph":
            self.lines.append(_unescape(line, _paragraph_needs_escape))
        elif self.kind in ("todo", "bullet", "numbered", "quote") or (
            self.kind is not None and self.kind.startswith("heading") and line[0] == " "
        ):
            self.continue_block(line)
        else:
            self.open("paragraph", _unescape(line, _paragraph_needs_escape))

    def continue_block(self, line: str) -> None:
        if line[0] == " " and self.kind != "quote":
            spaces = len(line) - len(line.lstrip(" "))
            self.lines.append(_unescape(line[min(spaces, self.indent) :], _is_blank))
        else:
            # A lazy continuation line, as CommonMark has them.
            self.lines.append(line)

    def start(self, line: str) -> None:
        if match := _FENCE.fullmatch(line):
            self.open("code", "")
            # The first word of the info string is the language; the rest (attributes some
            # renderers read) has nowhere to go.
            words = match[2].split()
            lang = words[0] if words and _LANG.fullmatch(words[0]) else ""
            self.lines, self.fence, self.lang = [], match[1], lang
        elif _DIVIDER.fullmatch(line):
            self.open("divider", "")
            self.close()
        elif match := _HEADING.fullmatch(line):
            level = min(len(match[1]), 3)
            self.open(f"heading{level}", match[2] or "", indent=_INDENT)
        elif match := _TODO.fullmatch(line):
            self.open("todo", match[2] or "", checked=match[1] != " ", indent=_INDENT)
        elif match := _BULLET.fullmatch(line):
            self.open("bullet", _unescape(match[1] or "", _is_todo_text), indent=_INDENT)
        elif match := _NUMBERED.fullmatch(line):
            self.open("numbered", match[2] or "", indent=len(match[1]) + 2)
        elif match := _QUOTE.fullmatch(line):
            if self.kind == "quote":
                self.lines.append(match[1])
            else:
                self.open("quote", match[1])


__all__ = [
    "BLOCK_TYPES",
    "BlockView",
    "add_block",
    "apply_markdown",
    "blocks_of",
    "check_block_type",
    "delete_block",
    "import_markdown",
    "move_block",
    "parse_markdown",
    "plain_text",
    "position_between",
    "Splice",
    "read_blocks",
    "set_text",
    "splice",
    "splice_text",
    "to_markdown",
    "update_block",
]
