"""Shell completion: the scripts `coope completion SHELL` prints, and the names the ROOM, USER,
WS and PAGE arguments complete to, asked of a real daemon, cached, and silent on failure."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import socket
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from coope.cli import complete, shells
from tests.cli.clitools import Cli
from tests.helpers import PASSWORD


@pytest.fixture(scope="module")
def world(make_cli: Callable[[], Cli]) -> Cli:
    """cmp_ann with a friend, a group room, a workspace and a page."""
    ann, bob = make_cli(), make_cli()
    ann.signup("cmp_ann")
    bob.signup("cmp_bob")
    ann.json("friend", "add", "cmp_bob")
    bob.json("friend", "add", "cmp_ann")
    ann.json("chat", "room", "create", "cmp-team")
    ann.json("ws", "create", "CmpSpace")
    ann.json("doc", "new", "CmpSpace", "Plans")
    # Titles a shell must not read as it would read them typed: two words, a command to run.
    ann.json("doc", "new", "CmpSpace", "My Plans")
    ann.json("doc", "new", "CmpSpace", HOSTILE_TITLE)
    return ann


HOSTILE_TITLE = "$(touch pwned)`touch pwned`;'q'"


@pytest.fixture
def person(world: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """The completers run as cmp_ann: her saved login, a cache of her own."""
    ann = world
    for name in ("COOPE_SERVER", "COOPE_TOKEN", "COOPE_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(ann.config_home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv(complete.TIMEOUT_ENV, "30")
    return ann


def test_the_completion_scripts(make_cli: Callable[[], Cli]) -> None:
    cli = make_cli()
    bash = cli("completion", "bash")
    assert bash.exit_code == 0, bash.stderr
    assert "_COOPE_COMPLETE=complete_bash" in bash.stdout
    assert "complete -o default -F _coope_completion coope" in bash.stdout
    assert 'eval "$(coope completion bash)"' in bash.stderr  # how to install it, beside it
    zsh = cli("completion", "zsh")
    assert "compdef _coope_completion coope" in zsh.stdout and "~/.zshrc" in zsh.stderr
    fish = cli("completion", "fish")
    assert "complete --command coope" in fish.stdout and "completions/coope.fish" in fish.stderr
    assert cli("completion", "tcsh").exit_code == 2


def test_the_completers_ask_the_daemon(person: Cli) -> None:
    assert complete.rooms(None, "#cmp") == ["#cmp-team"]
    assert complete.friends(None, "cmp") == ["cmp_bob"]
    assert complete.workspaces(None, "Cmp") == ["CmpSpace"]
    assert complete.pages(None, "CmpSpace/P") == ["CmpSpace/Plans"]
    assert complete.workspaces(None, "zzz") == []


def test_answers_are_cached_a_while(person: Cli, tmp_path: Path) -> None:
    assert complete.workspaces(None, "Cmp") == ["CmpSpace"]
    person.json("ws", "create", "CmpLater")
    # Within the minute the cache answers (no daemon round trip on every Tab)...
    assert complete.workspaces(None, "Cmp") == ["CmpSpace"]
    (cached,) = (tmp_path / "cache" / "coope" / "completion").glob("*-workspaces.json")
    assert stat.S_IMODE(cached.stat().st_mode) == 0o600
    for directory in (cached.parent, cached.parent.parent):  # `coope` too, not only the last
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert person.credentials()["servers"][person.server]["token"] not in cached.read_text()
    # ...and once it is old, the daemon again.
    data = json.loads(cached.read_text())
    cached.write_text(json.dumps({**data, "at": data["at"] - complete.CACHE_TTL_S - 1}))
    assert complete.workspaces(None, "Cmp") == ["CmpLater", "CmpSpace"]


def test_silent_when_nothing_can_be_had(
    person: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COOPE_SERVER", "http://127.0.0.1:9")  # nothing listens there
    assert complete.rooms(None, "") == []
    monkeypatch.setenv("COOPE_SERVER", "not a url")
    assert complete.rooms(None, "") == []
    monkeypatch.delenv("COOPE_SERVER")
    # A cache that is not one is asked past, not trusted.
    assert complete.rooms(None, "#") == ["#cmp-team"]
    for cached in (tmp_path / "cache" / "coope" / "completion").glob("*-rooms.json"):
        cached.write_text("{not json")
    assert complete.rooms(None, "#") == ["#cmp-team"]
    # Old answers are better than none when the daemon is away.
    (cached,) = (tmp_path / "cache" / "coope" / "completion").glob("*-rooms.json")
    data = json.loads(cached.read_text())
    cached.write_text(json.dumps({**data, "at": 0}))
    monkeypatch.setenv("COOPE_TOKEN", "coope_not_a_token")  # another login: its own cache
    assert complete.rooms(None, "#") == []


def _bash_complete(words: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """What bash asks `coope` for when Tab is pressed after `words`."""
    full_env = {**os.environ, **env, "COMP_WORDS": words, "COMP_CWORD": str(len(words.split()) - 1)}
    full_env["_COOPE_COMPLETE"] = "complete_bash"
    full_env[complete.TIMEOUT_ENV] = "30"  # a busy test machine is no reason to offer nothing
    return subprocess.run(
        [sys.executable, "-m", "coope"], env=full_env, capture_output=True, text=True, timeout=60
    )


def test_the_shell_protocol_end_to_end(person: Cli, tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(person.config_home), "XDG_CACHE_HOME": str(tmp_path / "c")}
    rooms = _bash_complete("coope chat send #cmp", env)
    assert rooms.returncode == 0 and rooms.stderr == "", rooms.stderr
    assert rooms.stdout.split() == ["'#cmp-team'"]  # quoted: bare, it would start a comment
    pages = _bash_complete("coope doc show CmpSpace/P", env)
    assert pages.stdout.split() == ["CmpSpace/Plans"]
    commands = _bash_complete("coope compl", env)
    assert commands.stdout.split() == ["completion"]
    # The server named on the line being completed is the one asked: here, none answers.
    away = _bash_complete("coope chat send --server http://127.0.0.1:9 #cmp", env)
    assert away.returncode == 0 and away.stdout.split() == [] and away.stderr == ""


def _bash_tab(words: list[str], env: dict[str, str], home: Path) -> list[str]:
    """COMPREPLY after Tab at the end of `words` in bash, as `coope completion bash` sets it."""
    script = subprocess.run(
        [sys.executable, "-m", "coope", "completion", "bash"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    # The script runs `coope` by its name, as an installed one is.
    bin_dir = home / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "coope").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m coope "$@"\n')
    (bin_dir / "coope").chmod(0o755)
    tab = (
        'eval "$SCRIPT"; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _coope_completion coope;'
        ' printf "%s\\0" "${COMPREPLY[@]}"'
    )
    full_env = {**os.environ, **env, "SCRIPT": script, complete.TIMEOUT_ENV: "30"}
    full_env["PATH"] = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
    done = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", tab, "bash", *words],
        env=full_env, capture_output=True, text=True, check=True, timeout=60, cwd=home,
    )  # fmt: skip
    assert done.stderr == ""
    return done.stdout.split("\0")[:-1]


def _typed(line_end: str, cwd: Path) -> list[str]:
    """The arguments bash makes of `line_end` typed at the end of a command line."""
    done = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", 'eval "set -- $1"; printf "%s\\0" "$@"',
         "bash", line_end],
        capture_output=True, text=True, check=True, timeout=60, cwd=cwd,
    )  # fmt: skip
    return done.stdout.split("\0")[:-1]


def test_bash_inserts_every_name_as_one_safe_word(person: Cli, tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(person.config_home), "XDG_CACHE_HOME": str(tmp_path / "c")}
    (space,) = _bash_tab(["coope", "doc", "show", "CmpSpace/My"], env, tmp_path)
    assert _typed(space, tmp_path) == ["CmpSpace/My Plans"]
    (hostile,) = _bash_tab(["coope", "doc", "show", "CmpSpace/$"], env, tmp_path)
    assert _typed(hostile, tmp_path) == [f"CmpSpace/{HOSTILE_TITLE}"]
    (room,) = _bash_tab(["coope", "chat", "send", "#cmp"], env, tmp_path)
    assert _typed(room, tmp_path) == ["#cmp-team"]  # not a comment
    # After a quote the person opened, the name goes inside it (readline closes it).
    (inside,) = _bash_tab(["coope", "doc", "show", "'CmpSpace/$"], env, tmp_path)
    assert _typed(f"'{inside}'", tmp_path) == [f"CmpSpace/{HOSTILE_TITLE}"]
    (inside,) = _bash_tab(["coope", "doc", "show", '"CmpSpace/$'], env, tmp_path)
    assert _typed(f'"{inside}"', tmp_path) == [f"CmpSpace/{HOSTILE_TITLE}"]
    # Several names are quoted alike, so what they share can be inserted first.
    several = _bash_tab(["coope", "doc", "show", "CmpSpace/"], env, tmp_path)
    assert all(word.startswith("'CmpSpace/") for word in several)
    assert sorted(name for word in several for name in _typed(word, tmp_path)) == sorted(
        f"CmpSpace/{title}" for title in ("My Plans", "Plans", HOSTILE_TITLE)
    )
    assert not (tmp_path / "pwned").exists()
    # Names that need nothing are left as they are.
    assert _bash_tab(["coope", "compl"], env, tmp_path) == ["completion"]


def test_zsh_gets_each_name_escaped_for_both_of_its_evaluations() -> None:
    from typer._click.shell_completion import CompletionItem

    name = f"{HOSTILE_TITLE} \\$(touch pwned)  two:spaces"
    answer = shells.QuotingZsh.__new__(shells.QuotingZsh)
    answer.get_completion_args = lambda: ([], "")  # type: ignore[method-assign]
    answer.get_completions = lambda args, incomplete: [  # type: ignore[method-assign]
        CompletionItem(name),
        CompletionItem("ws", help="Workspaces: yours."),
        CompletionItem("bad\nname"),
    ]
    said = answer.complete()
    # `eval $(...)`: words split, joined by one space, evaluated; a single-quoted list results.
    command, spec = shlex.split(" ".join(said.split()))
    assert command == "_arguments" and spec.startswith("*: :((") and spec.endswith("))")
    # `_arguments` evaluates the list: each element is a `value:help`, colons in values escaped.
    elements = shlex.split(spec[len("*: :((") : -2])
    assert elements == [name.replace(":", "\\:"), "ws:Workspaces: yours."]


def test_the_login_is_chosen_as_the_command_would_choose_it(person: Cli, tmp_path: Path) -> None:
    person.json(
        "login", "cmp_ann", "--password-stdin", "--server", person.server, "--profile", "cmpann",
        input=PASSWORD + "\n",
    )  # fmt: skip
    env = {
        "XDG_CONFIG_HOME": str(person.config_home),
        "XDG_CACHE_HOME": str(tmp_path / "c"),
        "COOPE_SERVER": "http://127.0.0.1:9",  # left in the environment, for something else
        "COOPE_TOKEN": "coope_not_this_one",
    }
    # A profile named on the line goes without the environment's server and token...
    by_profile = _bash_complete("coope chat send --profile cmpann #cmp", env)
    assert by_profile.stdout.split() == ["'#cmp-team'"]
    # ...and a server named before the command beats the environment's, as when it runs.
    del env["COOPE_TOKEN"]
    before = _bash_complete(f"coope --server {person.server} chat send #cmp", env)
    assert before.stdout.split() == ["'#cmp-team'"]


def test_a_failure_is_remembered_a_while(person: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    # A daemon that takes the connection and never answers: each Tab would wait for it.
    with socket.create_server(("127.0.0.1", 0)) as hung:
        monkeypatch.setenv("COOPE_SERVER", f"http://127.0.0.1:{hung.getsockname()[1]}")
        monkeypatch.setenv(complete.TIMEOUT_ENV, "0.2")
        assert complete.rooms(None, "") == []
        assert complete.friends(None, "") == []
        hung.setblocking(False)
        tried = []
        with contextlib.suppress(BlockingIOError):
            while True:
                tried.append(hung.accept()[0])
        for connection in tried:
            connection.close()
        assert len(tried) == 1  # the second Tab did not ask again


def test_logging_out_deletes_the_login_s_names(
    make_cli: Callable[[], Cli], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = make_cli()
    cli.signup("cmp_out")
    cli.json(
        "login", "cmp_out", "--password-stdin", "--server", cli.server, "--profile", "out",
        input=PASSWORD + "\n",
    )  # fmt: skip
    cli.json("profile", "use", cli.server)  # two logins: the server's own is the default
    cli.json("ws", "create", "CmpOut")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(cli.config_home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv(complete.TIMEOUT_ENV, "30")
    cached = tmp_path / "cache" / "coope" / "completion"
    monkeypatch.setenv("COOPE_PROFILE", "out")
    assert complete.workspaces(None, "CmpO") == ["CmpOut"]
    monkeypatch.delenv("COOPE_PROFILE")
    assert complete.workspaces(None, "CmpO") == ["CmpOut"]
    assert len(list(cached.glob("*.json"))) == 2  # the profile's login, the server's login
    cli.json("profile", "remove", "out")
    assert len(list(cached.glob("*.json"))) == 1
    cli.json("logout")
    assert list(cached.glob("*.json")) == []


def test_commands_complete_with_no_login_and_no_daemon(make_cli: Callable[[], Cli]) -> None:
    cli = make_cli()
    result = _bash_complete(
        "coope pro", {"XDG_CONFIG_HOME": str(cli.config_home), "COOPE_SERVER": "http://127.0.0.1:9"}
    )
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.split() == ["profile"]
