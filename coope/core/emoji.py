"""Emoji as reactions: what counts as one emoji, and the `:short_code:` names people type.

A reaction is one emoji as a person sees it (one grapheme): a pictograph with an optional
presentation selector or skin tone, several joined into one by zero-width joiners (👩‍💻, 🏳️‍🌈,
❤️‍🔥), a flag (two regional indicators, or a subdivision flag's tag sequence), or a keycap (1️⃣).
Plain text (`lol`), control characters and several emoji in a row are not one, nor a symbol
that is text unless the presentation selector U+FE0F follows it (© ™ ↔ ‼ ☺ bare: `©️` is one).

One emoji has one stored form (`normalised`): the heart typed bare (❤, as many keyboards send
it) is the heart with its selector (❤️), so that both are one reaction.

The pictographs are Unicode's `Extended_Pictographic` ranges (emoji-data.txt), which also hold
the code points set aside for future emoji: an emoji newer than this table is still accepted.
"""

from __future__ import annotations

from bisect import bisect_right

from coope.core.errors import InvalidInput

__all__ = ["SHORT_CODES", "from_short_code", "is_emoji", "normalised", "stored_form"]

# Extended_Pictographic=Yes, as (first, last) code points in order.
_PICTOGRAPHIC: tuple[tuple[int, int], ...] = (
    (0x00A9, 0x00A9),
    (0x00AE, 0x00AE),
    (0x203C, 0x203C),
    (0x2049, 0x2049),
    (0x2122, 0x2122),
    (0x2139, 0x2139),
    (0x2194, 0x2199),
    (0x21A9, 0x21AA),
    (0x231A, 0x231B),
    (0x2328, 0x2328),
    (0x2388, 0x2388),
    (0x23CF, 0x23CF),
    (0x23E9, 0x23F3),
    (0x23F8, 0x23FA),
    (0x24C2, 0x24C2),
    (0x25AA, 0x25AB),
    (0x25B6, 0x25B6),
    (0x25C0, 0x25C0),
    (0x25FB, 0x25FE),
    (0x2600, 0x2605),
    (0x2607, 0x2612),
    (0x2614, 0x2685),
    (0x2690, 0x2705),
    (0x2708, 0x2712),
    (0x2714, 0x2714),
    (0x2716, 0x2716),
    (0x271D, 0x271D),
    (0x2721, 0x2721),
    (0x2728, 0x2728),
    (0x2733, 0x2734),
    (0x2744, 0x2744),
    (0x2747, 0x2747),
    (0x274C, 0x274C),
    (0x274E, 0x274E),
    (0x2753, 0x2755),
    (0x2757, 0x2757),
    (0x2763, 0x2767),
    (0x2795, 0x2797),
    (0x27A1, 0x27A1),
    (0x27B0, 0x27B0),
    (0x27BF, 0x27BF),
    (0x2934, 0x2935),
    (0x2B05, 0x2B07),
    (0x2B1B, 0x2B1C),
    (0x2B50, 0x2B50),
    (0x2B55, 0x2B55),
    (0x3030, 0x3030),
    (0x303D, 0x303D),
    (0x3297, 0x3297),
    (0x3299, 0x3299),
    (0x1F000, 0x1F0FF),
    (0x1F10D, 0x1F10F),
    (0x1F12F, 0x1F12F),
    (0x1F16C, 0x1F171),
    (0x1F17E, 0x1F17F),
    (0x1F18E, 0x1F18E),
    (0x1F191, 0x1F19A),
    (0x1F1AD, 0x1F1E5),
    (0x1F201, 0x1F20F),
    (0x1F21A, 0x1F21A),
    (0x1F22F, 0x1F22F),
    (0x1F232, 0x1F23A),
    (0x1F23C, 0x1F23F),
    (0x1F249, 0x1F3FA),
    (0x1F400, 0x1F53D),
    (0x1F546, 0x1F64F),
    (0x1F680, 0x1F6FF),
    (0x1F774, 0x1F77F),
    (0x1F7D5, 0x1F7FF),
    (0x1F80C, 0x1F80F),
    (0x1F848, 0x1F84F),
    (0x1F85A, 0x1F85F),
    (0x1F888, 0x1F88F),
    (0x1F8AE, 0x1F8FF),
    (0x1F90C, 0x1F93A),
    (0x1F93C, 0x1F945),
    (0x1F947, 0x1FAFF),
    (0x1FC00, 0x1FFFD),
)
_STARTS = [first for first, _ in _PICTOGRAPHIC]

