"""The browser call page (/call/{room_id}) in real Chromium processes, through the real SFU.

Each browser is its own Chromium process with a fresh profile, using Chromium's fake camera
(a moving test pattern), fake microphone (a beep) and, for getDisplayMedia, its fake picker
(--use-fake-ui-for-media-stream picks the whole screen, which headless Chromium does capture).
The page's `window.coope.stats()` reads what each receive slot decoded from `getStats()`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright

from coope.client import CoopeClient
from coope.core.events import CallRecording, CallRecordingData
from coope.daemon.bus import user_topic
from coope.daemon.http.keys import SERVICES
from tests.daemon.callclient import CallClient
from tests.daemon.social_helpers import group_room
from tests.helpers import PASSWORD, DaemonProcess, RunningDaemon, assert_eventually
from tests.tools import require_tool

# Headless Chromium pages joining calls: minutes on a busy machine.
pytestmark = pytest.mark.timeout(180)

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT = Path("/tmp/call.png")
MEDIA_TIMEOUT = 20
# Chromium logs failed requests as console errors; the tests look at those through behaviour.
NETWORK_NOISE = ("Failed to load resource", "WebSocket connection to")


@pytest.fixture
async def call_daemon(start_daemon) -> RunningDaemon:  # type: ignore[no-untyped-def]
    require_tool("chromium", CHROMIUM, hint="apt-get install chromium")
    return await start_daemon(ice_hosts=("127.0.0.1",))


@asynccontextmanager
async def browsers(count: int) -> AsyncIterator[list[Browser]]:
    """`count` separate Chromium processes (each `launch` has its own temporary profile)."""
    async with async_playwright() as pw:
        launched: list[Browser] = []
        try:
            for _ in range(count):
                launched.append(
                    await pw.chromium.launch(
                        executable_path=str(CHROMIUM), headless=False, args=FLAGS
                    )
                )
            yield launched
        finally:
            for browser in launched:
                await browser.close()


class CallPage:
    """One browser tab on the call page, with the script errors it raised."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", self._console)

    def _console(self, message: Any) -> None:
        if message.type == "error" and not message.text.startswith(NETWORK_NOISE):
            self.errors.append(message.text)

    @classmethod
    async def open(cls, browser: Browser, url: str) -> CallPage:
        page = await browser.new_page(viewport={"width": 1100, "height": 720})
        call = cls(page)
        await page.goto(url)
        await page.wait_for_function("window.coope !== undefined")
        return call

    async def wait(self, expression: str, timeout: float = 10) -> None:
        await self.page.wait_for_function(expression, timeout=timeout * 1000)

    async def join(self) -> None:
        """Join, and wait for the media connection (the SFU closing a peer connection whose ICE
        checks are still running leaves an aioice consent task behind)."""
        await self.page.click("#join")
        await self.wait("coope.state.phase === 'in-call' && coope.state.media === 'connected'")

    async def received(self, user: str, kind: str, source: str | None = None) -> dict[str, int]:
        """What the page got from `user`'s tracks of `kind`, summed over its receive slots."""
        stats: list[dict[str, Any]] = await self.page.evaluate("coope.stats()")
        mine = [
            s
            for s in stats
            if s["user"] == user and s["kind"] == kind and source in (None, s["source"])
        ]
        return {
            "frames": sum(s["framesDecoded"] for s in mine),
            "bytes": sum(s["bytesReceived"] for s in mine),
        }

    def rising(
        self, user: str, kind: str, source: str | None = None
    ) -> Callable[[], Awaitable[bool]]:
        """A condition: the frames decoded (video) or bytes received (audio) from `user` grew
        past a floor and since the first check."""
        key, floor = ("frames", 10) if kind == "video" else ("bytes", 4000)
        first: list[int] = []

        async def check() -> bool:
            now = (await self.received(user, kind, source))[key]
            first.append(now)
            return now > floor and now > first[0]

        return check

    async def texts(self, selector: str) -> list[str]:
        return await self.page.locator(selector).all_inner_texts()


async def open_call(
    browser: Browser, daemon: RunningDaemon | DaemonProcess, room_id: int, who: CoopeClient
) -> CallPage:
    call = await CallPage.open(browser, f"{daemon.url}/call/{room_id}?token={who.token}")
    await call.wait("coope.state.phase === 'prejoin'")
    return call


async def all_of(*conditions: Callable[[], Awaitable[bool]]) -> bool:
    return all([await c() for c in conditions])


