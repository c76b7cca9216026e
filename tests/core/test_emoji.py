"""What counts as one emoji for a reaction, and the short codes people type."""

from __future__ import annotations

import pytest

from coope.core.emoji import SHORT_CODES, from_short_code, is_emoji, normalised, stored_form
from coope.core.errors import InvalidInput
from coope.core.social_schemas import EMOJI_MAX

ONE_EMOJI = {
    "plain": "👍",
    "with presentation selector": "❤️",
    "text symbol made emoji by its selector": "©️",
    "text symbol made emoji by a skin tone": "☝🏽",
    "skin tone": "👍🏽",
    "zwj: technologist": "👩‍💻",
    "zwj: rainbow flag": "🏳️‍🌈",
    "zwj: heart on fire": "❤️‍🔥",
    "zwj with skin tones": "🧑🏽‍🤝‍🧑🏿",
    "zwj family of four": "👨‍👩‍👧‍👦",
    "tone then gender": "🏌🏽‍♀️",
    "flag": "🇫🇷",
    "subdivision flag": "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",
    "keycap": "1️⃣",
    "keycap without selector": "#⃣",
    "newer than the table (Unicode 14)": "🫠",
}

NOT_ONE_EMOJI = {
    "plain text": "lol",
    "one letter": "x",
    "empty": "",
    "two emoji": "👍👍",
    "two flags": "🇫🇷🇩🇪",
    "emoji and a space": "👍 ",
    "escape character": "\x1b",
    "emoji and a control character": "👍\x07",
    "half a flag": "🇫",
    "a digit": "1",
    "a lone skin tone": "🏻",
    "two skin tones": "👍🏽🏽",
    "dangling joiner": "👍\u200d",
    "leading joiner": "\u200d👍",
    "joined with text": "👍\u200da",
    "short code": ":tada:",
    "too long": "👍" + "\u200d👍" * 20,
    "letters in a zwj chain": "a\u200db",
    "copyright sign, bare": "©",
    "trade mark sign, bare": "™",
    "left right arrow, bare": "↔",
    "double exclamation mark, bare": "‼",
    "smiling face, bare": "☺",
    "a wide text symbol, bare": "🕊",
    "a mahjong tile": "🀅",
    "a text symbol bare in a zwj chain": "🏳\u200d🌈",
    "flag tags that are no letters": "🏴\U000e0021\U000e0022\U000e007f",
    "flag tags in capitals": "🏴\U000e0047\U000e0042\U000e007f",
    "one flag tag": "🏴\U000e0067\U000e007f",
    "eight flag tags": "🏴" + "\U000e0061" * 8 + "\U000e007f",
}


@pytest.mark.parametrize("text", ONE_EMOJI.values(), ids=ONE_EMOJI.keys())
def test_one_emoji_is_accepted(text: str) -> None:
    assert is_emoji(text)
    assert len(text) <= EMOJI_MAX  # what the wire allows holds every accepted emoji


@pytest.mark.parametrize("text", NOT_ONE_EMOJI.values(), ids=NOT_ONE_EMOJI.keys())
def test_anything_else_is_refused(text: str) -> None:
    assert not is_emoji(text)


def test_every_short_code_names_one_emoji() -> None:
    assert {name: emoji for name, emoji in SHORT_CODES.items() if not is_emoji(emoji)} == {}


@pytest.mark.parametrize(
    ("typed", "emoji"),
    [
        (":thumbsup:", "👍"),
        (":+1:", "👍"),
        (":-1:", "👎"),
        (" :Tada: ", "🎉"),
        (":white-check-mark:", "✅"),
        ("👍", "👍"),
        ("lol", "lol"),  # not a short code: the daemon says it is no emoji
        ("::", "::"),
    ],
)
def test_short_codes_become_emoji(typed: str, emoji: str) -> None:
    assert from_short_code(typed) == emoji


def test_an_unknown_short_code_says_so() -> None:
    with pytest.raises(InvalidInput, match="unknown short code :nope:") as raised:
        from_short_code(":nope:")
    assert ":thumbsup:" in raised.value.message


def test_the_heart_typed_bare_is_the_heart_emoji() -> None:
    assert not is_emoji("©") and is_emoji("©\ufe0f")
    assert normalised("\u2764") == normalised(" \u2764\ufe0f ") == "\u2764\ufe0f"
    assert is_emoji(normalised("\u2764"))
    assert from_short_code("\u2764") == from_short_code(":heart:") == "\u2764\ufe0f"
    assert normalised("©") == "©"  # any other text symbol stays as it is: no emoji


@pytest.mark.parametrize(
    ("stored", "now"),
    [
        (":thumbsup:", "👍"),
        (":ThumbsUp:", "👍"),
        (":white-check-mark:", "✅"),
        ("\u2764", "\u2764\ufe0f"),
        ("👍", "👍"),
        (":no_such_code:", ":no_such_code:"),
        ("lol", "lol"),
    ],
)
def test_a_reaction_stored_before_has_its_form_now(stored: str, now: str) -> None:
    assert stored_form(stored) == now
