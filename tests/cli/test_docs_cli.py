"""`coope ws` and `coope doc` against a real daemon subprocess."""

from __future__ import annotations

import itertools
import json
import os
import queue
import signal
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.cli.clitools import Cli, assert_fails, assert_ok
from tests.helpers import eventually

People = tuple[Cli, Cli, Cli]

_trio = itertools.count()

# Every block type, in the normal form `to_markdown` writes (tight lists, a code block with its
# language): an export gives it back unchanged.
EVERY_BLOCK = """\
# Heading one

## Heading two

### Heading three

A paragraph with *emphasis*
and a second line.

- [ ] open task
- [x] done task
- bullet point

1. first
2. second

> a quote
> on two lines

```python
def code():
    return "[not markup]"
```

---

Last paragraph.
"""
EVERY_TYPE = [
    "heading1",
    "heading2",
    "heading3",
    "paragraph",
    "todo",
    "todo",
    "bullet",
    "numbered",
    "numbered",
    "quote",
    "code",
    "divider",
    "paragraph",
]


@pytest.fixture(scope="module")
def first_account(make_cli: Callable[[], Cli]) -> Cli:
    """The daemon's first account is its admin, who acts as owner everywhere: take it here so
    the people of the tests are ordinary users."""
    admin = make_cli()
    admin.signup("docsadmin")
    return admin


@pytest.fixture
def people(make_cli: Callable[[], Cli], first_account: Cli) -> People:
    """Three people with fresh accounts (the module shares one daemon)."""
    n = next(_trio)
    clis = tuple(make_cli() for _ in range(3))
    for cli, name in zip(clis, ("ann", "ben", "cat"), strict=True):
        cli.signup(f"d{name}{n}")
    return clis  # type: ignore[return-value]


def _name(cli: Cli) -> str:
    return str(cli.credentials()["servers"][cli.server]["username"])


def _workspace(owner: Cli, name: str, editor: Cli | None = None) -> int:
    ws_id = int(owner.json("ws", "create", name)["id"])
    if editor is not None:
        owner.json("ws", "role", str(ws_id), _name(editor), "editor")
    return ws_id


def _markdown(cli: Cli, page: str) -> str:
    result = cli("doc", "show", page, "--format", "md")
    assert_ok(result)
    return result.stdout


def _tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1x1, 8-bit RGB
    pixels = zlib.compress(b"\x00\xff\x00\x00")  # filter byte, one red pixel
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def _script(path: Path, body: str) -> Path:
    """An executable Python script, run by the interpreter of the tests."""
    path.write_text(f"#!{sys.executable}\n{body}")
    path.chmod(0o755)
    return path


# --- workspaces ------------------------------------------------------------------------------


