"""The TUI under a realistic account: start-up, live message drawing, memory over long history.

    .venv/bin/python scripts/bench_tui.py [--friends 200] [--rooms 50] [--messages 200]
                                           [--live 20000] [--history 10000] [--launches 3]

It starts a throw-away daemon (its own temp data dir, logs at warning) with XDG_CONFIG_HOME and
XDG_DATA_HOME in a temp dir (for the daemon and for this process: your own saved logins are never
touched), and sets up through `coope.client`: one account (the TUI's), `--friends` friends (each
signs up and asks, the TUI's account accepts), `--rooms` group rooms with a few friends in each
(one for the live messages of 2., one for those of 3., one holding `--history` messages). The
app (`CoopeApp`) then runs headless under `App.run_test` at 120x36 in this process's event loop,
as the TUI tests run it, a fresh app for each measure:

1. launch: from `run_test` being entered to the first frame the compositor renders with the main
   screen and every room and friend in the sidebar (`App._display` is wrapped on the instance:
   the compositor hands it every frame, which headless mode then does not write out).
   `--launches` apps; the goal is judged on the median. Also printed: the time to the first
   frame with the first room's messages, and what a fresh process spends importing the TUI
   before any of this (not part of the goal). Goal: at most 1 s.
2. draw: another account sends `--messages` messages into the room on screen, one at a time
   (REST), each waited for. A message counts as drawn when the message log renders a line
   holding its text: `MessageLog.render_line` is wrapped on the instance, and the compositor
   calls it only for the lines it paints. No polling: the wrapper resolves a future. Send to
   drawn includes the sender's request, the daemon's commit and fan-out and the TUI's websocket.
   Goal: p99 at most 100 ms.
3. memory, two ways. Live: `--live` messages come into the room on screen (16 in flight), the
   view following the newest; the process's RSS (after `gc.collect()`) with 1,000 of them, half
   and all. Up to half, bounded caches are still filling (pydantic's 16,384 cached JSON strings,
   rich's and Textual's style and cell-length caches); from half to all gives the growth per
   message, judged against the goal. Paging: the room of
   `--history` messages is paged to the top with the message log's "older" action (what PageUp
   on the oldest message does; the selection stays on the message that was the oldest, so the
   view walks up through the room), with tracemalloc on: the traced growth per message from
   1,000 to all of them, the files that allocated it, and one page's fetch-and-redraw time at
   each point (flat: the log holds a window of the room, `state.WINDOW` messages). Up to about
   2,000 some bounded caches are still filling (rich's 4,096-word cell-length cache, the option
   list's 2,048 rendered options), so the default of 10,000 judges what is past them. Goal:
   flat (under 100 bytes a message).

Python's reports of coroutines the app dropped without running them (workers replaced before
they started) are counted and summed up at the end instead of printed one by one.

With the defaults it takes two to three minutes on a quiet two-core machine, setup included.
The benchmark process and the daemon share the machine's cores: the figures are those of one box
running both.
For a profile of the TUI's side: `.venv/bin/python -m cProfile -o tui.prof scripts/bench_tui.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import inspect
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from benchlib import start_daemon, stop_daemon
from textual.pilot import Pilot
from textual.strip import Strip

from coope.client import CoopeClient
from coope.client.profiles import Profiles
from coope.tui.app import CoopeApp
from coope.tui.main_screen import MainScreen
from coope.tui.message_log import MessageLog
from coope.tui.sidebar import FriendList, RoomList, Sidebar

PASSWORD = "bench password 1"
ME = "bench-me"
SIZE = (120, 36)
PARALLEL = 16  # requests in flight when sending many
PATIENCE_S = 60.0  # a wait longer than this is a failure of the benchmark, not a figure
MEMORY_MARK = 1_000  # memory is compared between this many messages loaded and all of them

GOAL_LAUNCH_S = 1.0
GOAL_DRAW_P99_MS = 100.0
GOAL_BYTES_PER_MESSAGE = 100.0


def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def friend_name(i: int) -> str:
    return f"bench-friend-{i:03d}"


@dataclass
class World:
    """What the setup made: the TUI's login and the rooms the measures use."""

    url: str
    token: str
    friends: int
    rooms: int
    sender_token: str  # a friend of ours, in every room
    live_room: int
    history_room: int
    memory_room: int


