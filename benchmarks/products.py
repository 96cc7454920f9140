"""Products with several photos: one held-out photo finds its product; a box finds one garment
of two; what grouping costs a query.

The sample catalog's multi-photo form (``lookalike sample-catalog --photos 4``: 2 to 4 photos a
product, its front plus mirrored, closer, brighter or beside another garment) is written for the
first ``--products`` Fashion-MNIST test items, scanned as any catalog is, and embedded with the
Fashion-MNIST CNN of the run's home (the registry's ``fmnist-cnn``; ImageNet weights cannot be
downloaded here) through the catalog reader's own preprocessing. Each product's last photo is
held out as the query. Three embedded collections of the same vectors:

- ``grouped``: the other photos of each product, one hit per product (``photos_per_product``);
- ``one photo a product``: each product's front only (the catalog as it was before products);
- ``ungrouped``: the same points as ``grouped``, recorded as one photo a product, to count how
  often an answer repeats a product without grouping, and to time a plain query beside a grouped
  one on the same points.

Composites put two products' fronts side by side on one white canvas: a box around each, against
the whole canvas. The store and the query path do the work; numpy only counts. The process runs
without OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE, as every benchmark here does.
`python -m benchmarks.products` after `lookalike run` (LOOKALIKE_HOME names the run's home).
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import full_speed_blas, write

full_speed_blas("benchmarks.products")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from app.queries import embed  # noqa: E402
from catalogs.base import Item, payload  # noqa: E402
from catalogs.fashion_mnist import split_of  # noqa: E402
from catalogs.products import PRODUCT  # noqa: E402
from catalogs.sample import write_sample_catalog  # noqa: E402
from catalogs.scan import images, load_items, scan_files  # noqa: E402
from infra.settings import Settings  # noqa: E402
from infra.store import PointBatch, open_store  # noqa: E402
from infra.store.base import CollectionSpec, point_id  # noqa: E402
from infra.store.edge import EdgeStore  # noqa: E402
from infra.store.protocol import VectorStore  # noqa: E402
from model.backbones import Embedder  # noqa: E402
from model.embed import iter_dataset_embeddings  # noqa: E402
from model.images import Box  # noqa: E402
from search.metadata import read_meta  # noqa: E402
from search.options import QueryOptions  # noqa: E402
from search.query import ByVector, ask  # noqa: E402
from training.catalog_models import catalog_model  # noqa: E402
from training.runs import load_embedder  # noqa: E402

K, SIZE = 10, 56


def fmnist_checkpoint() -> tuple[str, str]:
    """The served Fashion-MNIST collection's checkpoint, and where its data set lies."""
    settings = Settings()
    with open_store(settings.store, read_only=True) as store:
        meta = read_meta(store, settings.served_alias)
    if not meta.checkpoint or meta.kind not in (None, "fashion-mnist"):
        raise SystemExit("serve a Fashion-MNIST index first: `lookalike run`")
    return meta.checkpoint, str(meta.root)


def manifests(root: Path, held: set[str]) -> tuple[Path, Path]:
    """``kept.csv``: every photo but the held-out ones; ``fronts.csv``: each product's front."""
    with (root / "manifest.csv").open(newline="") as f:
        reader = csv.DictReader(f)
        fields, rows = list(reader.fieldnames or []), list(reader)
    out = []
    for name, keep in (("kept", lambda r: r["item_id"] not in held), ("fronts", _front)):
        with (root / f"{name}.csv").open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields)
            writer.writeheader()
            writer.writerows(r for r in rows if keep(r))
        out.append(root / f"{name}.csv")
    return out[0], out[1]


def _front(row: dict[str, str]) -> bool:
    return row["item_id"].endswith("/front")