# Below U+1F000, the pictographs shown as emoji by default (Emoji_Presentation=Yes); every other
# one there is a text symbol (© ™ ↔ ☺ ★ ...), an emoji only with U+FE0F (or a skin tone) after it.
_EMOJI_DEFAULT_BMP: frozenset[int] = frozenset(
    cp
    for first, last in (
        (0x231A, 0x231B),
        (0x23E9, 0x23EC),
        (0x23F0, 0x23F0),
        (0x23F3, 0x23F3),
        (0x25FD, 0x25FE),
        (0x2614, 0x2615),
        (0x2648, 0x2653),
        (0x267F, 0x267F),
        (0x2693, 0x2693),
        (0x26A1, 0x26A1),
        (0x26AA, 0x26AB),
        (0x26BD, 0x26BE),
        (0x26C4, 0x26C5),
        (0x26CE, 0x26CE),
        (0x26D4, 0x26D4),
        (0x26EA, 0x26EA),
        (0x26F2, 0x26F3),
        (0x26F5, 0x26F5),
        (0x26FA, 0x26FA),
        (0x26FD, 0x26FD),
        (0x2705, 0x2705),
        (0x270A, 0x270B),
        (0x2728, 0x2728),
        (0x274C, 0x274C),
        (0x274E, 0x274E),
        (0x2753, 0x2755),
        (0x2757, 0x2757),
        (0x2795, 0x2797),
        (0x27B0, 0x27B0),
        (0x27BF, 0x27BF),
        (0x2B1B, 0x2B1C),
        (0x2B50, 0x2B50),
        (0x2B55, 0x2B55),
    )
    for cp in range(first, last + 1)
)
# From U+1F000 on, the text symbols among the pictographs (Emoji_Presentation=No: 🅰 🌡 🕊 🖥
# ..., and the mahjong tiles, dominoes and playing cards that are no emoji). Everything else
# there, the code points set aside for future emoji included, is an emoji by default.
_TEXT_DEFAULT_WIDE: tuple[tuple[int, int], ...] = (
    (0x1F000, 0x1F003),
    (0x1F005, 0x1F0CE),
    (0x1F0D0, 0x1F0FF),
    (0x1F170, 0x1F171),
    (0x1F17E, 0x1F17F),
    (0x1F202, 0x1F202),
    (0x1F237, 0x1F237),
    (0x1F321, 0x1F321),
    (0x1F324, 0x1F32C),
    (0x1F336, 0x1F336),
    (0x1F37D, 0x1F37D),
    (0x1F396, 0x1F397),
    (0x1F399, 0x1F39B),
    (0x1F39E, 0x1F39F),
    (0x1F3CB, 0x1F3CE),
    (0x1F3D4, 0x1F3DF),
    (0x1F3F3, 0x1F3F3),
    (0x1F3F5, 0x1F3F5),
    (0x1F3F7, 0x1F3F7),
    (0x1F43F, 0x1F43F),
    (0x1F441, 0x1F441),
    (0x1F4FD, 0x1F4FD),
    (0x1F549, 0x1F54A),
    (0x1F56F, 0x1F570),
    (0x1F573, 0x1F579),
    (0x1F587, 0x1F587),
    (0x1F58A, 0x1F58D),
    (0x1F590, 0x1F590),
    (0x1F5A5, 0x1F5A5),
    (0x1F5A8, 0x1F5A8),
    (0x1F5B1, 0x1F5B2),
    (0x1F5BC, 0x1F5BC),
    (0x1F5C2, 0x1F5C4),
    (0x1F5D1, 0x1F5D3),
    (0x1F5DC, 0x1F5DE),
    (0x1F5E1, 0x1F5E1),
    (0x1F5E3, 0x1F5E3),
    (0x1F5E8, 0x1F5E8),
    (0x1F5EF, 0x1F5EF),
    (0x1F5F3, 0x1F5F3),
    (0x1F5FA, 0x1F5FA),
    (0x1F6CB, 0x1F6CB),
    (0x1F6CD, 0x1F6CF),
    (0x1F6E0, 0x1F6E5),
    (0x1F6E9, 0x1F6E9),
    (0x1F6F0, 0x1F6F0),
    (0x1F6F3, 0x1F6F3),
)
_TEXT_STARTS = [first for first, _ in _TEXT_DEFAULT_WIDE]