async def test_two_browsers_and_an_aiortc_peer_see_and_hear_each_other(
    call_daemon: RunningDaemon,
) -> None:
    alice, bob, notes = [await call_daemon.user(n) for n in ("alice", "bob", "scribe")]
    room = await group_room(alice, "standup", [bob, notes])
    robot = CallClient(notes, room.id)
    try:
        async with browsers(2) as (browser_a, browser_b):
            a = await open_call(browser_a, call_daemon, room.id, alice)
            b = await open_call(browser_b, call_daemon, room.id, bob)
            assert "token=" not in a.page.url  # kept in sessionStorage, out of the history
            await a.join()
            await b.join()
            both_ways = [
                a.rising("bob", "video"),
                a.rising("bob", "audio"),
                b.rising("alice", "video"),
                b.rising("alice", "audio"),
            ]
            await assert_eventually(lambda: all_of(*both_ways), MEDIA_TIMEOUT, interval=0.25)
            for page in (a, b):  # the sound is played, not only received
                await page.wait(
                    "[...document.querySelectorAll('#audio-sinks audio')]"
                    ".every(a => !a.paused && a.srcObject.getAudioTracks().length === 1)"
                )

            # The two-person call as a person sees it: named tiles with pictures, controls.
            await a.wait("document.querySelectorAll('#grid .tile:not(.no-video)').length === 2")
            await a.page.screenshot(path=SCREENSHOT)
            assert await a.texts("#grid .tile .name") == ["alice (you)", "bob"]
            assert await a.texts("#controls button") == [
                "Mute",
                "Stop video",
                "Share screen",
                "Full screen",
                "Leave",
            ]
            assert await a.page.locator("#recording-banner").is_hidden()

            # A third participant, the aiortc client: a tone and colour bars. It joins as a
            # recording participant, so every page shows the call as recorded.
            await robot.connect()
            assert (await robot.join(recording=True)).data.recording == ["scribe"]
            await robot.start_media()
            await assert_eventually(
                lambda: all(
                    robot.frames_from(user, kind) > 10
                    for user in ("alice", "bob")
                    for kind in ("audio", "video")
                ),
                MEDIA_TIMEOUT,
            )
            from_robot = [a.rising("scribe", "video"), b.rising("scribe", "video")]
            await assert_eventually(lambda: all_of(*from_robot), MEDIA_TIMEOUT, interval=0.25)
            for page in (a, b):
                await page.wait("!document.getElementById('recording-banner').hidden")
                rec = page.page.locator('.tile[data-user="scribe"] .rec')
                assert await rec.is_visible()

            # Alice shares her screen: bob and the robot need another video slot each
            # (call.renegotiate), then decode it, labelled as a screen.
            await a.page.click("#screen")
            await a.wait("coope.state.sharing === true")
            await assert_eventually(a.rising("bob", "video"), MEDIA_TIMEOUT, interval=0.25)
            await assert_eventually(
                b.rising("alice", "video", "screen"), MEDIA_TIMEOUT, interval=0.25
            )
            await assert_eventually(
                lambda: robot.frames_from("alice", "video", "screen") > 5, MEDIA_TIMEOUT
            )
            assert await b.texts(".tile.screen .name") == ["alice (screen)"]
            assert await a.texts(".tile.screen .name") == ["alice (your screen)"]

            # She stops sharing: the SFU ends that publication and everyone's screen tile goes.
            await a.page.click("#screen")
            await a.wait("coope.state.sharing === false")
            await b.wait("document.querySelectorAll('.tile.screen').length === 0")
            await assert_eventually(
                lambda: all(
                    t.source != "screen" or t.user != "alice" for t in robot.tracks.values()
                ),
                MEDIA_TIMEOUT,
            )
            # And shares again, on the same m-line (Chromium sent an RTCP BYE when it paused).
            await a.page.click("#screen")
            await a.wait("coope.state.sharing === true")
            await assert_eventually(
                b.rising("alice", "video", "screen"), MEDIA_TIMEOUT, interval=0.25
            )
            shown = robot.frames_from("alice", "video", "screen")
            await assert_eventually(
                lambda: robot.frames_from("alice", "video", "screen") > shown + 5, MEDIA_TIMEOUT
            )

            # A `call.recording` event flags someone whatever their name.
            bob_id = (await bob.auth.whoami()).user.id
            recording = CallRecordingData(room_id=room.id, user="bob", active=True)
            event = CallRecording(data=recording)
            await call_daemon.app[SERVICES].bus.publish([user_topic(bob_id)], event)
            await b.wait("coope.state.recording.has('bob')")
            assert await b.page.locator('.tile[data-user="bob"] .rec').is_visible()

            # Muting turns the track off, not the m-line.
            await a.page.click("#mic")
            assert await a.page.evaluate("coope.state.micOn") is False
            assert await a.texts("#mic") == ["Unmute"]
            assert await a.page.locator(".tile.self .muted-mic").is_visible()

            # Bob leaves: everyone else sees him go.
            await b.page.click("#leave")
            await b.wait("coope.state.phase === 'left'")
            left = await robot.expect("call.participant_left")
            assert (left.data.user, left.data.reason) == ("bob", "left")
            await a.wait("document.querySelector('.tile[data-user=\"bob\"]') === null")

            for page in (a, b):
                assert page.errors == []
            await robot.leave()
    finally:
        await robot.aclose()
        for client in (alice, bob, notes):
            await client.aclose()


