"""`coope doc`: paths in `list --json`, `cover get` and the forms of `cover`, a cover too large
(from a file or a pipe), restoring under a parent in the trash or gone, and `doc watch`
following the page to the trash and back (and waiting quietly once its event feed ends)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest

from coope.cli.doc_live import _updates
from coope.client.docs import PagesApi
from coope.core.errors import NotFound
from tests.cli.clitools import Cli, CoopeProcess, assert_fails, assert_ok, eventually
from tests.cli.test_docs_cli import _tiny_png

if TYPE_CHECKING:
    from coope.client.replica import PageReplica
    from coope.core.events import Event
    from coope.core.workspace_schemas import PageOut

_people = itertools.count()


@pytest.fixture(scope="module")
def first_account(make_cli: Callable[[], Cli]) -> Cli:
    """The daemon's first account is its admin: taken here, so `ann` is an ordinary user."""
    admin = make_cli()
    admin.signup("smalldocsadmin")
    return admin


@pytest.fixture
def ann(make_cli: Callable[[], Cli], first_account: Cli) -> Cli:
    cli = make_cli()
    cli.signup(f"smallann{next(_people)}")
    return cli


def _workspace(cli: Cli) -> str:
    name = f"Small{next(_people)}"
    cli.json("ws", "create", name)
    return name


def test_list_json_has_each_page_path(ann: Cli) -> None:
    ws = _workspace(ann)
    ann.json("doc", "new", ws, "Plans")
    ann.json("doc", "new", ws, "Q3", "--parent", "Plans")

    listed = ann.json("doc", "list", ws)

    assert sorted(p["path"] for p in listed) == [f"{ws}/Plans", f"{ws}/Plans/Q3"]
    assert {p["title"] for p in listed} == {"Plans", "Q3"}


def test_cover_get_saves_the_image_to_a_file_or_a_pipe(ann: Cli, tmp_path: Path) -> None:
    ws = _workspace(ann)
    png = tmp_path / "cover.png"
    png.write_bytes(_tiny_png())
    ann.json("doc", "new", ws, "Pretty")
    assert ann.json("doc", "cover", f"{ws}/Pretty", str(png))["has_cover"] is True

    saved = tmp_path / "saved.png"
    report = ann.json("doc", "cover", "get", f"{ws}/Pretty", "-o", str(saved))
    piped = ann("doc", "cover", "get", f"{ws}/Pretty")

    assert report["file"] == str(saved) and report["bytes"] == saved.stat().st_size
    assert saved.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert_ok(piped)
    assert piped.stdout_bytes == saved.read_bytes()


def test_cover_get_without_a_cover_or_a_place_to_write(ann: Cli, tmp_path: Path) -> None:
    ws = _workspace(ann)
    ann.json("doc", "new", ws, "Plain")

    assert_fails(ann("doc", "cover", "get", f"{ws}/Plain", "-o", str(tmp_path / "x")), 5, "")
    result = ann("doc", "cover", "get", f"{ws}/Plain", "--json")
    assert result.exit_code == 2
    assert "-o FILE" in result.stderr


def test_a_cover_over_5_mb_is_invalid_input_in_megabytes(ann: Cli, tmp_path: Path) -> None:
    ws = _workspace(ann)
    ann.json("doc", "new", ws, "Huge")
    big = tmp_path / "big.png"
    with big.open("wb") as file:
        file.write(_tiny_png())
        file.truncate(5 * 1024 * 1024 + 1)

    line = assert_fails(ann("doc", "cover", f"{ws}/Huge", str(big)), 7, "at most 5 MB")

    assert "5242880" not in line
    assert ann.json("doc", "list", ws)[0]["has_cover"] is False


def test_restoring_a_page_whose_parent_is_in_the_trash_says_where_it_went(ann: Cli) -> None:
    ws = _workspace(ann)
    plans = ann.json("doc", "new", ws, "Plans")
    q3 = ann.json("doc", "new", ws, "Q3", "--parent", "Plans")
    ann.json("doc", "archive", str(q3["id"]))  # on its own first
    ann.json("doc", "archive", str(plans["id"]))  # then its parent

    result = ann("doc", "restore", str(q3["id"]))

    assert result.exit_code == 0, result.stderr
    assert "at the top of the workspace" in result.stderr
    assert f"'Plans' (page {plans['id']}) is in the trash" in result.stderr
    listed = {p["path"]: p for p in ann.json("doc", "list", ws)}
    assert listed[f"{ws}/Q3"]["parent_id"] is None