def collection(
    store: VectorStore, name: str, items: list[Item], vectors: np.ndarray, photos: int
) -> None:
    meta = {"dataset": "shop", "kind": "files", "photos_per_product": photos}
    keyword = ("split", "label_name", "item_id", PRODUCT)
    store.ensure_collection(CollectionSpec(name, vectors.shape[1], keyword, metadata=meta))
    labels = {name: n for n, name in enumerate(sorted({i.label for i in items if i.label}))}
    ids = [point_id("shop", i.split, i.key) for i in items]
    store.upsert(name, PointBatch(ids, vectors, [payload(i, labels, "bench") for i in items]))
    store.finalize(name)


def means(kept: list[Item], vector: dict[str, np.ndarray], fronts: list[Item]) -> np.ndarray:
    """Each product's photos averaged and renormalised, in the order of ``fronts``."""
    mine: dict[str, list[np.ndarray]] = {}
    for i in kept:
        mine.setdefault(i.item_id.split("/")[0], []).append(vector[i.item_id])
    rows = np.stack([np.mean(mine[f.item_id.split("/")[0]], axis=0) for f in fronts])
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def sku_of(payload: dict[str, Any]) -> str:
    """The product of a hit (a catalog of one photo a product records none: its photo's)."""
    return str(payload.get(PRODUCT) or payload["item_id"]).split("/")[0]


def timed(store: VectorStore, name: str, query: np.ndarray, took: list[float]) -> list[Any]:
    start = time.perf_counter()
    hits = ask(store, name, ByVector(query), QueryOptions(k=K))
    took.append(time.perf_counter() - start)
    return [h.payload for h in hits]


NAMES = {
    "grouped": "several photos a product, grouped",
    "fronts": "one photo a product (the front)",
    "mean": "one point a product, the mean of its photos",
    "ungrouped": "several photos a product, not grouped",
}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--products", type=int, default=2000)
    p.add_argument("--pairs", type=int, default=500)
    args = p.parse_args()
    torch.set_num_threads(1)
    weights, data_root = fmnist_checkpoint()
    work = Path(tempfile.mkdtemp(prefix="lookalike-products-"))
    shop = work / "shop"
    split = split_of(data_root, "test")
    sample = write_sample_catalog(split, shop, args.products, SIZE, broken=False, photos=4)
    held = {sku: photos[-1] for sku, photos in sample.products.items()}
    kept_csv, fronts_csv = manifests(shop, set(held.values()))
    every = scan_files(shop / "manifest.csv", work / "every")
    kept = load_items(scan_files(kept_csv, work / "kept"))
    fronts = load_items(scan_files(fronts_csv, work / "fronts"))
    photos = {i.item_id: i for i in load_items(every)}
    rows, latency, boxed, by_view = [], [], [], []
    extra: dict[str, Any] = {"products": len(sample.products), "photos": len(photos)}
    for mode in ("off-the-shelf", "fine-tuned"):
        settings = Settings(
            home=work / "home",
            catalog=kept_csv,
            backbone="fmnist-cnn",
            weights=weights,
            catalog_mode=mode,
            progress=False,
        )
        model = load_embedder(
            catalog_model(settings, scan_files(kept_csv, work / "kept")).checkpoint
        )
        data = images(every, list(photos.values()), model.image_size, model.channels)
        stacked = np.concatenate([v for _, v in iter_dataset_embeddings(model, data, 256)])
        vector = dict(zip(photos, stacked, strict=True))
        store = EdgeStore(work / f"qdrant-{mode}")
        for name, items, most in (
            ("grouped", kept, 3),
            ("ungrouped", kept, 1),
            ("fronts", fronts, 1),
        ):
            collection(store, name, items, np.stack([vector[i.item_id] for i in items]), most)
        collection(store, "mean", fronts, means(kept, vector, fronts), 1)
        took: dict[str, list[float]] = {name: [] for name in NAMES}
        first: dict[str, list[bool]] = {name: [] for name in NAMES}
        repeats: dict[str, list[bool]] = {name: [] for name in NAMES}
        for sku, photo in held.items():
            for name in NAMES:
                found = [sku_of(h) for h in timed(store, name, vector[photo], took[name])]
                first[name].append(found[0] == sku)
                repeats[name].append(len(set(found)) < len(found))
        views = [photo.split("/")[1] for photo in held.values()]
        for view in sorted(set(views)):
            mine = [f for f, v in zip(first["grouped"], views, strict=True) if v == view]
            by_view.append(
                {
                    "model": f"fmnist-cnn, {mode}",
                    "held-out photo": view,
                    "queries": len(mine),
                    "its product first (grouped)": float(np.mean(mine)),
                }
            )
        for name, label in NAMES.items():
            rows.append(
                {
                    "model": f"fmnist-cnn, {mode}",
                    "index": label,
                    "points": len(kept) if name in ("grouped", "ungrouped") else len(fronts),
                    "queries": len(first[name]),
                    "its product first": float(np.mean(first[name])),
                    "answers repeating a product": float(np.mean(repeats[name])),
                }
            )
            if name in ("grouped", "ungrouped"):
                ms = np.array(took[name]) * 1000
                latency.append(
                    {
                        "model": f"fmnist-cnn, {mode}",
                        "query (by a photo, k=10)": label,
                        "queries": len(ms),
                        "p50 ms": float(np.percentile(ms, 50)),
                        "p99 ms": float(np.percentile(ms, 99)),
                    }
                )
        shots = {i.item_id.split("/")[0]: shop / i.path for i in fronts}
        boxed += [
            {"model": f"fmnist-cnn, {mode}", **r} for r in regions(store, model, shots, args.pairs)
        ]
        store.close()
    print(write("products", rows, extra).read_text())
    print(write("products_views", by_view, extra).read_text())
    print(write("products_latency", latency, {**extra, "threads": 1}).read_text())
    print(write("products_regions", boxed, extra).read_text())


