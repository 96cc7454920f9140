"""A sample product catalog made from Fashion-MNIST: coloured RGB product shots on white in
class folders, a manifest with seasons, colours, prices and dates, (optionally) products with
several photos each, and (optionally) the broken files and duplicate ids a real catalog has,
so every path of the catalog code can be tried offline. ``lookalike sample-catalog DIR``
writes one."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from model.data import Split
from model.labels import LABEL_NAMES

COLOURS = {
    "black": (30, 30, 30),
    "red": (200, 30, 40),
    "blue": (40, 70, 190),
    "green": (40, 140, 60),
}
# When each kind of garment sells: winter for warm things, summer for light ones.
SEASON_OF_LABEL = [
    "summer",
    "spring",
    "winter",
    "spring",
    "winter",
    "summer",
    "autumn",
    "spring",
    "autumn",
    "winter",
]


@dataclass
class SampleCatalog:
    root: Path
    manifest: Path | None
    good: list[str] = field(default_factory=list)  # item ids that must be indexed
    bad: dict[str, str] = field(default_factory=dict)  # file name -> what is wrong with it
    products: dict[str, list[str]] = field(default_factory=dict)  # product id -> photo ids


def folder_name(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


def product_shot(gray: np.ndarray, colour: tuple[int, int, int], size: int) -> Image.Image:
    """A Fashion-MNIST item as a coloured garment on a white background, ``size`` px square."""
    g = gray.astype(np.float32)[..., None] / 255.0
    rgb = 255.0 - g * (255.0 - np.asarray(colour, dtype=np.float32))
    img = Image.fromarray(rgb.clip(0, 255).astype(np.uint8), "RGB")
    return img.resize((size, size), Image.Resampling.BILINEAR)


def _broken_files(root: Path) -> dict[str, str]:
    """One of each kind of bad file a catalog should report and skip."""
    broken = root / "broken"
    broken.mkdir(parents=True, exist_ok=True)
    good_png = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 10, 10)).save(good_png, "PNG")
    (broken / "empty.png").write_bytes(b"")
    (broken / "truncated.png").write_bytes(good_png.getvalue()[: len(good_png.getvalue()) // 2])
    (broken / "not-an-image.jpg").write_bytes(b"this is a text file, not a JPEG\n")
    Image.new("CMYK", (32, 32), (0, 255, 255, 0)).save(broken / "cmyk.jpg", "JPEG")
    Image.new("P", (32, 32), 3).save(broken / "palette.png", "PNG")
    Image.fromarray(np.full((32, 32), 40000, dtype=np.uint16)).save(broken / "sixteen-bit.png")
    return {
        "empty.png": "empty",
        "truncated.png": "readable",
        "not-an-image.jpg": "readable",
        "cmyk.jpg": "CMYK",
        "palette.png": "mode P",
        "sixteen-bit.png": "mode I",
    }


def views(
    gray: np.ndarray, other: np.ndarray, colour: tuple[int, int, int], size: int, n: int, turn: int
) -> dict[str, Image.Image]:
    """``n`` photos of one product (1 to 5): its front, then ``n - 1`` of mirrored, a closer
    crop, in brighter light, and beside another garment (``other``) on one wide canvas, taken
    in turn from the ``turn``-th on (so a catalog holds all four)."""
    front = product_shot(gray, colour, size)
    lit = tuple(min(255, int(c * 1.6) + 40) for c in colour)
    wide = Image.new("RGB", (2 * size, size), (255, 255, 255))
    wide.paste(front, (0, 0))
    wide.paste(product_shot(other, COLOURS["black"], size), (size, 0))
    margin = size // 8
    out = {
        "front": front,
        "mirrored": front.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
        "closer": front.crop((margin, margin, size - margin, size - margin)).resize((size, size)),
        "light": product_shot(gray, (lit[0], lit[1], lit[2]), size),
        "beside": wide,
    }
    others = list(out)[1:]
    picked = [others[(turn + j) % len(others)] for j in range(max(0, min(n, len(out)) - 1))]
    return {"front": front} | {view: out[view] for view in picked}


def write_sample_catalog(
    split: Split,
    root: Path,
    n: int = 300,
    size: int = 64,
    broken: bool = True,
    manifest: bool = True,
    photos: int = 1,
) -> SampleCatalog:
    """Write the first ``n`` items of ``split`` under ``root``; return what a reader must find.

    With ``photos`` above 1, each item is a product with 2 to ``photos`` photos (see
    :func:`views`), in ``<label>/sku-<n>/<view>.png``, their ids ``sku-<n>/<view>``."""
    rng = np.random.default_rng(0)
    rows = []
    out = SampleCatalog(root, root / "manifest.csv" if manifest else None)
    start = dt.date(2026, 1, 1)
    count = min(n, len(split))
    for i in range(count):
        label = LABEL_NAMES[int(split.labels[i])]
        colour = list(COLOURS)[int(rng.integers(len(COLOURS)))]
        sku = f"sku-{i:05d}"
        row = {"item_id": sku, "label": label, "colour": colour}
        row["price"] = f"{float(rng.uniform(5, 200)):.2f}"
        if i % 5 == 4:  # some rows carry a launch date instead of a season
            row["date"] = (start + dt.timedelta(days=int(rng.integers(365)))).isoformat()
        else:
            row["season"] = SEASON_OF_LABEL[int(split.labels[i])]
        gray = split.images[i].numpy()
        if photos <= 1:
            shots = {"": product_shot(gray, COLOURS[colour], size)}
        else:
            other = split.images[(i + 1) % count].numpy()
            shots = views(gray, other, COLOURS[colour], size, 2 + i % (photos - 1), i)
        for view, image in shots.items():
            rel = Path(folder_name(label)) / (f"{sku}/{view}.png" if view else f"{sku}.png")
            (root / rel.parent).mkdir(parents=True, exist_ok=True)
            image.save(root / rel)
            item_id = f"{sku}/{view}" if view else sku
            extra = {"product_id": sku} if view else {}
            rows.append({**row, **extra, "item_id": item_id, "path": rel.as_posix()})
            out.good.append(item_id if manifest else rel.with_suffix("").as_posix())
            out.products.setdefault(sku, []).append(item_id)
    if broken:
        for name, why in _broken_files(root).items():
            rows.append({"path": f"broken/{name}", "item_id": f"broken-{name}", "label": "broken"})
            out.bad[name] = why
        # The same id twice: the second row is the one reported.
        (root / "dup").mkdir(exist_ok=True)
        product_shot(split.images[0].numpy(), COLOURS["red"], size).save(root / "dup" / "again.png")
        rows.append(
            {"path": "dup/again.png", "item_id": rows[0]["item_id"], "label": rows[0]["label"]}
        )
        out.bad["again.png"] = "duplicate"
    if manifest:
        fields = ["path", "item_id", "label", "colour", "price", "season", "date"]
        fields += ["product_id"] if photos > 1 else []
        with (root / "manifest.csv").open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
    return out