def test_restore_json_names_the_parent_in_the_trash(ann: Cli) -> None:
    ws = _workspace(ann)
    plans = ann.json("doc", "new", ws, "Plans")
    q3 = ann.json("doc", "new", ws, "Q3", "--parent", "Plans")
    other = ann.json("doc", "new", ws, "Other", "--parent", "Plans")
    ann.json("doc", "archive", str(q3["id"]))
    ann.json("doc", "archive", str(other["id"]))

    alone = ann.json("doc", "restore", str(other["id"]))
    ann.json("doc", "archive", str(plans["id"]))
    moved = ann.json("doc", "restore", str(q3["id"]))

    assert (alone["parent_id"], alone["parent_in_trash"]) == (plans["id"], None)
    assert (moved["parent_id"], moved["parent_in_trash"]) == (None, plans["id"])


def test_restoring_a_page_archived_with_its_parent_names_the_parent(ann: Cli) -> None:
    ws = _workspace(ann)
    plans = ann.json("doc", "new", ws, "Plans")
    q3 = ann.json("doc", "new", ws, "Q3", "--parent", "Plans")
    ann.json("doc", "archive", str(plans["id"]))

    assert_fails(
        ann("doc", "restore", str(q3["id"])),
        7,
        f"'Q3' went to the trash with 'Plans' (page {plans['id']}): restore that page",
    )


def test_cover_set_takes_its_options_before_the_page(ann: Cli, tmp_path: Path) -> None:
    ws = _workspace(ann)
    png = tmp_path / "cover.png"
    png.write_bytes(_tiny_png())
    ann.json("doc", "new", ws, "Pretty")

    json_first = ann("doc", "cover", "--json", f"{ws}/Pretty", str(png))
    clear_first = ann("doc", "cover", "--clear", f"{ws}/Pretty")

    assert_ok(json_first)
    assert json.loads(json_first.stdout)["has_cover"] is True
    assert clear_first.exit_code == 0, clear_first.stderr
    assert "cover removed" in clear_first.stderr
    assert ann.json("doc", "cover", "--clear", f"{ws}/Pretty")["has_cover"] is False


def test_a_page_titled_get_or_set_is_named_after_the_command(ann: Cli, tmp_path: Path) -> None:
    ws = _workspace(ann)
    png = tmp_path / "cover.png"
    png.write_bytes(_tiny_png())
    ann.json("doc", "new", ws, "get")
    ann.json("doc", "new", ws, "set")

    assert ann.json("doc", "cover", "set", "get", str(png))["title"] == "get"
    assert ann.json("doc", "cover", "set", "set", str(png))["has_cover"] is True
    saved = tmp_path / "saved.png"
    ann.json("doc", "cover", "get", "get", "-o", str(saved))
    cleared = ann.json("doc", "cover", "set", "--json", "set", "--clear")

    assert saved.read_bytes().startswith(b"\x89PNG")
    assert (cleared["title"], cleared["has_cover"]) == ("set", False)
    assert {p["title"]: p["has_cover"] for p in ann.json("doc", "list", ws)} == {
        "get": True,
        "set": False,
    }


def test_cover_help_says_how_to_name_a_page_titled_like_a_command(ann: Cli) -> None:
    for words in (["doc", "cover", "--help"], ["doc", "cover", "-h"]):
        shown = ann(*words)
        assert_ok(shown)
        assert "doc cover set PAGE FILE" in " ".join(shown.stdout.split())


def test_a_cover_from_a_pipe_is_read_no_further_than_5_mb(ann: Cli, tmp_path: Path) -> None:
    ws = _workspace(ann)
    ann.json("doc", "new", ws, "Piped")
    fifo = tmp_path / "cover.fifo"
    os.mkfifo(fifo)
    cap = 64 * 1024 * 1024  # an endless source, made to end: it has no size to check first
    written = 0

    def endless_image() -> None:
        nonlocal written
        chunk = _tiny_png().ljust(64 * 1024, b"\0")
        with contextlib.suppress(BrokenPipeError), fifo.open("wb") as pipe:
            while written < cap:
                pipe.write(chunk)
                written += len(chunk)

    writer = threading.Thread(target=endless_image)
    writer.start()
    try:
        result = ann("doc", "cover", f"{ws}/Piped", str(fifo))
    finally:
        # A command that never opened the pipe leaves the writer waiting for a reader.
        os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
        writer.join(30)

    assert_fails(result, 7, "a cover can be at most 5 MB")
    assert written < cap  # the reader stopped and closed the pipe: not read to its end
    assert ann.json("doc", "list", ws)[0]["has_cover"] is False


