"""Similar-to-image over HTTP for a ResNet-18 catalog, beside the bare forward pass of one image
by the same model in-process, in one run.

It writes a sample catalog (Fashion-MNIST product shots, RGB PNGs, 256 px) to a temporary folder,
runs the pipeline on it with ResNet-18 at 224 px (random init: ImageNet weights cannot be
downloaded here, and the cost does not depend on the weights), then times, one image at a time:
the bare forward pass (a preprocessed tensor through the model), the whole in-process query
(decode, preprocess, forward, search), and the HTTP endpoint under wrk at concurrency 1. Then,
with one worker per core, item queries at concurrency 16 alone and while photos are uploaded
beside them at a tenth of their rate: the photos must not stall the rest.
`python -m benchmarks.api_image [-n 300]`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.api import ROTATE, api_running, image_script, wrk
from benchmarks.common import write
from benchmarks.serving import item_queries_beside_photos

COLS = ["query", "p50_ms", "p99_ms", "requests_per_s", "failed"]


def timed(fn: Callable[[], object], runs: int) -> dict[str, float]:
    fn()  # warm
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    times.sort()
    return {"p50_ms": statistics.median(times), "p99_ms": times[int(0.99 * len(times))]}


def in_process(settings: Any, photo: bytes, runs: int) -> tuple[dict[str, float], dict[str, float]]:
    """The bare forward pass, and the whole query in-process (the store closed afterwards)."""
    import torch

    from app.queries import QueryService
    from model.images import decode_rgb, open_image
    from search.request import QueryArgs

    with QueryService(settings) as service:
        model = service.model_for(service.name)
        pixels = decode_rgb(open_image(photo), model.image_size, model.channels)[None]

        def forward() -> None:
            with torch.inference_mode():
                model(pixels)

        bare = timed(forward, runs)
        query = timed(lambda: service.ask(photo, QueryArgs(k=10)), runs)
    return bare, query


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=300, help="catalog items")
    parser.add_argument("--runs", type=int, default=200, help="in-process timings")
    parser.add_argument("--seconds", type=int, default=10, help="the wrk run")
    parser.add_argument("--port", type=int, default=8096)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("this benchmark drives the load with wrk: apt-get install wrk")
    from catalogs.sample import write_sample_catalog
    from flows.pipeline import pipeline
    from infra.settings import Settings
    from model.data import load_split, resolve_root

    with tempfile.TemporaryDirectory() as tmp:
        base = Settings(progress=False)
        test = load_split(resolve_root(base.data.data_root, base.data_dir), "test")
        shop = write_sample_catalog(test, Path(tmp) / "shop", n=args.n, size=256, broken=False)
        settings = Settings(
            home=Path(tmp) / "home",
            catalog=shop.root,
            backbone="resnet18",
            weights="none",
            image_size=224,
            catalog_min_precision_at_1=0.0,  # random weights: serve it whatever it scores
            progress=False,
        )
        assert pipeline(settings).decision.promoted
        photo = next(shop.root.glob("*/sku-00007.png")).read_bytes()
        bare, query = in_process(settings, photo, args.runs)
        env = {**os.environ, "LOOKALIKE_HOME": str(settings.home)}
        env |= {"LOOKALIKE_CATALOG": str(shop.root), "LOOKALIKE_BACKBONE": "resnet18"}
        with api_running(args.port, env) as url:
            script = image_script(Path(tmp), photo)
            http = wrk(f"{url}/v1/similar/image?k=10", script, 1, args.seconds)
        rotate = Path(tmp) / "rotate.lua"
        rotate.write_text(ROTATE.format(fmt="sku-%05d", items=args.n))
        with api_running(args.port, env, ["--workers", str(args.workers)]) as url:
            alone = wrk(url, rotate, 16, args.seconds)
            mixed = item_queries_beside_photos(
                url, rotate, args.seconds, alone["requests_per_s"], photo
            )
    rows = [
        {"query": "bare forward pass of one image (ResNet-18, 224 px)", **bare},
        {"query": "similar to image in-process (decode, preprocess, forward, search)", **query},
        {
            "query": "similar to image over HTTP (wrk, c=1)",
            "p50_ms": http["p50_ms"],
            "p99_ms": http["p99_ms"],
        },
    ]
    for what, got in (("alone", alone), ("with photos beside at 1/10 of their rate", mixed)):
        rows.append({"query": f"similar by item, HTTP c=16, {args.workers} workers, {what}"})
        rows[-1] |= {"p50_ms": got["p50_ms"], "p99_ms": got["p99_ms"]}
        rows[-1] |= {"requests_per_s": got["requests_per_s"], "failed": got["failed"]}
    rows = [{c: r.get(c, "-") for c in COLS} for r in rows]
    extra = {"items": args.n, "requests": http["requests"], "failed": http["failed"]}
    extra |= {"item_p99_with_photos_vs_alone": mixed["p99_ms"] / alone["p99_ms"]}
    extra |= {"photos_answered_per_s": mixed["photos_per_s"]}
    print(write("api_image", rows, extra).read_text())


if __name__ == "__main__":
    os.environ.setdefault("LOOKALIKE_PROGRESS", "false")
    main()
