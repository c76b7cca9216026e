"""`/invite/{code}`: the page an invite link (`coope ws invite`) opens in a browser.

It names the workspace and the role, and shows the command that joins (`coope ws join CODE
--server URL`). A code that does not work answers a page saying why: 404 for one that never
did, 410 once revoked, expired or used up. In the browser, `invite.js` joins with the sign-in
the tab keeps (the call page's) or after signing in on the page. Every value the page shows is
escaped, and its Content-Security-Policy lets it run its own script only.
"""

from __future__ import annotations

import html
import re
import shlex
from datetime import UTC, datetime
from functools import cache
from string import Template

from aiohttp import web
from pydantic import BaseModel

from coope.core.errors import Gone, NotFound
from coope.daemon.http.keys import SERVICES
from coope.daemon.http.routes import RouteTable
from coope.daemon.http.web_files import WEB_DIR, web_file
from coope.daemon.services.workspaces import InvitePreview

routes = RouteTable("web")
# What a code may be: up to what `coope ws join` takes (`JoinIn`), in the letters of codes made
# now (letters and digits) and of older ones (`secrets.token_urlsafe`: also '-' and '_').
_CODE = re.compile(r"[A-Za-z0-9_-]{1,200}")

HEADERS = {
    "Cache-Control": "no-store",  # an invite's state changes: never show an old answer
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self';"
        " img-src data:; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",  # the code is in the address: it goes nowhere else
}


class InvitePagePath(BaseModel):
    # Any text: a link that names no invite gets the page that says so, not a JSON error.
    code: str


@routes.get(
    "/invite/{code}",
    summary="The page of an invite link: the workspace, the role and the command that joins"
    " (404 or 410, as a page, when the code does not work).",
    params=InvitePagePath,
    raw_response="text/html",
    auth=False,
    also=(
        (404, "No such invite: a page that says so"),
        (410, "Revoked, expired or used up: a page that says which"),
    ),
)
async def invite_page(request: web.Request, params: InvitePagePath) -> web.StreamResponse:
    code = params.code.strip()
    try:
        looks_like_one = _CODE.fullmatch(code) is not None
        workspaces = request.app[SERVICES].workspaces
        preview = await workspaces.preview_invite(code) if looks_like_one else None
    except Gone as exc:
        return _page(
            "invite-gone.html", 410, title="This invite no longer works", reason=exc.message
        )
    except NotFound:
        preview = None
    if preview is None:
        return _page(
            "invite-gone.html",
            404,
            title="No such invite",
            reason="This link names no invite: check that it was copied whole.",
        )
    return _page("invite.html", 200, **_invite_fields(preview, code, _server(request)))


@routes.get(
    "/web/invite.js",
    summary="The invite page's script.",
    raw_response="text/javascript",
    auth=False,
)
async def invite_script(request: web.Request) -> web.StreamResponse:
    return web_file("invite.js", "text/javascript")


@routes.get(
    "/web/invite.css", summary="The invite page's styles.", raw_response="text/css", auth=False
)
async def invite_styles(request: web.Request) -> web.StreamResponse:
    return web_file("invite.css", "text/css")


def _invite_fields(preview: InvitePreview, code: str, server: str) -> dict[str, str]:
    invite = preview.invite
    limits = []
    if invite.max_uses is not None:
        left = invite.max_uses - invite.uses
        limits.append(f"{left} of {invite.max_uses} uses left")
    if invite.expires_at is not None:
        until = datetime.fromtimestamp(invite.expires_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
        limits.append(f"works until {until}")
    return {
        "workspace": preview.workspace.name,
        "role": invite.role.value,
        "limits": _sentence(limits) if limits else "It does not expire.",
        "code": code,
        "command": shlex.join(["coope", "ws", "join", *_join_arguments(code, server)]),
        "signup": shlex.join(["coope", "signup", "USERNAME", "--server", server]),
    }


def _join_arguments(code: str, server: str) -> list[str]:
    if code.startswith("-"):  # an older code: after `--` it is not read as an option
        return ["--server", server, "--", code]
    return [code, "--server", server]


def _sentence(parts: list[str]) -> str:
    text = ", ".join(parts)
    return text[:1].upper() + text[1:] + "."


def _server(request: web.Request) -> str:
    """The address this page was asked for: the one the CLI reaches the daemon at too."""
    return str(request.url.origin())


def _page(name: str, status: int, **fields: str) -> web.Response:
    escaped = {key: html.escape(value, quote=True) for key, value in fields.items()}
    body = _template(name).substitute(escaped)
    return web.Response(text=body, status=status, content_type="text/html", headers=HEADERS)


@cache
def _template(name: str) -> Template:
    return Template((WEB_DIR / name).read_text(encoding="utf-8"))
