"""Covers: decoded for real and re-encoded, so that only pixels the daemon wrote are served."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from blockbuster import blockbuster_ctx
from PIL import Image, PngImagePlugin

from coope.client import CoopeClient
from coope.core.errors import InvalidInput, NotFound, PayloadTooLarge
from coope.daemon.services.cover_images import COVER_MAX_PIXELS, COVER_MAX_SIDE
from tests.helpers import RunningDaemon

SCRIPT = b"<html><script>alert(document.cookie)</script></html>"


@dataclass
class Page:
    daemon: RunningDaemon
    id: int
    editor: CoopeClient
    outsider: CoopeClient


@pytest.fixture
async def page(daemon: RunningDaemon, admin: CoopeClient) -> AsyncIterator[Page]:
    async with await daemon.user("eddie") as editor, await daemon.user("otto") as outsider:
        ws = await editor.workspaces.create("Covers")
        created = await editor.pages.create(ws.id, "With cover")
        yield Page(daemon, created.id, editor, outsider)


def encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def gradient(size: tuple[int, int] = (40, 30), mode: str = "RGB") -> Image.Image:
    image = Image.new("RGB", size)
    image.putdata([(x * 6 % 256, y * 8 % 256, 90) for y in range(size[1]) for x in range(size[0])])
    return image.convert(mode)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = struct.pack(">I", zlib.crc32(kind + data))
    return struct.pack(">I", len(data)) + kind + data + crc


def png_claiming(width: int, height: int, idat: bytes) -> bytes:
    """A PNG whose header claims `width`x`height` RGB pixels, with `idat` as its data."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


async def stored_covers(daemon: RunningDaemon) -> list[str]:
    """The names of the cover images the database holds."""
    return [name for (name,) in await daemon.sql("SELECT name FROM cover_images ORDER BY name")]


async def served(page: Page, client: CoopeClient | None = None) -> tuple[bytes, str]:
    """The cover's bytes and content type, as a browser would get them."""
    token = (client or page.editor).token
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"{page.daemon.url}/api/v1/pages/{page.id}/cover",
            headers={"Authorization": f"Bearer {token}"},
        ) as response,
    ):
        assert response.status == 200, await response.text()
        return await response.read(), response.headers["Content-Type"]


# --- what is accepted, and how it is stored ---------------------------------------------------


async def test_png_is_reencoded_without_metadata_or_trailing_bytes(page: Page) -> None:
    original = gradient(mode="RGBA")
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "taken at 51.5007N 0.1246W")
    upload = encoded(original, "PNG", pnginfo=text) + SCRIPT  # bytes after IEND are ignored
    assert (await page.editor.pages.set_cover(page.id, upload)).has_cover
    data, content_type = await served(page)
    assert content_type == "image/png"
    assert data != upload
    assert b"51.5007N" not in data and b"<script" not in data
    with Image.open(io.BytesIO(data)) as stored:
        assert (stored.format, stored.size, stored.mode) == ("PNG", original.size, "RGBA")
        assert stored.text == {}
        assert stored.tobytes() == original.tobytes()  # lossless: the same pixels


@pytest.mark.parametrize(
    ("fmt", "options", "stored_format", "suffix", "content_type"),
    [
        ("JPEG", {"quality": 95}, "JPEG", ".jpg", "image/jpeg"),
        ("WEBP", {"lossless": True}, "WEBP", ".webp", "image/webp"),
        ("GIF", {}, "PNG", ".png", "image/png"),
    ],
)
async def test_other_formats_are_stored_as_documented(
    page: Page,
    fmt: str,
    options: dict[str, object],
    stored_format: str,
    suffix: str,
    content_type: str,
) -> None:
    upload = encoded(gradient(), fmt, **options)
    await page.editor.pages.set_cover(page.id, upload)
    data, served_type = await served(page)
    assert served_type == content_type
    with Image.open(io.BytesIO(data)) as stored:
        assert (stored.format, stored.size) == (stored_format, (40, 30))
    assert [name[name.index(".") :] for name in await stored_covers(page.daemon)] == [suffix]


async def test_jpeg_is_turned_upright_and_loses_its_exif(page: Page) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: the camera was turned, display rotated 90° clockwise
    exif[0x010F] = "Phone Maker"
    upload = encoded(gradient((40, 20)), "JPEG", exif=exif.tobytes())
    await page.editor.pages.set_cover(page.id, upload)
    data, _ = await served(page)
    assert b"Phone Maker" not in data
    with Image.open(io.BytesIO(data)) as stored:
        assert stored.size == (20, 40)
        assert dict(stored.getexif()) == {}


async def test_large_covers_are_scaled_down(page: Page) -> None:
    await page.editor.pages.set_cover(page.id, encoded(Image.new("RGB", (5000, 50)), "PNG"))
    data, _ = await served(page)
    with Image.open(io.BytesIO(data)) as stored:
        assert stored.size == (COVER_MAX_SIDE, 41)


