"""Turning image bytes into exactly what a network was trained on."""

from __future__ import annotations

import io
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


def _composite(img: Image.Image, background: tuple[int, int, int]) -> Image.Image:
    rgba = img.convert("RGBA")
    return Image.alpha_composite(Image.new("RGBA", rgba.size, (*background, 255)), rgba)


def decode(data: bytes | Path, size: int = 28) -> torch.Tensor:
    """PNG/JPEG/WebP bytes or a file -> uint8 [size, size] grayscale, like a Fashion-MNIST item.

    Any mode (RGB, RGBA, palette, CMYK, 16-bit) is converted to 8-bit grayscale, transparency
    composited on black (Fashion-MNIST's background), and the image resized to ``size``.
    """
    img = open_image(data)
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