async def in_parallel(jobs: Iterable[Awaitable[Any]]) -> None:
    """Run `jobs` with `PARALLEL` in flight, taking each from the iterable only when a worker is
    free: gathering one task per job would hold thousands of tasks at once, and the memory that
    peak leaves behind in the allocator reads as growth per message in the RSS figures."""
    pending = iter(jobs)

    async def worker() -> None:
        for job in pending:
            await job

    await asyncio.gather(*(worker() for _ in range(PARALLEL)))


async def build_world(url: str, friends: int, rooms: int, history: int) -> World:
    async with CoopeClient(url) as me:
        token = (await me.auth.signup(ME, PASSWORD)).token
        tokens = [""] * friends

        async def befriend(i: int) -> None:
            async with CoopeClient(url) as friend:
                tokens[i] = (await friend.auth.signup(friend_name(i), PASSWORD)).token
                await friend.friends.request(ME)

        await in_parallel(befriend(i) for i in range(friends))
        await in_parallel(me.friends.accept(friend_name(i)) for i in range(friends))

        # Friends join at once; every room has the sender and a few others.
        def members(i: int) -> list[str]:
            return [friend_name(0), *(friend_name((i * 3 + k) % friends) for k in range(1, 4))]

        made = [await me.chat.create_room(f"bench room {i:02d}", members(i)) for i in range(rooms)]
        live_room, history_room, memory_room = made[0].id, made[1].id, made[2].id

    async with CoopeClient(url, tokens[0]) as sender:
        for room in (live_room, memory_room):  # a room with nothing in it shows nothing
            await sender.chat.send(room, "hello")
        await in_parallel(
            sender.chat.send(history_room, f"history {n:05d}") for n in range(1, history + 1)
        )
    return World(url, token, friends, rooms, tokens[0], live_room, history_room, memory_room)


def new_app(world: World, profiles: Profiles) -> CoopeApp:
    return CoopeApp(world.url, world.token, profiles=profiles)


async def wait_until(pilot: Pilot[None], condition: Callable[[], bool], what: str) -> None:
    """Let the app run until `condition` holds."""
    deadline = time.monotonic() + PATIENCE_S
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"not within {PATIENCE_S} s: {what}")
        await pilot.pause(0.005)


# --- 1. launch ----------------------------------------------------------------------------------


def import_seconds() -> float:
    """What a fresh process spends importing the TUI, which `run_test` below does not see."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import coope.tui.app"], check=True)
    return time.perf_counter() - start


async def launch_once(world: World, profiles: Profiles) -> tuple[float, float]:
    """Seconds from entering `run_test` to the first frame with the full sidebar, and to the
    first frame with the first room's messages (which the session opens by itself)."""
    app = new_app(world, profiles)
    loop = asyncio.get_running_loop()
    sidebar_drawn: asyncio.Future[float] = loop.create_future()
    room_drawn: asyncio.Future[float] = loop.create_future()
    display = app._display

    def sidebar_full(screen: MainScreen) -> bool:
        sidebar = screen.sidebar
        return (
            sidebar.query_one(RoomList).option_count >= world.rooms
            and sidebar.query_one(FriendList).option_count >= world.friends
        )

    def room_shown(screen: MainScreen) -> bool:
        return screen.view == "room" and screen.chat.message_log.option_count > 0

    def timed_display(screen: Any, renderable: Any) -> None:
        display(screen, renderable)
        if renderable is None or not isinstance(app.screen, MainScreen):
            return
        now = time.perf_counter()
        for drawn, shows in ((sidebar_drawn, sidebar_full), (room_drawn, room_shown)):
            if not drawn.done() and shows(app.screen):
                drawn.set_result(now)

    # The compositor hands every frame to `_display` (which headless mode does not write out).
    app._display = timed_display  # type: ignore[method-assign]
    start = time.perf_counter()
    async with app.run_test(size=SIZE):
        sidebar_at = await asyncio.wait_for(sidebar_drawn, PATIENCE_S)
        room_at = await asyncio.wait_for(room_drawn, PATIENCE_S)
    return sidebar_at - start, room_at - start