_ZWJ = 0x200D
_EMOJI_PRESENTATION = 0xFE0F
_KEYCAP = 0x20E3
_SKIN_TONES = range(0x1F3FB, 0x1F3FF + 1)
_REGIONAL_INDICATORS = range(0x1F1E6, 0x1F1FF + 1)
_BLACK_FLAG = 0x1F3F4
# A subdivision flag's tags spell its code in tag letters and digits (gbsct: Scotland).
_TAG_CHARACTERS = frozenset([*range(0xE0061, 0xE007A + 1), *range(0xE0030, 0xE0039 + 1)])
_TAGS_MIN, _TAGS_MAX = 2, 7
_CANCEL_TAG = 0xE007F
_KEYCAP_BASES = frozenset(map(ord, "0123456789#*"))
# The longest standard sequences (families with skin tones) have about a dozen code points.
MAX_CODE_POINTS = 32
MAX_JOINED = 8


def _pictographic(cp: int) -> bool:
    i = bisect_right(_STARTS, cp) - 1
    return i >= 0 and _PICTOGRAPHIC[i][0] <= cp <= _PICTOGRAPHIC[i][1]


def _text_default(cp: int) -> bool:
    if cp < 0x1F000:
        return cp not in _EMOJI_DEFAULT_BMP
    i = bisect_right(_TEXT_STARTS, cp) - 1
    return i >= 0 and _TEXT_DEFAULT_WIDE[i][0] <= cp <= _TEXT_DEFAULT_WIDE[i][1]


# The one form each of these is stored in: typed bare, they are still meant as the emoji.
_BARE_AS_EMOJI = {"\u2764": "\u2764\ufe0f"}  # ❤ -> ❤️


def normalised(text: str) -> str:
    """`text` stripped, in the one form its emoji is stored in (❤ and ❤️ are one reaction)."""
    text = text.strip()
    return _BARE_AS_EMOJI.get(text, text)


def is_emoji(text: str) -> bool:
    """Whether `text` is exactly one emoji (see the module docstring), nothing around it."""
    cps = [ord(c) for c in text]
    if not cps or len(cps) > MAX_CODE_POINTS:
        return False
    if _is_keycap(cps) or _is_flag(cps):
        return True
    parts = _split(cps, _ZWJ)
    return len(parts) <= MAX_JOINED and all(_is_element(part) for part in parts)


def _split(cps: list[int], joiner: int) -> list[list[int]]:
    parts: list[list[int]] = [[]]
    for cp in cps:
        if cp == joiner:
            parts.append([])
        else:
            parts[-1].append(cp)
    return parts


def _is_keycap(cps: list[int]) -> bool:
    if cps[-1] != _KEYCAP or cps[0] not in _KEYCAP_BASES:
        return False
    return cps[1:-1] in ([], [_EMOJI_PRESENTATION])


def _is_flag(cps: list[int]) -> bool:
    if len(cps) == 2 and all(cp in _REGIONAL_INDICATORS for cp in cps):
        return True
    # A subdivision flag: 🏴 then 2 to 7 tag letters or digits, then the cancel tag (🏴󠁧󠁢󠁳󠁣󠁴󠁿).
    tags = cps[1:-1]
    return (
        cps[0] == _BLACK_FLAG
        and cps[-1] == _CANCEL_TAG
        and _TAGS_MIN <= len(tags) <= _TAGS_MAX
        and all(cp in _TAG_CHARACTERS for cp in tags)
    )