async def test_only_members_get_the_cover(page: Page) -> None:
    await page.editor.pages.set_cover(page.id, encoded(gradient(), "PNG"))
    with pytest.raises(NotFound):
        await page.outsider.pages.cover(page.id)


async def test_replacing_and_clearing_remove_the_old_images(page: Page) -> None:
    await page.editor.pages.set_cover(page.id, encoded(gradient(), "PNG"))
    await page.editor.pages.set_cover(page.id, encoded(gradient(), "WEBP"))
    assert [name.rsplit(".")[1] for name in await stored_covers(page.daemon)] == ["webp"]
    assert not (await page.editor.pages.clear_cover(page.id)).has_cover
    assert await stored_covers(page.daemon) == []


async def test_pages_showing_one_picture_share_it_until_the_last_lets_go(page: Page) -> None:
    picture = encoded(gradient(), "PNG")
    other = await page.editor.pages.create((await page.editor.pages.get(page.id)).workspace_id, "B")
    await page.editor.pages.set_cover(page.id, picture)
    await page.editor.pages.set_cover(other.id, picture)
    assert len(await stored_covers(page.daemon)) == 1
    await page.editor.pages.clear_cover(page.id)
    assert (await served(Page(page.daemon, other.id, page.editor, page.outsider)))[0]
    await page.editor.pages.archive(other.id)
    await page.editor.pages.delete(other.id)  # for good, from the trash
    assert await stored_covers(page.daemon) == []


# --- what is refused --------------------------------------------------------------------------


def _truncated_png() -> bytes:
    whole = encoded(gradient(), "PNG")
    return whole[: len(whole) // 2]


@pytest.mark.parametrize(
    "upload",
    [
        pytest.param(b"\x89PNG\r\n\x1a\n" + SCRIPT, id="html-behind-a-png-signature"),
        pytest.param(b"\xff\xd8\xff\xe0" + SCRIPT, id="html-behind-a-jpeg-signature"),
        pytest.param(b"GIF89a" + SCRIPT, id="html-behind-a-gif-signature"),
        pytest.param(b"RIFF\x1a\x00\x00\x00WEBPVP8 " + b"\x00" * 20, id="webp-header-only"),
        pytest.param(_truncated_png(), id="truncated-png"),
        pytest.param(b"GIF8", id="truncated-magic"),
        pytest.param(b"#!/bin/sh\necho not an image\n", id="script"),
        pytest.param(encoded(gradient(), "BMP"), id="bmp"),
        pytest.param(encoded(gradient(), "TIFF"), id="tiff"),
    ],
)
async def test_what_is_not_a_whole_image_is_refused(page: Page, upload: bytes) -> None:
    with pytest.raises(InvalidInput, match="PNG, JPEG, GIF or WebP"):
        await page.editor.pages.set_cover(page.id, upload)
    assert not (await page.editor.pages.get(page.id)).has_cover
    assert await stored_covers(page.daemon) == []


def _zlib_bomb(width: int, height: int) -> bytes:
    """Real pixel data for `width`x`height` black RGB pixels: a few kB that inflate to MBs."""
    packer = zlib.compressobj(9)
    row = b"\x00" * (1 + 3 * width)
    return b"".join(packer.compress(row) for _ in range(height)) + packer.flush()


@pytest.mark.parametrize(
    ("width", "height", "idat"),
    [
        # Above our bound, below Pillow's own guard: refused by the header check.
        pytest.param(6000, 6000, _zlib_bomb(6000, 6000), id="36-megapixels"),
        # Far above Pillow's guard, which fires while the header is read.
        pytest.param(100_000, 100_000, zlib.compress(b"\x00" * 1024), id="10-gigapixels"),
    ],
)
async def test_decompression_bombs_are_refused_before_decoding(
    page: Page, width: int, height: int, idat: bytes
) -> None:
    upload = png_claiming(width, height, idat)
    assert len(upload) < 200_000
    with pytest.raises(InvalidInput, match=f"at most {COVER_MAX_PIXELS:,} pixels"):
        await page.editor.pages.set_cover(page.id, upload)
    assert not (await page.editor.pages.get(page.id)).has_cover


async def test_too_many_bytes_is_413(page: Page) -> None:
    with pytest.raises(PayloadTooLarge):
        await page.editor.pages.set_cover(page.id, b"\x00" * (5 * 1024 * 1024 + 1))


async def test_covers_do_not_block_the_loop(page: Page) -> None:
    with blockbuster_ctx("coope"):
        await page.editor.pages.set_cover(page.id, encoded(gradient((800, 600)), "JPEG"))
        assert await page.editor.pages.cover(page.id)
