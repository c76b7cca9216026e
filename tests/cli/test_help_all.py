"""Every command's --help, from the Typer app itself: plain names instead of Python types, and
80 columns that wrap between words, never inside one."""

from __future__ import annotations

import re
from typing import Any

import pytest
import typer
from rich.cells import cell_len
from typer.main import get_command

from coope.cli.main import app
from coope.cli.runtime import shows_help, unwrapped
from tests.cli.clitools import every_command, runner

# What Typer shows for a value with no name of its own: `<str>`, `<list[str]>`, `<int range>`,
# and `{name}` for a required argument in the usage line.
PYTHON_TYPE = re.compile(r"<(?:str|int|float|bool|path|file|datetime|uuid|list\[.*?\]|\w+ range)>")
PLACEHOLDER = re.compile(r"\{[A-Za-z_][A-Za-z_ ]*\}")
# Drawing and punctuation around a word, taken off before words are compared.
EDGES = "│╭╮╰╯─*[](){}.,;:!?'\"`\\"


def _paths(command: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for name, sub in getattr(command, "commands", {}).items():
        found += _paths(sub, (*path, name))
    return found


def _command_at(path: tuple[str, ...]) -> Any:
    """The command at `path`, with the names its help shows (as `coope` itself sets them)."""
    command = every_command()
    for name in path:
        command = command.commands[name]
    return command


def _words(text: str) -> set[str]:
    return {w.strip(EDGES) for w in text.split()} - {""}


def _written(command: Any, path: tuple[str, ...]) -> set[str]:
    """Every word the help may show: what the code wrote, and what Typer adds around it."""
    parts = ["coope", *path, command.help or "", command.epilog or "", "Usage OPTIONS COMMAND"]
    parts += ["ARGS... Arguments Options Commands env var: default: required"]
    parts += ["--help -h Show this message and exit."]
    for sub_name, sub in getattr(command, "commands", {}).items():
        parts += [sub_name, sub.help or "", sub.short_help or ""]
    for param in command.params:
        parts += [param.help or "", str(param.metavar or ""), " ".join(param.opts)]
        parts += [" ".join(getattr(param, "secondary_opts", [])), str(param.envvar or "")]
        parts += [opt.lstrip("-") for opt in param.opts]  # a flag's default is shown so
        default = param.default
        parts.append(str(getattr(default, "value", default)))
    return _words("\n".join(parts))


ALL = _paths(every_command())


def test_every_command_is_walked() -> None:
    # The walk reaches the nested groups too (a walk that stopped at the top would pass).
    assert ("chat", "room", "create") in ALL
    assert len(ALL) > 80


@pytest.mark.parametrize("path", ALL, ids=lambda path: " ".join(path) or "coope")
def test_help_is_plain_and_fits_80_columns(path: tuple[str, ...]) -> None:
    result = runner.invoke(
        app, [*path, "--help"], env={"COLUMNS": "80", "TERMINAL_WIDTH": "80", "NO_COLOR": "1"}
    )
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert not PYTHON_TYPE.search(text), PYTHON_TYPE.search(text)
    assert not PLACEHOLDER.search(text), PLACEHOLDER.search(text)
    too_wide = [line for line in text.splitlines() if cell_len(line) > 80]
    assert not too_wide, too_wide
    # A word cut by wrapping shows as two words the code never wrote.
    written = _written(_command_at(path), path)
    broken = {
        word
        for word in _words(text)
        # Number ranges and emoji come from Typer and Rich, not from a wrapped word.
        if word not in written and re.search("[A-Za-z]", word) and not re.search("[<>]=", word)
    }
    assert not broken, broken


def test_argument_names_in_usage(make_cli: Any) -> None:
    env = {"COLUMNS": "80", "NO_COLOR": "1"}
    # A metavar with brackets of its own gets no more; choices are named when nothing else is.
    status = runner.invoke(app, ["status", "--help"], env=env).stdout
    assert "[available|away|busy|dnd|clear]" in status and "[[" not in status
    assert (
        "coope completion [OPTIONS] bash|zsh|fish"
        in runner.invoke(app, ["completion", "--help"], env=env).stdout
    )
    # A usage error names the argument as help does (its names are set for errors too).
    missing = make_cli()("completion")
    assert missing.exit_code == 2 and "Missing argument 'bash|zsh|fish'" in missing.stderr


def test_help_is_prepared_only_when_it_may_be_shown() -> None:
    root: Any = get_command(app)
    ctx = typer.Context(root)
    assert not shows_help(root, ctx, ["chat", "send", "@ann", "hi"])
    assert not shows_help(root, ctx, ["--json", "chat", "rooms"])
    assert not shows_help(root, ctx, ["chat", "send", "@ann", "--", "--help"])  # its text
    assert shows_help(root, ctx, ["chat", "send", "--help"])
    assert shows_help(root, ctx, ["-h"])
    assert shows_help(root, ctx, [])  # `coope` alone shows its help
    assert shows_help(root, ctx, ["--json", "chat", "room"])  # a group and no command: its help
    assert sorted(root.commands) == ["chat"]  # only what the words named was loaded


def test_an_example_line_keeps_its_own_line() -> None:
    text = """Runs it.

        coope x --flag
    and then this sentence
    goes on."""
    assert unwrapped(text) == "Runs it.\n\n    coope x --flag\nand then this sentence goes on."


def test_a_mistyped_command_gets_the_nearest_ones_suggested() -> None:
    # At the root too, where commands are loaded only when asked for.
    for args, nearest in ((["whaomi"], "'whoami'"), (["chat", "sned"], "'send'")):
        result = runner.invoke(app, args)
        assert result.exit_code == 2
        assert f"Did you mean {nearest}?" in result.stderr, result.stderr