def test_restore_goes_on_when_the_parent_cannot_be_found(
    ann: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = _workspace(ann)
    plans = ann.json("doc", "new", ws, "Plans")
    q3 = ann.json("doc", "new", ws, "Q3", "--parent", "Plans")
    ann.json("doc", "archive", str(q3["id"]))
    real_get = PagesApi.get

    async def parent_gone(self: PagesApi, page_id: int) -> PageOut:
        # Deleted (or out of reach) between finding the page and restoring it.
        if page_id == plans["id"]:
            raise NotFound(f"no page {page_id}")
        return await real_get(self, page_id)

    monkeypatch.setattr(PagesApi, "get", parent_gone)
    result = ann("doc", "restore", str(q3["id"]))

    assert result.exit_code == 0, result.stderr
    assert "Q3" in result.stderr and "restored" in result.stderr
    assert "in the trash" not in result.stderr
    monkeypatch.undo()
    listed = {p["path"]: p for p in ann.json("doc", "list", ws)}
    assert listed[f"{ws}/Plans/Q3"]["parent_id"] == plans["id"]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def watchers() -> Iterator[list[CoopeProcess]]:
    started: list[CoopeProcess] = []
    yield started
    for proc in started:
        proc.stop()


def test_watch_follows_the_page_to_the_trash_and_back(
    ann: Cli, workdir: Path, watchers: list[CoopeProcess]
) -> None:
    ws = _workspace(ann)
    plans = ann.json("doc", "new", ws, "Plans")
    q3 = ann.json("doc", "new", ws, "Q3", "--parent", "Plans")
    watch = CoopeProcess(ann, workdir, "watch", "doc", "watch", str(q3["id"]))
    watchers.append(watch)
    eventually(lambda: len(watch.lines()) == 1, what="the page shown")

    ann.json("doc", "archive", str(plans["id"]))  # the parent, and the watched page with it
    eventually(lambda: len(watch.lines()) == 2, what="the move to the trash")
    ann.json("doc", "restore", str(plans["id"]))
    eventually(lambda: len(watch.lines()) == 3, what="the way back")

    assert watch.lines()[1:] == [
        {"page_id": q3["id"], "event": "archived", "root_id": plans["id"]},
        {"page_id": q3["id"], "event": "restored", "root_id": plans["id"]},
    ]
    assert watch.proc.poll() is None  # still watching


def test_watch_tells_a_person_what_moved_the_page(
    ann: Cli, workdir: Path, watchers: list[CoopeProcess]
) -> None:
    ws = _workspace(ann)
    plans = ann.json("doc", "new", ws, "Plans")
    q3 = ann.json("doc", "new", ws, "Q3", "--parent", "Plans")
    ann.json("doc", "append", str(q3["id"]), "first words")
    watch = CoopeProcess(ann, workdir, "human", "doc", "watch", str(q3["id"]), json=False)
    watchers.append(watch)

    eventually(lambda: "first words" in watch.text(), what="the page shown")
    ann.json("doc", "archive", str(plans["id"]))
    eventually(lambda: "moved to the trash" in watch.text(), what="the move")
    ann.json("doc", "restore", str(plans["id"]))
    eventually(lambda: "restored" in watch.text(), what="the way back")

    text = watch.text()
    assert "moved to the trash with 📄 Plans: read-only at" in text
    assert "restored with 📄 Plans at" in text


class _Page:
    """A page's live copy as `_updates` reads it: a change, then another, until closed."""

    def __init__(self) -> None:
        self._news: asyncio.Queue[int | None] = asyncio.Queue()

    def change(self) -> None:
        self._news.put_nowait(1)

    def close(self) -> None:
        self._news.put_nowait(None)

    async def changes(self) -> AsyncIterator[int]:
        while (version := await self._news.get()) is not None:
            yield version


async def _no_events() -> AsyncIterator[Event]:
    """An event feed that has ended (the daemon refused it): the page's socket closes next."""
    return
    yield


async def test_once_the_event_feed_ends_only_the_page_is_waited_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    waits = 0
    real_wait = asyncio.wait

    async def counted_wait(*args: Any, **kwargs: Any) -> Any:
        nonlocal waits
        waits += 1
        return await real_wait(*args, **kwargs)

    monkeypatch.setattr(asyncio, "wait", counted_wait)
    page = _Page()
    updates = _updates(cast("PageReplica", page), _no_events())
    first = asyncio.ensure_future(anext(updates))
    try:
        # Turns of the event loop, not time: a wait that kept waking on the ended feed would
        # come round on every one of them.
        for _ in range(50):
            await asyncio.sleep(0)
        assert not first.done()
        assert waits == 2  # both streams, then the page alone

        page.change()
        assert await first is None
        page.close()
        assert await anext(updates, "ended") == "ended"
    finally:
        first.cancel()  # a failed check leaves the read pending; cancelled, it closes the stream
        await asyncio.gather(first, return_exceptions=True)
        await updates.aclose()
