from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from model.images import ImageError, decode


def _png(img: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


def test_grayscale_28px_round_trips_exactly() -> None:
    arr = np.random.default_rng(0).integers(0, 256, (28, 28), dtype=np.uint8)
    out = decode(_png(Image.fromarray(arr)))
    assert out.dtype.is_floating_point is False and tuple(out.shape) == (28, 28)
    np.testing.assert_array_equal(out.numpy(), arr)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P", "CMYK", "I;16", "LA"])
def test_other_modes_and_sizes_are_converted(mode: str) -> None:
    img = Image.new("RGB", (100, 60), (200, 100, 50)).convert(mode)
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    out = decode(_png(img, fmt))
    assert tuple(out.shape) == (28, 28)


def test_transparency_composites_on_black() -> None:
    img = Image.new("RGBA", (28, 28), (255, 255, 255, 0))
    assert int(decode(_png(img)).max()) == 0


def test_bad_bytes_are_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="empty"):
        decode(b"")
    with pytest.raises(ImageError, match="not a readable image"):
        decode(b"definitely not a png")
    truncated = _png(Image.new("RGB", (64, 64), (1, 2, 3)))[:40]
    with pytest.raises(ImageError, match="not a readable image"):
        decode(truncated)
    path = tmp_path / "x.png"
    path.write_bytes(_png(Image.new("L", (28, 28), 7)))
    assert int(decode(path)[0, 0]) == 7
