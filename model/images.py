"""Turning image bytes into exactly what a network was trained on."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from model.errors import InputError

MAX_PIXELS = 40_000_000  # refuse decompression bombs long before PIL's own limit
# Modes a catalog image may have. CMYK, palette and 16-bit files are reported, not guessed at:
# their colours depend on profiles and palettes a shop should convert with its own tools.
CATALOG_MODES = frozenset({"RGB", "RGBA", "L", "LA"})


class ImageError(InputError):
    """The bytes are not an image Lookalike can embed."""


def open_image(data: bytes | Path) -> Image.Image:
    """Decode fully (so truncation shows here, not mid-batch) or raise :class:`ImageError`."""
    raw = data.read_bytes() if isinstance(data, Path) else data
    if not raw:
        raise ImageError("the image is empty (0 bytes): send a PNG or JPEG file.")
    try:
        img: Image.Image = Image.open(io.BytesIO(raw))
        if img.width * img.height > MAX_PIXELS:
            raise ImageError(
                f"the image is {img.width}x{img.height} pixels: too large to embed (at most "
                f"{MAX_PIXELS:,} pixels): send a smaller image."
            )
        img.load()
    except UnidentifiedImageError as exc:
        raise ImageError("not a readable image (unknown format): send a PNG or JPEG file.") from exc
    except Image.DecompressionBombError as exc:
        raise ImageError(
            f"the image decodes to too many pixels to embed (at most {MAX_PIXELS:,}): send a "
            "smaller image."
        ) from exc
    except (OSError, SyntaxError) as exc:
        raise ImageError(f"not a readable image ({exc}): send a PNG or JPEG file.") from exc
    return img


class BoxError(InputError):
    """A region to search that is not one: outside the image, inverted or empty."""


BOX_HELP = "x0,y0,x1,y1: fractions of the image's width and height, e.g. 0.1,0.2,0.6,0.9"


@dataclass(frozen=True)
class Box:
    """A region of an image, as fractions of its width and height (0,0 its top left)."""

    x0: float
    y0: float
    x1: float
    y1: float

    @classmethod
    def parse(cls, text: str) -> Box:
        """``x0,y0,x1,y1``; anything else, a box outside the image, inverted or empty, is
        refused naming it."""
        parts = text.replace(" ", "").split(",")
        try:
            x0, y0, x1, y1 = (float(p) for p in parts)
        except ValueError:
            raise BoxError(f"box wants {BOX_HELP}; got {text!r}.") from None
        if not all(math.isfinite(v) and 0.0 <= v <= 1.0 for v in (x0, y0, x1, y1)):
            raise BoxError(f"box {text!r} lies outside the image: give {BOX_HELP}.")
        if x0 > x1 or y0 > y1:
            raise BoxError(f"box {text!r} is inverted: x0 must be below x1 and y0 below y1.")
        if x0 == x1 or y0 == y1:
            raise BoxError(f"box {text!r} is empty: give it a width and a height.")
        return cls(x0, y0, x1, y1)

    def crop(self, img: Image.Image) -> Image.Image:
        """The region of ``img``, at least one pixel each way."""
        left, right = _span(self.x0, self.x1, img.width)
        top, bottom = _span(self.y0, self.y1, img.height)
        return img.crop((left, top, right, bottom))

    def __str__(self) -> str:
        return ",".join(f"{v:g}" for v in (self.x0, self.y0, self.x1, self.y1))


def _span(low: float, high: float, size: int) -> tuple[int, int]:
    start = min(math.floor(low * size), size - 1)
    return start, max(start + 1, math.ceil(high * size))


def _composite(img: Image.Image, background: tuple[int, int, int]) -> Image.Image:
    rgba = img.convert("RGBA")
    return Image.alpha_composite(Image.new("RGBA", rgba.size, (*background, 255)), rgba)


def decode(data: bytes | Path | Image.Image, size: int = 28) -> torch.Tensor:
    """PNG/JPEG/WebP bytes or a file -> uint8 [size, size] grayscale, like a Fashion-MNIST item.

    Any mode (RGB, RGBA, palette, CMYK, 16-bit) is converted to 8-bit grayscale, transparency
    composited on black (Fashion-MNIST's background), and the image resized to ``size``.
    """
    img = data if isinstance(data, Image.Image) else open_image(data)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        img = _composite(img, (0, 0, 0))
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        span = max(float(arr.max() - arr.min()), 1.0)
        img = Image.fromarray(((arr - arr.min()) / span * 255).astype(np.uint8))
    gray = img.convert("L").resize((size, size), Image.Resampling.BILINEAR)
    return torch.from_numpy(np.array(gray, dtype=np.uint8))


def check_catalog_image(img: Image.Image) -> None:
    """Refuse the modes a catalog may not use, naming the fix."""
    if img.mode not in CATALOG_MODES:
        raise ImageError(
            f"unsupported mode {img.mode} (8-bit RGB, RGBA, L or LA only): convert it to RGB."
        )


def decode_rgb(data: bytes | Path | Image.Image, size: int, channels: int = 3) -> torch.Tensor:
    """A product photo -> uint8 [channels, size, size].

    The image is padded to a square with white before resizing, rather than centre-cropped,
    because product shots are often tall or wide and a crop cuts the product itself; white is
    the usual product-shot background, and transparency is composited onto it too.
    """
    img = data if isinstance(data, Image.Image) else open_image(data)
    check_catalog_image(img)
    if img.mode in ("RGBA", "LA"):
        img = _composite(img, (255, 255, 255))
    img = img.convert("RGB")
    side = max(img.width, img.height)
    square = Image.new("RGB", (side, side), (255, 255, 255))
    square.paste(img, ((side - img.width) // 2, (side - img.height) // 2))
    square = square.resize((size, size), Image.Resampling.BILINEAR)
    if channels == 1:
        square = square.convert("L")
    arr = np.array(square, dtype=np.uint8).reshape(size, size, channels)
    return torch.from_numpy(arr).permute(2, 0, 1).contiguous()
