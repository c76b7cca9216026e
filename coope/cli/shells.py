"""What `coope` answers the shell asking for completions: every name as one safe word.

The names come from the daemon (a page titled `$(rm -rf ~)`, a room `#team`, `Team/My Plans`),
and each shell's completion script hands the answer on in its own way:

- bash puts each line into COMPREPLY and inserts it as it is: a name is single-quoted when it
  needs quoting (or, after a quote the person typed, escaped for inside that quote, which
  readline then closes);
- zsh evaluates the answer, and `_arguments` evaluates the list in it once more before `compadd`
  quotes what it inserts: each name is backslash-escaped for that second evaluation and kept
  whole through the first;
- fish escapes what it inserts itself: names go as they are.

A name with a control character (a line break would make two) is not offered at all.
"""

from __future__ import annotations

import os
import re
import shlex

from typer._click.shell_completion import CompletionItem, add_completion_class
from typer._completion_classes import (
    BashComplete,
    FishComplete,
    ZshComplete,
    _sanitize_help_text,
    completion_init,
)

# What needs no backslash in zsh's evaluation (anything else gets one, which is always harmless).
_ZSH_PLAIN = re.compile(r"[^A-Za-z0-9_/.,@%+=-]")


def register() -> None:
    """Make the shells' completion requests answered as this module says."""
    completion_init()  # powershell too, as Typer has it
    add_completion_class(QuotingBash, "bash")
    add_completion_class(QuotingZsh, "zsh")
    add_completion_class(PrintableFish, "fish")


def offered(items: list[CompletionItem]) -> list[CompletionItem]:
    return [item for item in items if str(item.value).isprintable()]


class QuotingBash(BashComplete):
    def complete(self) -> str:
        args, incomplete = self.get_completion_args()
        values = [str(item.value) for item in offered(self.get_completions(args, incomplete))]
        quote = _open_quote(os.environ["COMP_WORDS"], int(os.environ["COMP_CWORD"]))
        return "\n".join(bash_words(values, quote))


def bash_words(values: list[str], open_quote: str | None = None) -> list[str]:
    """`values` as bash is to insert them. All are single-quoted when one needs it, so that
    the part they share (what readline inserts when there are several) is quoted alike."""
    if open_quote == "'":
        return [value.replace("'", "'\\''") for value in values]
    if open_quote == '"':
        return [re.sub(r'([\\$`"])', r"\\\1", value) for value in values]
    if all(shlex.quote(value) == value for value in values):
        return values
    return ["'" + value.replace("'", "'\\''") + "'" for value in values]


def _open_quote(words: str, cword: int) -> str | None:
    """The quote the person opened in the word being completed and did not close yet."""
    lexer = shlex.shlex(words, posix=True)
    lexer.whitespace_split, lexer.commenters = True, ""
    count = 0
    try:
        for _ in lexer:
            count += 1
    except ValueError:  # the last word is inside an open quote (or ends in a backslash)
        state = getattr(lexer, "state", None)  # where the lexer stopped: in which quote
        return state if count == cword and state in ("'", '"') else None
    return None


class QuotingZsh(ZshComplete):
    def complete(self) -> str:
        args, incomplete = self.get_completion_args()
        items = offered(self.get_completions(args, incomplete))
        if not items:
            return "_files"
        # `eval $(...)` splits the answer into words and joins them again with one space: no
        # whitespace of a name is left bare for that (it is all backslash-escaped), and no
        # single quote ends the one the list is in.
        listed = " ".join(zsh_word(item).replace("'", "'\\''") for item in items)
        return f"_arguments '*: :(({listed}))'"


def zsh_word(item: CompletionItem) -> str:
    """`value:help` as `_arguments` reads it after evaluating it: the value's colons escaped."""
    element = str(item.value).replace(":", "\\:")
    if item.help:
        element += ":" + " ".join(_sanitize_help_text(item.help).split())
    return _ZSH_PLAIN.sub(r"\\\g<0>", element)


class PrintableFish(FishComplete):
    def get_completions(self, args: list[str], incomplete: str) -> list[CompletionItem]:
        return offered(super().get_completions(args, incomplete))
