"""Search by a region: two garments on one canvas, each found by a box around it.

For N pairs of Fashion-MNIST test items, both are enlarged 2x and placed side by side with a
margin on a black 136 x 72 canvas (as a shopper's photo of two garments); the query is the whole
canvas, then a box around each garment with a few pixels of slack, as a person draws one. Found:
the garment's own item ranked first (the "product"), and its label first. Also the latency of a
photo query with and without a box (in-process, the embedded store, one thread).

The model and the store do the work; numpy only counts. The process still runs without
OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE, as every benchmark here does.
`python -m benchmarks.regions` after `lookalike run` (LOOKALIKE_HOME names the run's home).
"""

from __future__ import annotations

import argparse
import io
import time
from typing import Any

from benchmarks.common import full_speed_blas

full_speed_blas("benchmarks.regions")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from app.queries import Photo, QueryService  # noqa: E402
from benchmarks.common import write  # noqa: E402
from catalogs.fashion_mnist import split_of  # noqa: E402
from infra.settings import Settings  # noqa: E402
from model.images import Box  # noqa: E402
from search.metadata import read_meta  # noqa: E402
from search.request import QueryArgs  # noqa: E402

W, H, SIDE, MARGIN = 136, 72, 56, 8
SLACKS = (0, 3)  # a tight box, and one with 3 pixels to spare each side, as a person draws it
K = 10


def composite(left: np.ndarray, right: np.ndarray, slack: int) -> tuple[bytes, list[Box]]:
    canvas = Image.new("L", (W, H))
    boxes = []
    for n, garment in enumerate((left, right)):
        x = MARGIN + n * (SIDE + MARGIN)
        enlarged = Image.fromarray(garment).resize((SIDE, SIDE), Image.Resampling.BILINEAR)
        canvas.paste(enlarged, (x, MARGIN))
        boxes.append(
            Box(
                max(0, x - slack) / W,
                max(0, MARGIN - slack) / H,
                min(W, x + SIDE + slack) / W,
                min(H, MARGIN + SIDE + slack) / H,
            )
        )
    out = io.BytesIO()
    canvas.save(out, "PNG")
    return out.getvalue(), boxes


def _row(query: str, found: list[tuple[bool, bool, bool]]) -> dict[str, Any]:
    hits = np.array(found, dtype=float)
    return {
        "query": query,
        "queries": len(found),
        "the garment first": float(hits[:, 0].mean()),
        f"the garment in the top {K}": float(hits[:, 1].mean()),
        "its label first": float(hits[:, 2].mean()),
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--pairs", type=int, default=500)
    args = p.parse_args()
    torch.set_num_threads(1)
    found: dict[str, list[tuple[bool, bool, bool]]] = {"whole canvas": []}
    found |= {f"a box around each garment, {s} px slack": [] for s in SLACKS}
    seconds: dict[str, list[float]] = {"whole canvas": [], "a box": []}
    with QueryService(Settings()) as service:
        collection = service.store.resolve(service.name)
        meta = read_meta(service.store, service.name)
        split = split_of(str(meta.root), "test")
        labels = meta.labels or []
        rng = np.random.default_rng(0)

        def ask(png: bytes, box: Box | None, timer: str) -> list[dict[str, Any]]:
            start = time.perf_counter()
            hits = service.ask(Photo(png, box), QueryArgs(k=K))
            seconds[timer].append(time.perf_counter() - start)
            return [h.payload for h in hits]

        for _ in range(args.pairs):
            pair = [int(i) for i in rng.choice(len(split.images), 2, replace=False)]
            garments = [(f"test-{i}", labels[int(split.labels[i])]) for i in pair]
            for slack in SLACKS:
                left, right = (split.images[i].numpy() for i in pair)
                png, boxes = composite(left, right, slack)
                if slack == SLACKS[0]:
                    # Whole: either garment counts (the score is the better of the two).
                    top = ask(png, None, "whole canvas")
                    found["whole canvas"].append(
                        max(
                            (
                                top[0]["item_id"] == g,
                                g in {t["item_id"] for t in top},
                                top[0]["label_name"] == name,
                            )
                            for g, name in garments
                        )
                    )
                for (item, name), box in zip(garments, boxes, strict=True):
                    top = ask(png, box, "a box")
                    found[f"a box around each garment, {slack} px slack"].append(
                        (
                            top[0]["item_id"] == item,
                            item in {t["item_id"] for t in top},
                            top[0]["label_name"] == name,
                        )
                    )
    rows = [_row(query, got) for query, got in found.items()]
    print(write("regions", rows, {"collection": collection, "pairs": args.pairs}).read_text())
    latency = []
    for name, took in seconds.items():
        ms = np.array(took) * 1000
        latency.append(
            {
                "photo query": name,
                "queries": len(took),
                "p50 ms": float(np.percentile(ms, 50)),
                "p99 ms": float(np.percentile(ms, 99)),
            }
        )
    print(write("regions_latency", latency, {"collection": collection, "threads": 1}).read_text())


if __name__ == "__main__":
    main()