def composite(shots: list[Path]) -> tuple[Image.Image, list[Box]]:
    """Two product photos, shrunk to 4/5, side by side on one white canvas with margins (a
    shopper's photo, not a stored one), and a box with 3 px to spare around each."""
    side, margin, slack = SIZE * 4 // 5, 8, 3
    w, h = 2 * side + 3 * margin, side + 2 * margin
    canvas = Image.new("RGB", (w, h), (255, 255, 255))
    boxes = []
    for n, shot in enumerate(shots):
        x = margin + n * (side + margin)
        canvas.paste(Image.open(shot).convert("RGB").resize((side, side)), (x, margin))
        x0, y0 = max(0, x - slack), margin - slack
        boxes.append(Box(x0 / w, y0 / h, min(w, x + side + slack) / w, (h - y0) / h))
    return canvas, boxes


def regions(
    store: VectorStore, model: Embedder, fronts: dict[str, Path], pairs: int
) -> list[dict[str, Any]]:
    """Two products on one canvas: a box around each, against the whole canvas (either
    product first counts for the whole)."""
    rng = np.random.default_rng(1)
    skus = list(fronts)
    found: dict[str, list[bool]] = {"whole canvas": [], "a box around each garment": []}

    def top(canvas: Image.Image, box: Box | None) -> str:
        query = ByVector(embed(model, "files", canvas, box))
        return sku_of(ask(store, "grouped", query, QueryOptions(k=K))[0].payload)

    for _ in range(pairs):
        pair = [skus[int(i)] for i in rng.choice(len(skus), 2, replace=False)]
        canvas, boxes = composite([fronts[sku] for sku in pair])
        found["whole canvas"].append(top(canvas, None) in pair)
        for sku, box in zip(pair, boxes, strict=True):
            found["a box around each garment"].append(top(canvas, box) == sku)
    return [
        {"query": q, "queries": len(v), "the garment's product first": float(np.mean(v))}
        for q, v in found.items()
    ]


if __name__ == "__main__":
    main()
