"""Catalog embedding throughput: end to end (read, decode, preprocess, embed, upsert) against the
bare forward pass of the same backbone on the same images, side by side in one run.

Run: `python -m benchmarks.catalog` (LOOKALIKE_DATA_ROOT as usual). It writes a sample catalog
of Fashion-MNIST product shots (RGB PNGs, 256 px) to a temporary folder, then times the bare
forward pass and the index flow end to end (one DataLoader worker decoding), in fp32 and in bf16
autocast, and the lowest cosine between an item's bf16 and fp32 vectors.
"""

from __future__ import annotations

import argparse
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from benchmarks.common import write
from benchmarks.indexing import agreement, bare_forward, end_to_end
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
        rates: dict[tuple[str, str], list[float]] = defaultdict(list)
        # fp32 and bf16 alternate, each timed twice, so drift of the machine hits both alike.
        for _ in range(2):
            for precision in ("fp32", "bf16"):
                ckpt = model.checkpoint
                rates["bare forward", precision].append(
                    bare_forward(settings, ckpt, bf16=precision == "bf16")
                )
                ran = end_to_end(settings, ckpt, loader_workers=1, precision=precision)
                rates["end to end", precision].append(ran["images_per_s"])
        low = agreement(settings, model.checkpoint)
    rows: list[dict[str, Any]] = []
    for run in ("bare forward", "end to end"):
        fp32, bf16 = (sum(rates[run, p]) / 2 for p in ("fp32", "bf16"))
        rows.append({"run": run, "fp32_images_per_s": fp32, "bf16_images_per_s": bf16})
        rows[-1]["bf16_vs_fp32"] = bf16 / fp32
    extra = {
        "backbone": args.backbone,
        "items": args.n,
        "image_size": args.image_size,
        "runs": {f"{run}, {p}": v for (run, p), v in rates.items()},
        "lowest_cosine_bf16_vs_fp32": low,
    }
    print(write("catalog", rows, extra).read_text())
    print(f"lowest cosine of an item's bf16 and fp32 vectors: {low:.6f}")


if __name__ == "__main__":
    main()