def test_workspace_members_invites_roles_and_transfer(people: People, first_account: Cli) -> None:
    ann, ben, cat = people
    ws = ann.json("ws", "create", "Team Docs")
    assert (ws["name"], ws["role"]) == ("Team Docs", "owner")
    assert [(w["id"], w["role"]) for w in ann.json("ws", "list")] == [(ws["id"], "owner")]
    renamed = ann.json("ws", "rename", "team DOCS", "Docs Team")  # names are case-insensitive
    assert (renamed["id"], renamed["name"]) == (ws["id"], "Docs Team")
    # Names are unique on the daemon, any case: a name always means one workspace.
    assert_fails(ann("ws", "create", "docs team"), 6, "already a workspace called 'docs team'")
    assert ann.json("ws", "members", "DOCS TEAM")[0]["role"] == "owner"
    assert_fails(ann("ws", "members", "Nowhere"), 5, "no workspace called 'Nowhere'")
    wsid = str(ws["id"])

    invite = ann.json("ws", "invite", wsid, "--role", "viewer")
    assert invite["link"] == f"{ann.server}/invite/{invite['code']}"
    assert (invite["role"], invite["status"], invite["uses"]) == ("viewer", "active", 0)
    human = ann("ws", "invite", wsid)
    assert human.exit_code == 0, human.stderr  # the link on stdout, "✓ created" on stderr
    assert f"{ann.server}/invite/" in human.stdout
    joined = ben.json("ws", "join", invite["link"])
    assert (joined["joined"], joined["workspace"]["role"]) == (True, "viewer")
    assert ben.json("ws", "join", invite["code"])["joined"] is False
    members = ben.json("ws", "members", "docs team")
    assert [(m["username"], m["role"]) for m in members] == [
        (_name(ann), "owner"),
        (_name(ben), "viewer"),
    ]
    assert_fails(ben("ws", "rename", wsid, "Mine"), 4, "owner")
    assert_fails(ben("ws", "invite", wsid), 4, "owner")

    changed = ann.json("ws", "role", wsid, _name(ben), "editor")  # --json: the changes
    assert changed == [{"username": _name(ben), "role": "editor", "previous": "viewer"}]
    assert ann.json("ws", "role", wsid, _name(ben), "editor") == []  # nothing to change
    ann.json("ws", "role", wsid, f"@{_name(cat)}", "viewer")  # adds directly
    assert [w["role"] for w in cat.json("ws", "list")] == ["viewer"]
    assert ann("ws", "role", wsid, _name(cat), "owner").exit_code == 2
    ann.json("ws", "remove", wsid, _name(cat))
    assert_fails(cat("ws", "members", wsid), 5, f"no workspace {wsid}")
    assert_fails(ann("ws", "leave", wsid), 6, "transfer")

    members = ann.json("ws", "transfer", wsid, _name(ben))
    assert {m["username"]: m["role"] for m in members} == {
        _name(ann): "admin",
        _name(ben): "owner",
    }
    assert_fails(ann("ws", "rename", wsid, "Back"), 4, "owner")
    listed = ben.json("ws", "invites", wsid)
    assert [(i["code"], i["uses"]) for i in listed][0] == (invite["code"], 1)
    ben.json("ws", "revoke", wsid, invite["code"])
    assert_fails(cat("ws", "join", invite["link"]), 5, "revoked")
    ann.json("ws", "leave", wsid)
    assert ann.json("ws", "list") == []

    assert_fails(ann("ws", "list", "--all"), 4, "admin")
    assert ws["id"] in [w["id"] for w in first_account.json("ws", "list", "--all")]
    assert_fails(ben("ws", "delete", wsid), 7, "--yes")
    assert ben.json("ws", "delete", wsid, "--yes") == {"workspace_id": ws["id"], "deleted": True}
    assert_fails(ben("ws", "members", wsid), 5, "no workspace")


def test_used_up_and_expired_invites_say_so(people: People) -> None:
    ann, ben, cat = people
    wsid = str(_workspace(ann, "Invites"))
    once = ann.json("ws", "invite", wsid, "--max-uses", "1")
    ben.json("ws", "join", once["link"])
    assert_fails(cat("ws", "join", once["link"]), 5, "used up")
    brief = ann.json("ws", "invite", wsid, "--expires-days", "0.000001")  # 0.09 s

    def expired() -> bool:
        statuses = {i["code"]: i["status"] for i in ann.json("ws", "invites", wsid)}
        return bool(statuses[brief["code"]] == "expired")

    eventually(expired, what="the brief invite expired")
    assert_fails(cat("ws", "join", brief["code"]), 5, "expired")
    statuses = {i["code"]: i["status"] for i in ann.json("ws", "invites", wsid)}
    assert statuses == {once["code"]: "used_up", brief["code"]: "expired"}
    assert_fails(cat("ws", "join", "no-such-code"), 5, "no such invite")


# --- pages -----------------------------------------------------------------------------------