def _is_element(cps: list[int]) -> bool:
    """A pictograph with at most one skin tone and one presentation selector after it; a text
    symbol (©, ☺) only with one of them, which makes it an emoji."""
    if not cps or not _pictographic(cps[0]):
        return False
    rest = cps[1:]
    tones = [cp for cp in rest if cp in _SKIN_TONES]
    selectors = [cp for cp in rest if cp == _EMOJI_PRESENTATION]
    if len(tones) > 1 or len(selectors) > 1 or len(tones) + len(selectors) != len(rest):
        return False
    return bool(rest) or not _text_default(cps[0])


# The short codes people type most (Slack and GitHub spell them so); any emoji itself works too.
SHORT_CODES: dict[str, str] = {
    "+1": "👍",
    "thumbsup": "👍",
    "thumbs_up": "👍",
    "-1": "👎",
    "thumbsdown": "👎",
    "thumbs_down": "👎",
    "heart": "❤️",
    "broken_heart": "💔",
    "joy": "😂",
    "rofl": "🤣",
    "smile": "😄",
    "smiley": "😃",
    "grinning": "😀",
    "laughing": "😆",
    "sweat_smile": "😅",
    "slightly_smiling_face": "🙂",
    "upside_down_face": "🙃",
    "wink": "😉",
    "blush": "😊",
    "heart_eyes": "😍",
    "star_struck": "🤩",
    "sunglasses": "😎",
    "thinking": "🤔",
    "thinking_face": "🤔",
    "neutral_face": "😐",
    "confused": "😕",
    "open_mouth": "😮",
    "astonished": "😲",
    "scream": "😱",
    "cry": "😢",
    "sob": "😭",
    "angry": "😠",
    "rage": "😡",
    "sleeping": "😴",
    "sweat": "😓",
    "facepalm": "🤦",
    "shrug": "🤷",
    "hugs": "🤗",
    "partying_face": "🥳",
    "skull": "💀",
    "poop": "💩",
    "eyes": "👀",
    "wave": "👋",
    "clap": "👏",
    "pray": "🙏",
    "raised_hands": "🙌",
    "ok_hand": "👌",
    "muscle": "💪",
    "point_up": "☝️",
    "v": "✌️",
    "tada": "🎉",
    "confetti_ball": "🎊",
    "fire": "🔥",
    "rocket": "🚀",
    "sparkles": "✨",
    "star": "⭐",
    "zap": "⚡",
    "100": "💯",
    "white_check_mark": "✅",
    "heavy_check_mark": "✔️",
    "check": "✅",
    "x": "❌",
    "warning": "⚠️",
    "question": "❓",
    "exclamation": "❗",
    "bulb": "💡",
    "bug": "🐛",
    "lock": "🔒",
    "memo": "📝",
    "calendar": "📅",
    "bell": "🔔",
    "trophy": "🏆",
    "gift": "🎁",
    "coffee": "☕",
    "beer": "🍺",
    "pizza": "🍕",
    "cake": "🍰",
    "sunny": "☀️",
    "rainbow": "🌈",
    "ship": "🚢",
    "hourglass": "⌛",
    "see_no_evil": "🙈",
}


def from_short_code(text: str) -> str:
    """The emoji `text` names when it is a short code such as `:thumbsup:` (any case, `-` for
    `_`), else `text` in its stored form (`normalised`): whether that is one emoji is the
    daemon's to say.

    Raises:
        InvalidInput: `text` looks like a short code this table does not know.
    """
    text = text.strip()
    if len(text) > 2 and text.startswith(":") and text.endswith(":"):
        name = text[1:-1].strip().lower()
        found = SHORT_CODES.get(name) or SHORT_CODES.get(name.replace("-", "_"))
        if found is not None:
            return found
        raise InvalidInput(
            f"unknown short code {text}: give the emoji itself, or one of"
            f" {', '.join(f':{n}:' for n in list(SHORT_CODES)[:12])}, ..."
        )
    return normalised(text)


def stored_form(reaction: str) -> str:
    """What a reaction stored before emoji were checked is now: a known short code
    (`:thumbsup:`, as older clients stored it) its emoji, a bare ❤ the ❤️; anything else, an
    unknown short code too, stays as it is (and can still be taken back as it is)."""
    try:
        return from_short_code(reaction)
    except InvalidInput:
        return reaction
