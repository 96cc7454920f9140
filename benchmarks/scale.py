"""How Lookalike's cost grows with the catalog: synthetic 512-d vectors, 10^5 to 10^6 points.

Embedding a million images on this CPU would take days, so the vectors are synthetic but
clustered: a mixture of ``--centres`` Gaussian centres on the unit sphere (each point its
centre plus isotropic noise, renormalised), each centre with one of 10 labels, so HNSW faces
the structure of a real catalog (neighbourhoods, not uniform noise). Queries are fresh points of
the same mixture.

Each size runs in a process of its own (so its peak resident memory is its own) and goes
through Lookalike's store code (`EdgeStore`: create, upsert in batches, finalize = flush and
build HNSW). It reports upsert points/s, the HNSW build time, disk size, peak RSS, and query
p50/p99 with recall@10, unfiltered and filtered by one label (10% of the points), beside an
exact scan with torch of the same vectors in the same process.

`python -m benchmarks.scale [--sizes 100000 300000 1000000] [--quantization]`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmarks.common import full_speed_blas, write
from infra.store.base import CollectionSpec, Condition, IndexParams, PointBatch, Search
from infra.store.edge import EdgeStore

BATCH = 2000


def mixture(
    n: int, dim: int, centres: int, seed: int, sigma: float = 0.6
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` unit vectors around ``centres`` centres, and their labels (centre mod 10)."""
    rng = np.random.default_rng(0)  # the centres are the same for every call
    c = rng.standard_normal((centres, dim)).astype(np.float32)
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    rng = np.random.default_rng(seed)
    which = rng.integers(centres, size=n)
    v = c[which] + rng.normal(0, sigma / np.sqrt(dim), (n, dim)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v.astype(np.float32), (which % 10).astype(np.int64)


def timed(fn: Any, runs: list[float]) -> Any:
    start = time.perf_counter()
    out = fn()
    runs.append((time.perf_counter() - start) * 1e3)
    return out


def queried(
    store: EdgeStore,
    x: torch.Tensor,
    labels: np.ndarray,
    q: np.ndarray,
    what: str,
    where: int | None,
    ef: int | None = None,
) -> dict[str, float]:
    """Query p50/p99 and recall@10 of the index against an exact torch scan, one query at a time."""
    mask = None if where is None else torch.from_numpy(labels == where)
    cond = () if where is None else (Condition.equals("label", where),)
    search = Search(10, cond, with_payload=False, hnsw_ef=ef)
    engine: list[float] = []
    exact: list[float] = []
    found_right = 0
    for i in range(len(q)):
        qi = torch.from_numpy(q[i])

        def scan(qi: torch.Tensor = qi) -> torch.Tensor:
            sims = x @ qi
            if mask is not None:
                sims = sims.masked_fill(~mask, -2.0)
            return torch.topk(sims, 10).indices

        truth = timed(scan, exact)
        got = timed(lambda i=i: store.query("scale", q[i : i + 1], search)[0], engine)
        found_right += len({int(h.id.rsplit("-", 1)[1]) for h in got} & set(truth.tolist()))
    p50, exact_p50 = statistics.median(engine), statistics.median(exact)
    return {
        f"{what}_p50_ms": p50,
        f"{what}_p99_ms": sorted(engine)[int(0.99 * len(engine))],
        f"{what}_recall_at_10": found_right / (10 * len(q)),
        f"{what}_exact_p50_ms": exact_p50,
        f"{what}_speed_up": exact_p50 / p50,
    }


def one_size(
    n: int, dim: int, centres: int, queries: int, quantization: bool, ef: int | None = None
) -> dict[str, Any]:
    """Build and query one collection of ``n`` points; the row of the table."""
    vectors, labels = mixture(n, dim, centres, seed=1)
    q, _ = mixture(queries, dim, centres, seed=2)
    root = Path(tempfile.mkdtemp(prefix="lookalike-scale-"))
    params = IndexParams(quantization=quantization)
    try:
        store = EdgeStore(root, params)
        spec = CollectionSpec("scale", dim, keyword_fields=(), integer_fields=("label",))
        store.ensure_collection(spec)
        start = time.perf_counter()
        for s in range(0, n, BATCH):
            ids = [f"00000000-0000-5000-8000-{i:012d}" for i in range(s, min(n, s + BATCH))]
            payloads = [{"label": int(x)} for x in labels[s : s + BATCH]]
            store.upsert("scale", PointBatch(ids, vectors[s : s + BATCH], payloads))
        upsert_s = time.perf_counter() - start
        start = time.perf_counter()
        store.finalize("scale")
        build_s = time.perf_counter() - start
        disk = sum(f.stat().st_size for f in root.rglob("*") if f.is_file())
        row: dict[str, Any] = {
            "points": n,
            "upsert_points_per_s": n / upsert_s,
            "hnsw_build_s": build_s,
            "disk_mb": disk / 2**20,
        }
        x = torch.from_numpy(vectors)
        for what, where in (("unfiltered", None), ("one label", 3)):
            row |= queried(store, x, labels, q, what, where, ef)
        store.close()
        row["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return row
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 300_000, 1_000_000])
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--centres", type=int, default=2000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--quantization", action="store_true")
    parser.add_argument("--ef", type=int, default=None, help="search beam (default: the store's)")
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:  # the child process of one size
        print(
            json.dumps(
                one_size(args.one, args.dim, args.centres, args.queries, args.quantization, args.ef)
            )
        )
        return
    rows = []
    for n in args.sizes:
        cmd = [
            sys.executable,
            "-m",
            "benchmarks.scale",
            "--one",
            str(n),
            "--dim",
            str(args.dim),
            "--centres",
            str(args.centres),
            "--queries",
            str(args.queries),
        ]
        cmd += ["--quantization"] if args.quantization else []
        cmd += ["--ef", str(args.ef)] if args.ef else []
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    name = "scale-int8" if args.quantization else "scale"
    name += f"-ef{args.ef}" if args.ef else ""
    extra = {"dim": args.dim, "centres": args.centres, "queries": args.queries, "ef": args.ef}
    print(write(name, rows, extra).read_text())


if __name__ == "__main__":
    # The exact scan (torch) is the baseline and numpy makes the vectors: neither runs under
    # OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE. Re-run without them here, not at import: the tests
    # import this module and must keep their environment.
    full_speed_blas("benchmarks.scale")
    os.environ.setdefault("LOOKALIKE_PROGRESS", "false")
    main()