# --- 2. draw ------------------------------------------------------------------------------------


class DrawWatch:
    """Wraps a `MessageLog`'s `render_line`: resolves a future when a line with `text` paints."""

    def __init__(self, log: MessageLog) -> None:
        self.text = ""
        self.drawn: asyncio.Future[float] | None = None
        render_line = log.render_line

        def watched(y: int) -> Strip:
            strip = render_line(y)
            if self.drawn is not None and not self.drawn.done() and self.text in strip.text:
                self.drawn.set_result(time.perf_counter())
            return strip

        log.render_line = watched  # type: ignore[method-assign]

    def expect(self, text: str) -> asyncio.Future[float]:
        self.text = text
        self.drawn = asyncio.get_running_loop().create_future()
        return self.drawn


async def open_room(pilot: Pilot[None], room_id: int) -> MessageLog:
    """Choose `room_id` in the sidebar, as Enter on it does; wait until its messages show."""
    app = pilot.app
    assert isinstance(app, CoopeApp)
    # The session opens the first room by itself once started: choose after that, not before.
    await wait_until(
        pilot,
        lambda: app.session is not None and app.session.rooms.shown is not None,
        "the session started",
    )
    screen, session = app.screen, app.session
    assert isinstance(screen, MainScreen) and session is not None
    if session.rooms.shown != room_id:  # opening it again would start its timeline anew
        screen.sidebar.post_message(Sidebar.RoomChosen(room_id))
    log = screen.chat.message_log
    await wait_until(
        pilot,
        lambda: (
            app.session is not None
            and app.session.rooms.shown == room_id
            and screen.chat.room is not None
            and screen.chat.room.id == room_id
            and log.option_count > 0
        ),
        f"room {room_id} shown",
    )
    return log


async def draw_latencies(world: World, profiles: Profiles, count: int) -> list[float]:
    app = new_app(world, profiles)
    latencies: list[float] = []
    async with (
        app.run_test(size=SIZE) as pilot,
        CoopeClient(world.url, world.sender_token) as sender,
    ):
        watch = DrawWatch(await open_room(pilot, world.live_room))
        for n in range(-3, count):  # three first ones warm the path up and are not counted
            text = f"live {n:04d} ~"
            drawn = watch.expect(text)
            start = time.perf_counter()
            await sender.chat.send(world.live_room, text)
            end = await asyncio.wait_for(drawn, PATIENCE_S)
            if n >= 0:
                latencies.append(end - start)
    return latencies


# --- 3. memory ----------------------------------------------------------------------------------


@dataclass
class MemoryPoint:
    messages: int  # in the room's timeline
    rss: int
    seconds: float  # per live message over the stretch before; for paging, the last page
    snapshot: tracemalloc.Snapshot | None  # when tracing

    @property
    def traced(self) -> int:
        return (
            sum(stat.size for stat in self.snapshot.statistics("filename")) if self.snapshot else 0
        )


def measure(messages: int, seconds: float) -> MemoryPoint:
    gc.collect()
    with open("/proc/self/statm") as statm:
        rss = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    snapshot = tracemalloc.take_snapshot() if tracemalloc.is_tracing() else None
    return MemoryPoint(messages, rss, seconds, snapshot)