async def test_signing_in_and_refusing_non_members(call_daemon: RunningDaemon) -> None:
    alice, bob, carol = [await call_daemon.user(n) for n in ("alice", "bob", "carol")]
    room = await group_room(alice, "private", [bob])
    try:
        async with browsers(1) as (browser,):
            # No token in the link: the sign-in form, then the refusal for a non-member.
            outsider = await CallPage.open(browser, f"{call_daemon.url}/call/{room.id}")
            await outsider.wait("coope.state.phase === 'signin'")
            await outsider.page.fill("#username", "carol")
            await outsider.page.fill("#password", "wrong password")
            await outsider.page.click("#signin-button")
            await outsider.wait("document.getElementById('signin-error').textContent !== ''")
            await outsider.page.fill("#password", PASSWORD)
            await outsider.page.click("#signin-button")
            await outsider.wait("coope.state.phase === 'refused'")
            assert await outsider.page.locator("#notice-text").is_visible()
            assert "not a member of this room" in await outsider.page.inner_text("#notice-text")
            for hidden in ("#prejoin", "#call", "#signin"):
                assert await outsider.page.locator(hidden).is_hidden()

            # A member who is removed between opening the page and joining: the daemon's refusal
            # of call.join is shown the same way.
            member = await open_call(browser, call_daemon, room.id, bob)
            # The pre-join screen: the devices to choose from, and a live preview.
            assert await member.texts("#camera option") == ["fake_device_0", "No camera"]
            assert "No microphone" in await member.texts("#microphone option")
            await member.wait("document.getElementById('preview').videoWidth > 0")
            await alice.chat.remove_member(room.id, "bob")
            await member.page.click("#join")
            await member.wait("coope.state.phase === 'refused'")
            assert "not a member of this room" in await member.page.inner_text("#notice-text")
            for page in (outsider, member):
                assert page.errors == []
    finally:
        for client in (alice, bob, carol):
            await client.aclose()


async def test_joining_from_another_device_moves_the_call(call_daemon: RunningDaemon) -> None:
    alice, bob = [await call_daemon.user(n) for n in ("alice", "bob")]
    room = await group_room(alice, "standup", [bob])
    phone = call_daemon.client()
    await phone.auth.login("alice", PASSWORD)
    other_device = CallClient(phone, room.id)
    try:
        async with browsers(1) as (browser,):
            laptop = await open_call(browser, call_daemon, room.id, alice)
            await laptop.join()
            await other_device.connect()
            assert (await other_device.join(takeover=True)).type == "call.joined"
            await laptop.wait("coope.state.phase === 'kicked'")
            assert "moved to another device" in await laptop.page.inner_text("#notice-text")
            # ... and the page does not try to take it back by itself.
            assert await laptop.page.evaluate("coope.state.joins") == 1
            assert laptop.errors == []
    finally:
        await other_device.aclose()
        for client in (alice, bob, phone):
            await client.aclose()


class Cable:
    """A TCP forwarder in front of the daemon that the test can cut like a network cable: open
    connections are reset, new ones refused, until it is mended. (Chromium's offline emulation
    leaves open websockets alone, so it cannot stand in for a drop.)"""

    def __init__(self, daemon_url: str) -> None:
        host, port = daemon_url.removeprefix("http://").split(":")
        self._target = (host, int(port))
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self._pipes: set[asyncio.Task[None]] = set()
        self.connected = True
        self.url = ""

    async def start(self) -> Cable:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.connected:
            writer.transport.abort()
            return
        up_reader, up_writer = await asyncio.open_connection(*self._target)
        self._open |= {writer, up_writer}
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(source, sink))
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        except OSError:
            pass
        finally:
            sink.transport.abort()
            self._open.discard(sink)

    def cut(self) -> None:
        self.connected = False
        for writer in list(self._open):
            writer.transport.abort()

    def mend(self) -> None:
        self.connected = True

    async def aclose(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._pipes):
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)


