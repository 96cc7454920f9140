"""Turning an uploaded image into exactly what the network was trained on."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

MAX_PIXELS = 40_000_000  # refuse decompression bombs long before PIL's own limit


class ImageError(ValueError):
    """The bytes are not an image Lookalike can embed."""


def decode(data: bytes | Path, size: int = 28) -> torch.Tensor:
    """PNG/JPEG/WebP bytes or a file -> uint8 [size, size] grayscale, like a Fashion-MNIST item.

    Any mode (RGB, RGBA, palette, CMYK, 16-bit) is converted to 8-bit grayscale, transparency
    composited on black (Fashion-MNIST's background), and the image resized to ``size``.
    """
    raw = data.read_bytes() if isinstance(data, Path) else data
    if not raw:
        raise ImageError("the image is empty (0 bytes): send a PNG or JPEG file.")
    try:
        img: Image.Image = Image.open(io.BytesIO(raw))
        if img.width * img.height > MAX_PIXELS:
            raise ImageError(f"the image is {img.width}x{img.height}: too large to embed.")
        img.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise ImageError(
            f"not a readable image ({type(exc).__name__}): send a PNG or JPEG file."
        ) from exc
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        img = Image.alpha_composite(Image.new("RGBA", rgba.size, (0, 0, 0, 255)), rgba)
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        span = max(float(arr.max() - arr.min()), 1.0)
        img = Image.fromarray(((arr - arr.min()) / span * 255).astype(np.uint8))
    gray = img.convert("L").resize((size, size), Image.Resampling.BILINEAR)
    return torch.from_numpy(np.array(gray, dtype=np.uint8))
