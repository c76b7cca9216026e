"""The invite page (/invite/{code}): over HTTP (statuses, content, escaping), and in headless
Chromium (its look at a desktop's and a phone's width, and joining from the browser)."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import async_playwright

from coope.client import CoopeClient
from coope.daemon.services import workspaces as workspace_service
from tests.conftest import DaemonFactory
from tests.helpers import PASSWORD, RunningDaemon
from tests.tools import require_tool

pytestmark = pytest.mark.timeout(120)

# Text a browser would run if the page put it in unescaped.
HOSTILE = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture
async def clocked(start_daemon: DaemonFactory) -> RunningDaemon:
    return await start_daemon(manual_clock=True)


@pytest.fixture
async def owner(clocked: RunningDaemon) -> AsyncIterator[CoopeClient]:
    async with await clocked.user("owner") as client:
        yield client


async def get(daemon: RunningDaemon, path: str) -> tuple[int, str, dict[str, str]]:
    async with aiohttp.ClientSession() as http, http.get(daemon.url + path) as response:
        return response.status, await response.text(), dict(response.headers)


async def test_the_page_names_the_workspace_and_the_command(
    clocked: RunningDaemon, owner: CoopeClient
) -> None:
    ws = await owner.workspaces.create("Team")
    invite = await owner.workspaces.invite(ws.id, "viewer", max_uses=5)

    status, body, headers = await get(clocked, f"/invite/{invite.code}")

    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["Cache-Control"] == "no-store"
    assert 'Join <span class="name">Team</span>' in body
    assert "<strong>viewer</strong>" in body
    assert "5 of 5 uses left" in body
    assert f"coope ws join {invite.code} --server {clocked.url}" in body
    assert f'data-code="{invite.code}"' in body


async def test_what_people_named_is_escaped(clocked: RunningDaemon, owner: CoopeClient) -> None:
    ws = await owner.workspaces.create(HOSTILE)
    invite = await owner.workspaces.invite(ws.id)

    status, body, _ = await get(clocked, f"/invite/{invite.code}")

    assert status == 200
    assert "<script>window.pwned" not in body and "<img src=x" not in body
    assert html.escape(HOSTILE, quote=True) in body


async def test_an_older_code_with_dashes_and_underscores_works(
    monkeypatch: pytest.MonkeyPatch, clocked: RunningDaemon, owner: CoopeClient
) -> None:
    """Codes were once `secrets.token_urlsafe`, with '-' and '_': those invites still work."""
    older = "-Old_style-code_9"
    monkeypatch.setattr(workspace_service, "_invite_code", lambda: older)
    ws = await owner.workspaces.create("Old friends")
    invite = await owner.workspaces.invite(ws.id, "viewer")
    assert invite.code == older

    status, body, _ = await get(clocked, f"/invite/{older}")

    assert status == 200
    assert 'Join <span class="name">Old friends</span>' in body
    # A code starting with '-' comes after `--`, where the command line reads no option.
    assert f"coope ws join --server {clocked.url} -- {older}" in body
    async with await clocked.user("joiner") as joiner:  # and the page tells no lie
        assert (await joiner.workspaces.join(older)).workspace.id == ws.id


async def test_a_code_that_never_was_is_404_as_a_page(clocked: RunningDaemon) -> None:
    for code in ("nosuchcode123456", "%3Cscript%3Ealert(1)%3C%2Fscript%3E", "x" * 500):
        status, body, headers = await get(clocked, f"/invite/{code}")

        assert status == 404, code
        assert headers["Content-Type"].startswith("text/html")
        assert "No such invite" in body
        assert "<script>alert" not in body


@pytest.mark.parametrize("ending", ["revoked", "expired", "used up"])
async def test_an_invite_that_stopped_working_is_410_and_says_why(
    clocked: RunningDaemon, owner: CoopeClient, ending: str
) -> None:
    ws = await owner.workspaces.create("Secret plans")
    invite = await owner.workspaces.invite(ws.id, expires_in_days=1, max_uses=1)
    if ending == "revoked":
        await owner.workspaces.revoke_invite(ws.id, invite.code)
    elif ending == "expired":
        assert clocked.clock is not None
        clocked.clock.advance(2 * 24 * 3600)
    else:
        async with await clocked.user("joiner") as joiner:
            await joiner.workspaces.join(invite.code)

    status, body, _ = await get(clocked, f"/invite/{invite.code}")

    assert status == 410
    assert "This invite no longer works" in body
    assert ending in body
    assert "Secret plans" not in body  # a dead link tells nothing of its workspace


async def test_looking_at_the_page_uses_no_invite(
    clocked: RunningDaemon, owner: CoopeClient
) -> None:
    ws = await owner.workspaces.create("Team")
    invite = await owner.workspaces.invite(ws.id, max_uses=1)

    for _ in range(3):
        assert (await get(clocked, f"/invite/{invite.code}"))[0] == 200

    assert [i.uses for i in await owner.workspaces.invites(ws.id)] == [0]


async def test_the_page_scripts_and_styles_are_served(clocked: RunningDaemon) -> None:
    for path, kind in (("/web/invite.js", "text/javascript"), ("/web/invite.css", "text/css")):
        status, _, headers = await get(clocked, path)
        assert (status, headers["Content-Type"].split(";")[0]) == (200, kind)


async def test_in_a_browser_it_reads_well_and_joins_after_signing_in(
    clocked: RunningDaemon, owner: CoopeClient, tmp_path: Path
) -> None:
    require_tool("chromium", CHROMIUM, hint="apt-get install chromium")
    ws = await owner.workspaces.create(f"Design team {HOSTILE}")
    invite = await owner.workspaces.invite(ws.id, "editor", max_uses=3)
    async with await clocked.user("guest"):
        pass  # an account, not yet in the workspace
    url = f"{clocked.url}/invite/{invite.code}"

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=False, args=["--headless=new", "--no-sandbox"]
        )
        try:
            errors: list[str] = []  # the script errors of the page being looked at
            for width, height in ((1280, 800), (390, 844)):
                page = await browser.new_page(viewport={"width": width, "height": height})
                errors.clear()
                page.on("pageerror", lambda error: errors.append(str(error)))
                await page.goto(url)
                await page.wait_for_selector("#signin:not([hidden])")
                # Nothing scrolls sideways, at either width.
                assert await page.evaluate("document.documentElement.scrollWidth") <= width
                await page.screenshot(path=str(tmp_path / f"invite-{width}.png"), full_page=True)
                assert await page.evaluate("window.pwned") is None
                assert errors == []
                await page.close()

            page = await browser.new_page()
            await page.goto(url)
            await page.fill("#user", "guest")
            await page.fill("#password", PASSWORD)
            await page.click("#join")
            outcome = page.locator("#outcome.ok")
            await outcome.wait_for()
            said = await outcome.text_content()
            # Signed in for the tab (the call page's key): a reload joins without asking again.
            await page.reload()
            await page.wait_for_selector("#signed-in:not([hidden])")
            assert await page.text_content("#username") == "guest"
        finally:
            await browser.close()

    assert said is not None and said.startswith("You joined Design team") and "editor" in said
    members = {m.username: m.role.value for m in await owner.workspaces.members(ws.id)}
    assert members["guest"] == "editor"
