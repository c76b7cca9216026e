"""The browser pages' files: plain files from coope/daemon/web/, no build step. Each file is its
own declared route (so the OpenAPI document lists every route served, each with the type it is
served as) and nothing else of the folder is served."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

WEB_DIR = Path(__file__).parent.parent / "web"


def web_file(name: str, content_type: str) -> web.StreamResponse:
    return web.FileResponse(
        WEB_DIR / name, headers={"Cache-Control": "no-cache", "Content-Type": content_type}
    )