def test_page_tree_rename_move_icon_trash(people: People) -> None:
    ann, _, _ = people
    wsid = _workspace(ann, "Pages")
    plans = ann.json("doc", "new", "Pages", "Plans", "--icon", "🚀")
    sub = ann.json("doc", "new", "pages", "Sub [x]", "--parent", "Plans")
    notes = ann.json("doc", "new", str(wsid), "Notes")
    assert (plans["icon"], sub["parent_id"], notes["parent_id"]) == ("🚀", plans["id"], None)

    listed = ann.json("doc", "list", "Pages")
    assert {p["title"]: p["parent_id"] for p in listed} == {
        "Plans": None,
        "Sub [x]": plans["id"],
        "Notes": None,
    }
    human = ann("doc", "list", "Pages")
    assert_ok(human)
    assert "Plans / Sub [x]" in human.stdout  # a title with brackets is printed as typed
    tree = ann("doc", "tree", "Pages")
    assert_ok(tree)
    assert "🚀 Plans" in tree.stdout and "📄 Sub [x]" in tree.stdout
    assert tree.stdout.index("Plans") < tree.stdout.index("Sub [x]") < tree.stdout.index("Notes")
    nested = ann.json("doc", "tree", "Pages")["pages"]
    assert [(p["title"], [c["title"] for c in p["children"]]) for p in nested] == [
        ("Plans", ["Sub [x]"]),
        ("Notes", []),
    ]

    renamed = ann.json("doc", "rename", "Pages/Plans/Sub [x]", "Child")
    assert (renamed["id"], renamed["title"]) == (sub["id"], "Child")
    assert_fails(ann("doc", "move", "Plans", "--parent", "Plans/Child"), 7, "under itself")
    assert ann.json("doc", "move", "Child", "--top")["parent_id"] is None
    assert ann.json("doc", "move", "Child", "--parent", "Notes")["parent_id"] == notes["id"]
    ann.json("doc", "move", "Notes", "--after", "Plans")
    moved = ann.json("doc", "move", "Plans", "--after", "Notes")
    assert moved["parent_id"] is None
    assert [p["title"] for p in ann.json("doc", "tree", "Pages")["pages"]] == ["Notes", "Plans"]
    assert ann("doc", "move", "Plans").exit_code == 2
    assert ann("doc", "move", "Plans", "--top", "--parent", "Notes").exit_code == 2

    assert ann.json("doc", "icon", "Notes", "📝")["icon"] == "📝"
    assert ann.json("doc", "icon", "Notes", "")["icon"] == ""
    assert_fails(ann("doc", "icon", "Notes", "not an icon"), 7, "icon")

    archived = ann.json("doc", "archive", "Notes")
    assert sorted(archived["archived"]) == sorted([notes["id"], sub["id"]])
    assert [p["id"] for p in ann.json("doc", "trash", "Pages")] == [notes["id"]]
    assert_fails(ann("doc", "show", "Notes"), 5, "no page called 'Notes'")
    assert ann.json("doc", "restore", "Notes")["archived"] is False
    assert ann.json("doc", "trash", "Pages") == []
    assert_fails(ann("doc", "rm", "Notes", "--yes"), 7, "not in the trash")
    ann.json("doc", "archive", str(notes["id"]))
    assert_fails(ann("doc", "rm", "Notes"), 7, "--yes")
    deleted = ann.json("doc", "rm", "Notes", "--yes")
    assert sorted(deleted["deleted"]) == sorted([notes["id"], sub["id"]])
    assert ann.json("doc", "trash", "Pages") == []
    assert_fails(ann("doc", "show", str(notes["id"])), 5, f"no page {notes['id']}")
    assert [p["title"] for p in ann.json("doc", "list", "Pages")] == ["Plans"]


def test_page_names_ambiguous_and_unknown(people: People) -> None:
    ann, _, _ = people
    _workspace(ann, "Alpha")
    _workspace(ann, "Beta")
    one = ann.json("doc", "new", "Alpha", "Readme")
    two = ann.json("doc", "new", "Beta", "Readme")
    line = assert_fails(ann("doc", "show", "readme"), 7, "could be pages")
    assert f"{one['id']} (Alpha/Readme)" in line and f"{two['id']} (Beta/Readme)" in line
    assert ann.json("doc", "show", "beta/readme")["page"]["id"] == two["id"]
    assert ann.json("doc", "show", f"#{one['id']}")["page"]["id"] == one["id"]
    assert_fails(ann("doc", "show", "Alpha/Nothing"), 5, "no page called")
    assert_fails(ann("doc", "new", "Alpha", "Child", "--parent", "Beta/Readme"), 5, "in Alpha")


