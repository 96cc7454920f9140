"""Catalog embedding throughput: end to end (read, decode, preprocess, embed, upsert) against the
bare forward pass of the same backbone on the same images, side by side in one run.

Run: `python -m benchmarks.catalog` (LOOKALIKE_DATA_ROOT as usual). It writes a sample catalog
of Fashion-MNIST product shots (RGB PNGs, 256 px) to a temporary folder; the bare forward pass
is timed before and after the end-to-end runs, so drift of this noisy machine shows.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from benchmarks.common import write
from infra.settings import Settings
from model.data import load_split, resolve_root
from model.sample_catalog import write_sample_catalog
from tasks.catalog import (
    CatalogInfo,
    catalog_images,
    catalog_model,
    load_catalog_model,
    load_items,
    scan_catalog,
)
from tasks.catalog_index import (
    create_catalog_collection,
    embed_catalog_positions,
    upsert_catalog_file,
)
from tasks.training import ModelRef


@torch.inference_mode()
def bare_forward(model: ModelRef, info: CatalogInfo, batch: int) -> float:
    """Images/s of the backbone alone, images decoded beforehand (not timed)."""
    net = load_catalog_model(model.checkpoint)
    data = catalog_images(net, info, load_items(info))
    images = torch.stack([data[i][0] for i in range(len(data))])
    start = time.perf_counter()
    for s in range(0, len(images), batch):
        net(images[s : s + batch])
    return len(images) / (time.perf_counter() - start)


def end_to_end(settings: Settings, model: ModelRef, info: CatalogInfo, workers: int) -> float:
    """Images/s of decode + preprocess + embed + upsert into a fresh embedded collection."""
    with tempfile.TemporaryDirectory() as home:
        s = settings.model_copy(update={"home": Path(home), "loader_workers": workers})
        collection = create_catalog_collection.fn(s, model, info)
        start = time.perf_counter()
        shard = embed_catalog_positions(s, model, info, list(range(info.count)))
        upsert_catalog_file(s, model, info, shard, collection)
        return info.count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=512, help="catalog items")
    parser.add_argument("--backbone", default="resnet18")
    parser.add_argument("--image-size", type=int, default=224)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Settings(progress=False)
        test = load_split(resolve_root(base.data_root, base.data_dir), "test")
        write_sample_catalog(test, Path(tmp) / "shop", n=args.n, size=256, broken=False)
        settings = Settings(
            home=Path(tmp) / "home",
            catalog=Path(tmp) / "shop",
            backbone=args.backbone,
            weights="none",
            image_size=args.image_size,
            progress=False,
        )
        info = scan_catalog.fn(settings)
        model = catalog_model.fn(settings, info)
        batch = settings.embed_batch_size
        before = bare_forward(model, info, batch)
        runs = {w: end_to_end(settings, model, info, w) for w in (0, 1)}
        after = bare_forward(model, info, batch)
    bare = (before + after) / 2
    rows: list[dict[str, Any]] = [
        {"run": "bare forward, before", "images_per_s": before, "ratio": before / bare},
        {"run": "bare forward, after", "images_per_s": after, "ratio": after / bare},
    ]
    for workers, rate in runs.items():
        label = "decoded inline" if workers == 0 else f"{workers} DataLoader worker"
        rows.append({"run": f"end to end, {label}", "images_per_s": rate, "ratio": rate / bare})
    extra = {"backbone": args.backbone, "items": args.n, "image_size": args.image_size}
    print(write("catalog", rows, {**extra, "batch": batch}).read_text())


if __name__ == "__main__":
    main()
