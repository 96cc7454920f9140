"""Similarity maps drawn over their images: query and hit side by side, as one PNG."""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image

from model.explain import PairMaps

GAP = 8  # pixels of white between the two images
MAX_ALPHA = 0.65
WARM = np.array([230.0, 60.0, 20.0], dtype=np.float32)  # regions that raise the score
COOL = np.array([30.0, 90.0, 230.0], dtype=np.float32)  # regions that lower it


def overlay_png(maps: PairMaps, query: torch.Tensor, hit: torch.Tensor, side: int = 224) -> bytes:
    """The PNG of both images (uint8 [C, S, S]) enlarged to ``side`` px with their maps over
    them, on one colour scale, so the two halves compare: warm raises the score, cool lowers
    it, stronger colour is a larger part of it."""
    scale = max(float(np.abs(maps.query).max()), float(np.abs(maps.hit).max()), 1e-12)
    pairs = ((query, maps.query), (hit, maps.hit))
    halves = [_tinted(pixels, grid / scale, side) for pixels, grid in pairs]
    canvas = np.full((side, 2 * side + GAP, 3), 255, dtype=np.uint8)
    canvas[:, :side], canvas[:, side + GAP :] = halves
    out = io.BytesIO()
    # The fastest deflate: level 6 (PIL's default) took 42 ms of a 48 ms explanation; level 1
    # encodes in a third of the time a file 40% larger (57 KB against 41 KB).
    Image.fromarray(canvas).save(out, "PNG", compress_level=1)
    return out.getvalue()


def _tinted(pixels: torch.Tensor, grid: np.ndarray, side: int) -> np.ndarray:
    rgb = pixels.expand(3, -1, -1) if pixels.shape[0] == 1 else pixels
    base = Image.fromarray(rgb.permute(1, 2, 0).numpy())
    base = base.resize((side, side), Image.Resampling.NEAREST)
    heat = Image.fromarray(grid.astype(np.float32), mode="F").resize(
        (side, side), Image.Resampling.BILINEAR
    )
    v = np.asarray(heat)[..., None]
    alpha = np.minimum(np.abs(v), 1.0) * MAX_ALPHA
    colour = np.where(v >= 0, WARM, COOL).astype(np.float32)
    mixed = np.asarray(base, dtype=np.float32)
    mixed += alpha * (colour - mixed)  # (1 - alpha) * base + alpha * colour
    return mixed.astype(np.uint8)