def test_show_append_and_formats(people: People) -> None:
    ann, _, _ = people
    _workspace(ann, "Show")
    page = ann.json("doc", "new", "Show", "Journal", "--icon", "📓")
    pid = str(page["id"])
    assert _markdown(ann, pid) == ""
    ann.json("doc", "append", pid, "Today [bold]not markup[/bold]")
    ann.json("doc", "append", "Journal", "Done", "--type", "heading2")
    ann.json("doc", "append", "Journal", "ship it", "--type", "todo", "--checked")
    ann.json("doc", "append", "Journal", "-", "--type", "quote", input="from stdin\n")
    assert_fails(ann("doc", "append", pid, "x", "--type", "poem"), 7, "unknown block type")
    assert_fails(ann("doc", "append", pid, "x", "--checked"), 7, "--checked")
    assert _markdown(ann, pid) == (
        "Today [bold]not markup[/bold]\n\n## Done\n\n- [x] ship it\n\n> from stdin\n"
    )
    content = ann.json("doc", "show", "Journal", "--format", "json")
    assert [(b["type"], b["text"], b["checked"]) for b in content["blocks"]] == [
        ("paragraph", "Today [bold]not markup[/bold]", False),
        ("heading2", "Done", False),
        ("todo", "ship it", True),
        ("quote", "from stdin", False),
    ]
    rich = ann("doc", "show", "Journal")
    assert_ok(rich)
    assert "📓 Journal" in rich.stdout
    assert "Today [bold]not markup[/bold]" in rich.stdout
    assert "☑ ship it" in rich.stdout and "from stdin" in rich.stdout
    assert ann("doc", "show", pid, "--format", "html").exit_code == 2


def test_export_import_round_trip_with_every_block_type(people: People, tmp_path: Path) -> None:
    ann, _, _ = people
    _workspace(ann, "Port")
    source = tmp_path / "every-block.md"
    source.write_text(EVERY_BLOCK)
    made = ann.json("doc", "import", "Port", str(source))
    assert made["title"] == "every-block"
    content = ann.json("doc", "show", str(made["id"]), "--format", "json")
    assert [b["type"] for b in content["blocks"]] == EVERY_TYPE
    exported = ann("doc", "export", "every-block")
    assert_ok(exported)
    assert exported.stdout == EVERY_BLOCK
    out = tmp_path / "out.md"
    ann.json("doc", "export", "every-block", "-o", str(out))
    assert out.read_text() == EVERY_BLOCK

    base = ann.json("doc", "new", "Port", "Base", "--from", str(out))
    assert _markdown(ann, str(base["id"])) == EVERY_BLOCK
    titled = ann.json(
        "doc", "import", "Port", "-", "--title", "Piped", "--parent", "Base", input="hi\n"
    )
    assert (titled["title"], titled["parent_id"]) == ("Piped", base["id"])
    ann.json("doc", "import", "--into", "Port/Base/Piped", str(source))
    assert _markdown(ann, "Piped") == "hi\n\n" + EVERY_BLOCK
    assert ann("doc", "import", "Port").exit_code == 2
    assert ann("doc", "import", "--into", "Piped", "Port", str(source)).exit_code == 2
    assert_fails(ann("doc", "import", "Port", str(tmp_path / "missing.md")), 5, "no file")


def test_doc_new_from_markdown_shows_the_same_markdown(people: People, tmp_path: Path) -> None:
    ann, _, _ = people
    _workspace(ann, "Round")
    source = tmp_path / "notes.md"
    source.write_text(EVERY_BLOCK)
    made = ann.json("doc", "new", "Round", "Notes", "--from", str(source))
    assert _markdown(ann, str(made["id"])) == EVERY_BLOCK
    # Loose lists are read as the same blocks, and come back in the normal (tight) form.
    loose = tmp_path / "loose.md"
    loose.write_text("- one\n\n- two\n\n1. first\n\n2. second\n")
    made = ann.json("doc", "new", "Round", "Loose", "--from", str(loose))
    assert _markdown(ann, str(made["id"])) == "- one\n- two\n\n1. first\n2. second\n"


def test_search_finds_appended_text(people: People) -> None:
    ann, ben, _ = people
    _workspace(ann, "Find")
    other = _workspace(ann, "Elsewhere")
    page = ann.json("doc", "new", "Find", "Zoo")
    ann.json("doc", "append", "Zoo", "a quokka smiles at the zanzibar tourist")
    # The daemon indexes page text a moment after the last edit, not at once.
    eventually(lambda: bool(ann.json("doc", "search", "quokka zanzibar")), what="text indexed")
    hits = ann.json("doc", "search", "quokka zanzibar")
    assert [h["page"]["id"] for h in hits] == [page["id"]]
    assert "quokka" in hits[0]["snippet"]
    assert ann.json("doc", "search", "quokka", "--ws", str(other)) == []
    assert ann.json("doc", "search", "quok", "--ws", "find")[0]["page"]["id"] == page["id"]
    human = ann("doc", "search", "quokka")
    assert_ok(human)
    assert "Zoo" in human.stdout
    assert ben.json("doc", "search", "quokka") == []