async def test_the_page_reconnects_after_a_network_drop(call_daemon: RunningDaemon) -> None:
    alice, bob = [await call_daemon.user(n) for n in ("alice", "bob")]
    room = await group_room(alice, "standup", [bob])
    robot = CallClient(bob, room.id)
    cable = await Cable(call_daemon.url).start()
    try:
        async with browsers(1) as (browser,):
            page = await CallPage.open(browser, f"{cable.url}/call/{room.id}?token={alice.token}")
            await page.wait("coope.state.phase === 'prejoin'")
            await page.join()
            await robot.connect()
            await robot.join()
            await robot.start_media()
            await assert_eventually(page.rising("bob", "video"), MEDIA_TIMEOUT, interval=0.25)
            await assert_eventually(lambda: robot.frames_from("alice", "video") > 10, MEDIA_TIMEOUT)

            cable.cut()
            left = await robot.expect("call.participant_left")
            assert (left.data.user, left.data.reason) == ("alice", "disconnected")
            await page.wait("coope.state.phase === 'reconnecting'")
            assert "reconnecting in" in await page.page.inner_text("#status")
            # Retries fail while the cable is cut, then one gets through.
            await page.wait("coope.state.reconnectAttempt >= 2")
            cable.mend()
            await page.wait(
                "coope.state.joins === 2 && coope.state.media === 'connected'", timeout=15
            )
            await robot.expect("call.participant_joined")
            before = robot.frames_from("alice", "video")
            await assert_eventually(page.rising("bob", "video"), MEDIA_TIMEOUT, interval=0.25)
            await assert_eventually(
                lambda: robot.frames_from("alice", "video") > before + 10, MEDIA_TIMEOUT
            )
            assert page.errors == []
    finally:
        await cable.aclose()
        await robot.aclose()
        for client in (alice, bob):
            await client.aclose()


async def test_subscribers_are_told_when_a_publisher_leaves(call_daemon: RunningDaemon) -> None:
    alice, bob = [await call_daemon.user(n) for n in ("alice", "bob")]
    room = await group_room(alice, "standup", [bob])
    robot = CallClient(bob, room.id)
    try:
        async with browsers(1) as (browser,):
            page = await open_call(browser, call_daemon, room.id, alice)
            await page.join()
            await robot.connect()
            await robot.join()
            await robot.start_media()
            await assert_eventually(lambda: robot.frames_from("alice", "video") > 5, MEDIA_TIMEOUT)
            await page.page.click("#leave")
            assert (await robot.expect("call.participant_left")).data.user == "alice"
            await assert_eventually(lambda: robot.tracks == {}, 3)
    finally:
        await robot.aclose()
        for client in (alice, bob):
            await client.aclose()


async def test_a_link_that_names_no_room_gets_the_pages_own_message(
    call_daemon: RunningDaemon,
) -> None:
    async with browsers(1) as (browser,):
        for tail in ("abc", "0", "-3", "1e3", "99999999999999999999999", "%3Cb%3Ex%3C%2Fb%3E"):
            page = await browser.new_page()
            try:
                response = await page.goto(f"{call_daemon.url}/call/{tail}")
                assert response is not None
                assert (response.status, response.headers["content-type"]) == (
                    200,
                    "text/html",
                ), tail
                await page.wait_for_function("window.coope?.state.phase === 'refused'")
                assert "No such room" in await page.inner_text("#notice-text"), tail
                assert await page.title() == "No such room · coope"
            finally:
                await page.close()


async def test_a_member_removed_during_the_call_is_told_and_leaves_it(
    call_daemon: RunningDaemon,
) -> None:
    alice, bob = [await call_daemon.user(n) for n in ("alice", "bob")]
    room = await group_room(alice, "standup", [bob])
    try:
        async with browsers(1) as (browser,):
            member = await open_call(browser, call_daemon, room.id, bob)
            await member.join()
            await alice.chat.remove_member(room.id, "bob")
            await member.wait("coope.state.phase === 'refused'")
            assert "no longer a member" in await member.page.inner_text("#notice-text")
            assert await member.page.locator("#notice-action").is_hidden()
            assert await alice.calls.list() == []
            assert member.errors == []
    finally:
        for client in (alice, bob):
            await client.aclose()