async def live_memory(world: World, profiles: Profiles, total: int) -> list[MemoryPoint]:
    """RSS with `MEMORY_MARK`, half of `total` and `total` messages come live into the room
    on screen."""
    app = new_app(world, profiles)
    async with (
        app.run_test(size=SIZE) as pilot,
        CoopeClient(world.url, world.sender_token) as sender,
    ):
        log = await open_room(pilot, world.memory_room)
        shown_before = log.timeline.newest_seq or 0
        marks: list[MemoryPoint] = []
        sent = 0
        for upto in (MEMORY_MARK, total // 2, total):
            start = time.perf_counter()
            await in_parallel(
                sender.chat.send(world.memory_room, f"live {n:05d}")
                for n in range(sent + 1, upto + 1)
            )
            await wait_until(
                pilot,
                lambda: (log.timeline.newest_seq or 0) >= shown_before + upto,  # noqa: B023
                "every live message in the timeline",
            )
            await pilot.pause()  # and drawn
            marks.append(measure(upto, (time.perf_counter() - start) / (upto - sent)))
            sent = upto
    return marks


async def page_to_top(world: World, profiles: Profiles) -> tuple[MemoryPoint, MemoryPoint]:
    """Traced memory with `MEMORY_MARK` messages paged in and with the whole room."""
    app = new_app(world, profiles)
    async with app.run_test(size=SIZE) as pilot:
        tracemalloc.start()
        try:
            log = await open_room(pilot, world.history_room)
            marks: list[MemoryPoint] = []
            page_s = 0.0
            top = log.timeline.newest_seq or 0
            while True:
                oldest = log.timeline.oldest_seq or 0
                loaded = top - oldest + 1
                if loaded >= MEMORY_MARK and not marks:
                    marks.append(measure(loaded, page_s))
                if not log.timeline.has_older:
                    break
                start = time.perf_counter()
                log.action_older()  # what PageUp on the oldest message does
                await wait_until(
                    pilot,
                    lambda: (log.timeline.oldest_seq or 0) < oldest,  # noqa: B023
                    "an older page in the timeline",
                )
                await pilot.pause()  # and drawn
                page_s = time.perf_counter() - start
            marks.append(measure(top - (log.timeline.oldest_seq or 0) + 1, page_s))
        finally:
            tracemalloc.stop()
    if len(marks) < 2:
        raise SystemExit(f"the room held fewer than {MEMORY_MARK} messages")
    return marks[0], marks[-1]


def growth_by_file(before: MemoryPoint, after: MemoryPoint, top: int = 6) -> list[str]:
    """Per extra message, the files whose allocations grew most."""
    assert before.snapshot is not None and after.snapshot is not None
    extra = after.messages - before.messages
    lines = []
    for stat in after.snapshot.compare_to(before.snapshot, "filename")[:top]:
        name = stat.traceback[0].filename
        for prefix in ("site-packages/", f"{Path(__file__).resolve().parent.parent}/"):
            name = name.split(prefix)[-1]
        lines.append(f"    {stat.size_diff / extra:7.0f} B/message  {name}")
    return lines


@dataclass
class Dropped:
    """Coroutines the app dropped without running them, as Python reports them."""

    warnings: Counter[str] = field(default_factory=Counter)  # "coroutine ... never awaited"
    errors: int = 0  # errors raised while Python reported one ("Exception ignored in ...")

    def collect(self) -> None:
        """Count these reports for the summary instead of printing each."""
        show, unraisable = warnings.showwarning, sys.unraisablehook

        def showwarning(
            message: Warning | str,
            category: type[Warning],
            filename: str,
            lineno: int,
            file: TextIO | None = None,
            line: str | None = None,
        ) -> None:
            if category is RuntimeWarning and "was never awaited" in str(message):
                self.warnings[str(message)] += 1
            else:
                show(message, category, filename, lineno, file, line)

        def unraisablehook(report: Any) -> None:
            if inspect.iscoroutine(report.object):
                self.errors += 1
            else:
                unraisable(report)

        warnings.showwarning = showwarning
        sys.unraisablehook = unraisablehook

    def summary(self) -> str:
        if not self.warnings:
            return ""
        kinds = ", ".join(f"{n} x {message}" for message, n in self.warnings.most_common())
        return (
            f"note: coroutines dropped unrun by the app: {kinds}; and {self.errors} errors "
            "raised while Python reported them"
        )


DROPPED = Dropped()


# --- the run ------------------------------------------------------------------------------------


async def run(args: argparse.Namespace, url: str, profiles: Profiles) -> None:
    t0 = time.perf_counter()
    world = await build_world(url, args.friends, args.rooms, args.history)
    print(
        f"setup: {args.friends} friends, {args.rooms} rooms, {args.history} messages of history "
        f"in {time.perf_counter() - t0:.1f} s"
    )

    launches = [await launch_once(world, profiles) for _ in range(args.launches)]
    median = statistics.median(first for first, _ in launches)
    print(
        f"launch to the full first screen: median {median:.3f} s "
        f"({', '.join(f'{first:.3f}' for first, _ in launches)})   "
        f"goal <= {GOAL_LAUNCH_S:.0f} s: {verdict(median <= GOAL_LAUNCH_S)}"
    )
    print(
        f"  to the first room's messages: median "
        f"{statistics.median(room for _, room in launches):.3f} s; before either, a fresh "
        f"process imports the TUI in {import_seconds():.2f} s (with the interpreter's start)"
    )

    latencies = sorted(await draw_latencies(world, profiles, args.messages))
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    p99 = q[98] * 1000
    print(
        f"sent by another account to drawn, {len(latencies)} messages: p50 {q[49] * 1000:.1f} ms  "
        f"p99 {p99:.1f} ms  max {latencies[-1] * 1000:.1f} ms   "
        f"goal p99 <= {GOAL_DRAW_P99_MS:.0f} ms: {verdict(p99 <= GOAL_DRAW_P99_MS)}"
    )

    first, half, last = await live_memory(world, profiles, args.live)
    growth = (last.rss - half.rss) / (last.messages - half.messages)
    print(
        f"memory, messages coming live into the room on screen: RSS {first.rss / 2**20:.0f} MiB "
        f"at {first.messages}, {half.rss / 2**20:.0f} MiB at {half.messages}, "
        f"{last.rss / 2**20:.0f} MiB at {last.messages}: "
        f"{(half.rss - first.rss) / (half.messages - first.messages):.0f} B/message while "
        f"bounded caches fill, then {growth:.0f} B/message   goal flat (< "
        f"{GOAL_BYTES_PER_MESSAGE:.0f} B/message): {verdict(growth < GOAL_BYTES_PER_MESSAGE)}"
    )
    print(
        f"  the TUI took in {1 / first.seconds:.0f} messages/s up to {first.messages}, "
        f"{1 / last.seconds:.0f}/s from {half.messages} to {last.messages}"
    )

    before, after = await page_to_top(world, profiles)
    extra = after.messages - before.messages
    traced_growth = (after.traced - before.traced) / extra
    print(
        f"memory, paging to the top of {after.messages} messages (tracemalloc on): "
        f"{before.traced / 2**20:.1f} MiB traced at {before.messages}, "
        f"{after.traced / 2**20:.1f} MiB at {after.messages} = {traced_growth:.0f} B/message   "
        f"goal flat: {verdict(traced_growth < GOAL_BYTES_PER_MESSAGE)}"
    )
    print("  where it grew:")
    print("\n".join(growth_by_file(before, after)))
    print(
        f"  one older page, fetched and drawn: {before.seconds * 1000:.0f} ms with "
        f"{before.messages} messages shown, {after.seconds * 1000:.0f} ms with {after.messages}"
    )
    if DROPPED.summary():
        print(DROPPED.summary())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--friends", type=int, default=200)
    parser.add_argument("--rooms", type=int, default=50)
    parser.add_argument("--messages", type=int, default=200, help="live messages timed")
    parser.add_argument("--live", type=int, default=20_000, help="live messages kept")
    parser.add_argument("--history", type=int, default=10_000, help="messages paged through")
    parser.add_argument("--launches", type=int, default=3, help="fresh apps timed to first screen")
    args = parser.parse_args()
    DROPPED.collect()
    if (
        args.friends < 4
        or args.rooms < 3
        or args.messages < 2
        or min(args.live, args.history) <= MEMORY_MARK
    ):
        raise SystemExit(
            f"need 4+ friends, 3+ rooms, 2+ messages, {MEMORY_MARK + 1}+ live and history"
        )
    with tempfile.TemporaryDirectory(prefix="coope-bench-") as tmp:
        for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME"):
            os.environ[name] = str(Path(tmp) / name.lower())
        env = {k: v for k, v in os.environ.items() if not k.startswith("COOPE_")}
        profiles = Profiles(Path(tmp) / "xdg_config_home" / "coope" / "credentials.json")
        proc, url = start_daemon(Path(tmp) / "data", env, "--log-level", "warning")
        try:
            asyncio.run(run(args, url, profiles))
        finally:
            stop_daemon(proc)


if __name__ == "__main__":
    main()