def test_permissions_viewer_and_non_member(people: People) -> None:
    ann, ben, cat = people
    wsid = str(_workspace(ann, "Private"))
    ann.json("ws", "role", wsid, _name(ben), "viewer")
    page = ann.json("doc", "new", wsid, "Secret plan")
    ann.json("doc", "append", "Secret plan", "hidden words")
    assert "hidden words" in _markdown(ben, str(page["id"]))
    assert_fails(ben("doc", "append", str(page["id"]), "mine"), 4, "viewers")
    assert_fails(ben("doc", "edit", "Secret plan"), 4, "viewers")
    assert_fails(ben("doc", "rename", "Secret plan", "Ours"), 4, "viewers")
    assert_fails(cat("doc", "show", str(page["id"])), 5, f"no page {page['id']}")
    assert_fails(cat("doc", "show", "Secret plan"), 5, "no page called")
    assert cat.json("doc", "search", "hidden") == []


def test_cover_png_clear_and_refusals(people: People, tmp_path: Path) -> None:
    ann, _, _ = people
    _workspace(ann, "Covers")
    ann.json("doc", "new", "Covers", "Pretty")
    png = tmp_path / "cover.png"
    png.write_bytes(_tiny_png())
    assert ann.json("doc", "cover", "Pretty", str(png))["has_cover"] is True
    human = ann("doc", "list", "Covers")
    assert_ok(human)
    assert "yes" in human.stdout
    text = tmp_path / "cover.png.txt"
    text.write_text("not an image at all")
    assert_fails(ann("doc", "cover", "Pretty", str(text)), 7, "PNG, JPEG")
    assert ann.json("doc", "cover", "Pretty", "--clear")["has_cover"] is False
    assert ann("doc", "cover", "Pretty").exit_code == 2
    assert ann("doc", "cover", "Pretty", str(png), "--clear").exit_code == 2
    assert_fails(ann("doc", "cover", "Pretty", str(tmp_path / "none.png")), 5, "no file")


# --- editing and watching ----------------------------------------------------------------------


