"""`HelpScreen`: every key binding of the app, in one list (F1 or ?)."""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KeyRow = tuple[str, str, str]
"""(where, keys, what it does)"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,f1,question_mark", "dismiss", "Close")]

    def __init__(self, rows: list[KeyRow]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body") as body:
            body.border_title = "Keys (Esc closes)"
            where = ""
            for place, keys, what in self.rows:
                if place != where:
                    where = place
                    yield Static(f"[b]{place}[/b]", classes="help-heading")
                yield Static(f"  [reverse] {keys} [/reverse]  {what}", classes="help-row")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)


def key_rows(place: str, bindings: Iterable[BindingType]) -> list[KeyRow]:
    """What a widget's `BINDINGS` say, as rows of the help screen."""
    rows = []
    for entry in bindings:
        binding = entry if isinstance(entry, Binding) else Binding(*entry)
        keys = binding.key_display or ", ".join(
            _key_name(k) for k in binding.key.split(",") if k.strip()
        )
        # The tooltip, where there is one, says more than the footer's short description.
        rows.append((place, keys, binding.tooltip or binding.description or binding.action))
    return rows


def _key_name(key: str) -> str:
    """`ctrl+j` as Ctrl+j, `f1` as F1, `question_mark` as ?."""
    key = key.strip()
    if key in _NAMES:
        return _NAMES[key]
    return "+".join(part.capitalize() if len(part) > 1 else part for part in key.split("+"))


_NAMES = {"question_mark": "?", "slash": "/", "pageup": "PgUp", "pagedown": "PgDn", "escape": "Esc"}
