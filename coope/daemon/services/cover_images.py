"""Cover images: decoded for real and re-encoded, never stored or served as uploaded.

Looking at an upload's first bytes says nothing about the rest: an HTML page behind a PNG
signature passes a signature check and is then served as an image. So a cover is decoded with
Pillow, and only the pixels are kept: they are written out again as a new file, which drops
whatever else the upload carried (metadata such as EXIF locations, comments, trailing bytes).

    upload       stored as
    PNG          PNG
    JPEG         JPEG (quality 90; EXIF orientation applied first, so photos stay upright)
    WebP         WebP (quality 90)
    GIF          PNG, first frame only (a cover does not move)

Sizes are bounded twice: the header's dimensions are checked before any pixel is decoded (a few
kilobytes of PNG can claim billions of pixels), then the image is scaled down to fit
`COVER_MAX_SIDE`. Decoding is CPU work: callers run `reencode_cover` in a worker thread.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageOps

from coope.core.errors import InvalidInput

COVER_MAX_PIXELS = 25_000_000
COVER_MAX_SIDE = 4096
QUALITY = 90

# Upload format (Pillow's name) -> (stored format, file extension). Pillow is only ever asked
# to read these four: none of its other readers (some of which run outside programs) is used.
_OUTPUT = {
    "PNG": ("PNG", "png"),
    "JPEG": ("JPEG", "jpg"),
    "WEBP": ("WEBP", "webp"),
    "GIF": ("PNG", "png"),
}
# Modes each stored format is written in; anything else is converted first.
_MODES = {"PNG": ("L", "LA", "RGB", "RGBA"), "JPEG": ("L", "RGB"), "WEBP": ("RGB", "RGBA")}
COVER_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp", "gif": "image/gif"}
"""Content type by stored extension (`gif` only for covers stored before re-encoding)."""

_NOT_AN_IMAGE = "a cover must be a PNG, JPEG, GIF or WebP image"


@dataclass(frozen=True)
class EncodedCover:
    data: bytes
    ext: str


def reencode_cover(data: bytes) -> EncodedCover:
    """Decode an uploaded cover and encode its pixels again.

    Raises:
        InvalidInput: The bytes are not a whole PNG, JPEG, GIF or WebP image, or the image has
            more than `COVER_MAX_PIXELS` pixels.
    """
    try:
        with Image.open(io.BytesIO(data), formats=list(_OUTPUT)) as image:
            _check_size(image.size)
            stored_format, ext = _OUTPUT[str(image.format)]
            # `draft` lets the JPEG decoder scale down while decoding: less work for big photos.
            image.draft(image.mode, (COVER_MAX_SIDE, COVER_MAX_SIDE))
            image.load()  # an animation's first frame
            pixels = _upright(image)
    except InvalidInput:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own guard, far above ours, may fire while reading the header.
        raise InvalidInput(f"a cover can have at most {COVER_MAX_PIXELS:,} pixels") from exc
    except Exception as exc:
        # The bytes come from anyone: whatever a decoder raises on them (OSError, SyntaxError,
        # struct.error...) means they are not an image it can read.
        raise InvalidInput(_NOT_AN_IMAGE) from exc
    modes = _MODES[stored_format]
    # A palette or a transparent colour (`info["transparency"]`) becomes an alpha channel.
    if pixels.mode not in modes or "transparency" in pixels.info:
        transparent = pixels.mode in ("RGBA", "LA", "PA") or "transparency" in pixels.info
        pixels = pixels.convert("RGBA" if transparent and "RGBA" in modes else "RGB")
    pixels.thumbnail((COVER_MAX_SIDE, COVER_MAX_SIDE))
    # Nothing of the upload's metadata (EXIF, ICC profile, text chunks, comments) is written:
    # savers fall back to `info` for some of it, so it is emptied.
    pixels.info = {}
    out = io.BytesIO()
    if stored_format == "PNG":
        pixels.save(out, "PNG")
    else:
        pixels.save(out, stored_format, quality=QUALITY)
    return EncodedCover(out.getvalue(), ext)


def _check_size(size: tuple[int, int]) -> None:
    width, height = size
    if width * height > COVER_MAX_PIXELS:
        raise InvalidInput(
            f"a cover can have at most {COVER_MAX_PIXELS:,} pixels; this one is {width}x{height}"
        )


def _upright(image: Image.Image) -> Image.Image:
    """The pixels as a new image, turned as the EXIF orientation says (phones rely on it)."""
    turned = ImageOps.exif_transpose(image)
    return image.copy() if turned is None else turned
