"""Catalog embedding throughput: end to end (read, decode, preprocess, embed, upsert) against the
bare forward pass of the same backbone on the same images, side by side in one run.

Run: `python -m benchmarks.catalog` (LOOKALIKE_DATA_ROOT as usual). It writes a sample catalog
of Fashion-MNIST product shots (RGB PNGs, 256 px) to a temporary folder; the bare forward pass
is timed before and after the end-to-end runs, so drift of this noisy machine shows.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.common import write
from benchmarks.indexing import bare_forward, end_to_end
from catalogs.sample import write_sample_catalog
from infra.settings import Settings
from model.data import load_split, resolve_root
from tasks.sources import scan_source
from tasks.training import catalog_model


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=512, help="catalog items")
    parser.add_argument("--backbone", default="resnet18")
    parser.add_argument("--image-size", type=int, default=224)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Settings(progress=False)
        test = load_split(resolve_root(base.data.data_root, base.data_dir), "test")
        write_sample_catalog(test, Path(tmp) / "shop", n=args.n, size=256, broken=False)
        settings = Settings(
            home=Path(tmp) / "home",
            catalog=Path(tmp) / "shop",
            backbone=args.backbone,
            weights="none",
            image_size=args.image_size,
            progress=False,
        )
        model = catalog_model.fn(settings, scan_source.fn(settings))
        before = bare_forward(settings, model.checkpoint)
        runs = {
            w: end_to_end(settings, model.checkpoint, loader_workers=w)["images_per_s"]
            for w in (0, 1)
        }
        after = bare_forward(settings, model.checkpoint)
    bare = (before + after) / 2
    rows: list[dict[str, Any]] = [
        {"run": "bare forward, before", "images_per_s": before, "ratio": before / bare},
        {"run": "bare forward, after", "images_per_s": after, "ratio": after / bare},
    ]
    for workers, rate in runs.items():
        label = "decoded inline" if workers == 0 else f"{workers} DataLoader worker"
        rows.append({"run": f"end to end, {label}", "images_per_s": rate, "ratio": rate / bare})
    extra = {"backbone": args.backbone, "items": args.n, "image_size": args.image_size}
    print(write("catalog", rows, extra).read_text())


if __name__ == "__main__":
    main()