def test_edit_lands_and_keeps_concurrent_changes(people: People, tmp_path: Path) -> None:
    ann, ben, _ = people
    _workspace(ann, "Edits", editor=ben)
    page = ann.json("doc", "new", "Edits", "Menu")
    pid = str(page["id"])
    ann.json("doc", "append", pid, "apple pie is good")
    ann.json("doc", "append", pid, "cherry tart")

    # Ben's editor changes another word of the same block than Ann's.
    bens_editor = _script(
        tmp_path / "bens-editor",
        "import pathlib, sys\n"
        "p = pathlib.Path(sys.argv[1])\n"
        "p.write_text(p.read_text().replace('good', 'great'))\n",
    )
    # Ann's editor: while it is open, Ben appends a block and edits the page (through the
    # daemon), then Ann's own change is saved over the state fetched before all that.
    anns_editor = _script(
        tmp_path / "anns-editor",
        "import os, pathlib, subprocess, sys\n"
        "env = dict(os.environ, XDG_CONFIG_HOME=os.environ['OTHER_CONFIG'],"
        " EDITOR=os.environ['OTHER_EDITOR'])\n"
        "env.pop('VISUAL', None)\n"
        "page = os.environ['PAGE_ID']\n"
        "coope = [sys.executable, '-m', 'coope', 'doc']\n"
        "subprocess.run([*coope, 'append', page, 'added meanwhile'], env=env, check=True)\n"
        "subprocess.run([*coope, 'edit', page], env=env, check=True)\n"
        "p = pathlib.Path(sys.argv[1])\n"
        "text = p.read_text()\n"
        "assert 'added meanwhile' not in text and 'good' in text, text\n"
        "p.write_text(text.replace('apple', 'banana').replace('cherry tart', 'plum tart'))\n",
    )
    env: dict[str, str | None] = {
        "VISUAL": None,
        "EDITOR": str(anns_editor),
        "OTHER_CONFIG": str(ben.config_home),
        "OTHER_EDITOR": str(bens_editor),
        "PAGE_ID": pid,
    }
    saved = ann.json("doc", "edit", "Edits/Menu", **env)
    assert saved["page_id"] == page["id"] and saved["changed"] is True
    assert isinstance(saved["seq"], int)
    assert _markdown(ann, pid) == "banana pie is great\n\nplum tart\n\nadded meanwhile\n"

    human = ann("doc", "edit", pid, VISUAL=f"{sys.executable} {bens_editor}", EDITOR="false")
    assert human.exit_code == 0  # VISUAL wins, and is split like a shell would
    assert "no changes" in human.stderr  # nothing left to replace
    quiet = ann.json("doc", "edit", pid, VISUAL=None, EDITOR="true")
    assert quiet == {"page_id": page["id"], "changed": False, "seq": None}

    dropper = _script(
        tmp_path / "dropper",
        "import pathlib, sys\n"
        "p = pathlib.Path(sys.argv[1])\n"
        "p.write_text(p.read_text().replace('plum tart\\n\\n', '') + '\\n- [ ] new todo\\n')\n",
    )
    human = ann("doc", "edit", pid, VISUAL=None, EDITOR=str(dropper))
    assert human.exit_code == 0, human.stderr  # "✓ saved" is told on stderr
    assert "1 added, 0 changed, 1 removed" in human.stderr
    assert _markdown(ann, pid) == "banana pie is great\n\nadded meanwhile\n\n- [ ] new todo\n"

    failing = _script(
        tmp_path / "failing",
        "import pathlib, sys\npathlib.Path(sys.argv[1]).write_text('wiped')\nsys.exit(3)\n",
    )
    assert_fails(ann("doc", "edit", pid, VISUAL=None, EDITOR=str(failing)), 1, "status 3")
    assert_fails(ann("doc", "edit", pid, VISUAL=None, EDITOR="no-such-editor-x"), 1, "editor")
    assert "banana pie is great" in _markdown(ann, pid)  # nothing was sent


class _Lines:
    """A subprocess's output lines, read by a thread so waiting for one can time out."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        self._stream = proc.stdout
        self._queue: queue.Queue[str] = queue.Queue()
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()
        self.seen: list[str] = []

    def _pump(self) -> None:
        for line in self._stream:
            self._queue.put(line)

    def until(self, check: Callable[[str], bool], timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no such line within {timeout} s: {self.seen}") from None
            self.seen.append(line)
            if check(line):
                return line

    def join(self) -> None:
        self._thread.join(10)


def test_watch_prints_changes_by_others_until_ctrl_c(people: People) -> None:
    ann, ben, _ = people
    _workspace(ann, "Watched", editor=ben)
    page = ann.json("doc", "new", "Watched", "Live")
    ann.json("doc", "append", "Live", "first words")
    env = {**os.environ, "XDG_CONFIG_HOME": str(ann.config_home), "NO_COLOR": "1"}
    env.pop("COOPE_TOKEN", None)
    env.pop("COOPE_SERVER", None)
    base = [sys.executable, "-m", "coope", "doc", "watch"]
    procs = [
        subprocess.Popen(
            [*base, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for args in (["Watched/Live", "--json"], [str(page["id"])])
    ]
    try:
        as_json, human = (_Lines(p) for p in procs)
        first: dict[str, Any] = json.loads(as_json.until(lambda _: True))
        assert (first["page_id"], first["markdown"]) == (page["id"], "first words\n")
        human.until(lambda line: "first words" in line)
        ben.json("doc", "append", str(page["id"]), "live from ben", "--type", "bullet")
        changed = json.loads(as_json.until(lambda _: True))
        assert changed["markdown"] == "first words\n\n- live from ben\n"
        assert [b["type"] for b in changed["blocks"]] == ["paragraph", "bullet"]
        human.until(lambda line: line.startswith("+- live from ben"))
        for proc in procs:
            proc.send_signal(signal.SIGINT)
        assert [proc.wait(10) for proc in procs] == [130, 130]
        for lines in (as_json, human):
            lines.join()
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()
