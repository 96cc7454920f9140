"""How faithful and how fast the similarity maps are.

1. Faithfulness (deletion): for N (query, top-1 hit) pairs of the served index, the query's
   pixels are set to the background (black, Fashion-MNIST's) in the order a map ranks them, and
   the pair's score recorded after every 5%. The area under that curve (lower: the ranking
   found what the score rests on sooner) for the exact map (its 7 x 7 regions spread over the
   pixels bilinearly, :func:`model.explain.upsampled`), plain gradient x input, and a random
   order; also the exact map weighted by each pixel's intensity, which ranks pixels within a
   region (an extra row, not the claim).
2. Latency: one explanation as a request does it (both items' pixels read, the maps, the PNG),
   with one thread (as the API's photo pool runs it) and with two (as the command line does),
   for the served Fashion-MNIST index and for ResNet-18 at 224 px (random init: the cost does
   not depend on the weights) over sample-catalog photos.

The model work is torch; numpy only sorts and averages. The process still runs without
OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE, as every benchmark here does.
`python -m benchmarks.explain` after `lookalike run` (LOOKALIKE_HOME names the run's home).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.common import full_speed_blas

full_speed_blas("benchmarks.explain")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from app.explain import explain  # noqa: E402
from app.queries import QueryService  # noqa: E402
from benchmarks.common import write  # noqa: E402
from catalogs.fashion_mnist import split_of  # noqa: E402
from catalogs.sample import write_sample_catalog  # noqa: E402
from catalogs.scan import stored_pixels  # noqa: E402
from infra.settings import Settings  # noqa: E402
from model.backbones import Embedder, create_backbone  # noqa: E402
from model.explain import exact_maps, gradient_maps, upsampled  # noqa: E402
from model.overlay import overlay_png  # noqa: E402
from search.metadata import read_meta  # noqa: E402
from search.query import ByItem, item_payloads  # noqa: E402
from search.request import QueryArgs  # noqa: E402

STEPS = np.linspace(0.0, 1.0, 21)  # every 5% of the pixels


def deletion_curve(
    net: Embedder, query: torch.Tensor, hit: torch.Tensor, order: np.ndarray
) -> np.ndarray:
    """The score after deleting the first 0%, 5%, ... 100% of ``order`` from ``query``."""
    flat = query.reshape(-1)
    batch = []
    for fraction in STEPS:
        x = flat.clone()
        x[torch.from_numpy(order[: round(fraction * flat.numel())].copy())] = 0
        batch.append(x.view_as(query))
    with torch.inference_mode():
        e = net(torch.stack([*batch, hit]))
    return (e[:-1] @ e[-1]).numpy()


def faithfulness(service: QueryService, n: int) -> list[dict[str, Any]]:
    meta = read_meta(service.store, service.name)
    net = service.model_for(service.name)
    rng = np.random.default_rng(0)
    curves: dict[str, list[np.ndarray]] = {
        "exact map": [],
        "gradient x input": [],
        "random order": [],
        "exact map x pixel intensity": [],
    }
    for i in range(n):
        top = service.ask(ByItem(f"test-{i}"), QueryArgs(k=1))[0]
        payloads = item_payloads(service.store, service.name, [f"test-{i}", top.payload["item_id"]])
        q, h = (
            stored_pixels(meta.kind, meta.root, p, net.image_size, net.channels) for p in payloads
        )
        exact = upsampled(exact_maps(net, q, h).query, q.shape[-1]).ravel()
        orders = {
            "exact map": np.argsort(-exact, kind="stable"),
            "gradient x input": np.argsort(-gradient_maps(net, q, h).query.ravel(), kind="stable"),
            "random order": rng.permutation(q.numel()),
            "exact map x pixel intensity": np.argsort(
                -exact * q.reshape(-1).numpy() / 255.0, kind="stable"
            ),
        }
        for name, order in orders.items():
            curves[name].append(deletion_curve(net, q, h, order))
    exact_auc = np.trapezoid(np.stack(curves["exact map"]), STEPS, axis=1)
    rows = []
    for name, got in curves.items():
        c = np.stack(got)
        auc = np.trapezoid(c, STEPS, axis=1)
        rows.append(
            {
                "order": name,
                "pairs": n,
                "deletion AUC (lower is better)": float(auc.mean()),
                "score at 0%": float(c[:, 0].mean()),
                "at 10%": float(c[:, 2].mean()),
                "at 20%": float(c[:, 4].mean()),
                "at 50%": float(c[:, 10].mean()),
                "pairs where the exact map's AUC is lower": (
                    "-" if name == "exact map" else f"{float((exact_auc < auc).mean()):.1%}"
                ),
            }
        )
    return rows


def _timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    fn()  # warm-up: the first call allocates
    took = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        took.append(time.perf_counter() - start)
    ms = np.array(took) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def latency(service: QueryService, repeat: int) -> list[dict[str, Any]]:
    meta = read_meta(service.store, service.name)
    data_root = str(meta.root)  # the served Fashion-MNIST's: the sample photos are made of it
    fmnist = service.model_for(service.name)
    pair = item_payloads(service.store, service.name, ["test-0", "test-1"])
    resnet = create_backbone("resnet18", weights="none")
    tmp = Path(tempfile.mkdtemp(prefix="explain-bench-"))
    write_sample_catalog(split_of(data_root, "test"), tmp, n=2, size=224, broken=False)
    photos = sorted(str(p.relative_to(tmp)) for p in tmp.glob("*/*.png"))
    shop = [{"item_id": Path(p).stem, "split": "catalog", "path": p} for p in photos]

    def one_fmnist() -> bytes:
        return explain(fmnist, meta, pair[0], pair[1]).png()

    def one_resnet() -> bytes:
        q, h = (stored_pixels("files", str(tmp), p, 224, 3) for p in shop)
        return overlay_png(exact_maps(resnet, q, h), q, h)

    rows = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for name, fn in (
            ("Fashion-MNIST CNN, 28 px", one_fmnist),
            ("ResNet-18, 224 px", one_resnet),
        ):
            p50, p99 = _timed(fn, repeat)
            rows.append({"model": name, "threads": threads, "p50 ms": p50, "p99 ms": p99})
    return rows


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--pairs", type=int, default=1000)
    p.add_argument("--repeat", type=int, default=50)
    args = p.parse_args()
    settings = Settings()
    with QueryService(settings) as service:
        collection = service.store.resolve(service.name)
        start = time.perf_counter()
        faithful = faithfulness(service, args.pairs)
        seconds = time.perf_counter() - start
        extra = {"collection": collection, "pairs": args.pairs, "seconds": seconds}
        print(write("explain", faithful, extra).read_text())
        fast = latency(service, args.repeat)
    extra = {"collection": collection, "repeat": args.repeat}
    print(write("explain_latency", fast, extra).read_text())


if __name__ == "__main__":
    main()
