"""How Lookalike's cost grows with the catalog: synthetic 512-d vectors, 10^5 to 10^6 points.

Embedding a million images on this CPU would take days, so the vectors are synthetic but
clustered: a mixture of ``--centres`` Gaussian centres on the unit sphere (each point its
centre plus isotropic noise, renormalised), each centre with one of 10 labels, so HNSW faces
the structure of a real catalog (neighbourhoods, not uniform noise). Queries are fresh points of
the same mixture. Points are made block by block (each block from its own seed), so the build
never holds all vectors: its peak memory is the store's.

Each size runs in a process of its own (so its peak resident memory is its own) and goes
through Lookalike's store code as the index flow drives it (`EdgeStore` held open: create,
upsert in the flow's requests, a flush per shard, finalize = flush and build HNSW). It reports
upsert points/s with its user and system CPU and the bytes written per point, the HNSW build
time, disk size and peak RSS; then, one query at a time, p50/p99 and recall@10, unfiltered and
filtered by one label (10% of the points), for each search beam asked, of Lookalike's store, of
the engine called directly (what Lookalike's own code costs), with quantization ignored (what
int8 costs in recall), of hnswlib on the same vectors, and of an exact torch scan, all in the
same process.

`python -m benchmarks.scale [--sizes 100000 300000 1000000] [--quantization] [--ef 128 512]`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import full_speed_blas, write
from benchmarks.memory import PeakAnonymous, cpu_seconds, peak_rss_mb, written_mb
from benchmarks.scale_queries import Queries, hnswlib_index
from infra.settings import IndexSettings
from infra.store.base import CollectionSpec, IndexParams, PointBatch
from infra.store.edge import EdgeStore

BLOCK = 2000  # points made at a time


def blocks(
    n: int, dim: int, centres: int, seed: int, sigma: float = 0.6
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """``(start, vectors, labels)`` of ``n`` unit vectors around ``centres`` centres, labelled
    centre mod 10, ``BLOCK`` at a time; the same points whatever reads them."""
    c = np.random.default_rng(0).standard_normal((centres, dim)).astype(np.float32)
    c /= np.linalg.norm(c, axis=1, keepdims=True)  # the centres are the same for every call
    for start in range(0, n, BLOCK):
        rng = np.random.default_rng([seed, start])
        which = rng.integers(centres, size=min(BLOCK, n - start))
        noise = rng.normal(0, sigma / np.sqrt(dim), (len(which), dim)).astype(np.float32)
        v = c[which] + noise
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        yield start, v.astype(np.float32), (which % 10).astype(np.int64)


def mixture(n: int, dim: int, centres: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """All ``n`` points of :func:`blocks` at once, and their labels."""
    parts = list(blocks(n, dim, centres, seed))
    return np.concatenate([v for _, v, _ in parts]), np.concatenate([lab for _, _, lab in parts])


def point_ids(start: int, stop: int) -> list[str]:
    return [f"00000000-0000-5000-8000-{i:012d}" for i in range(start, stop)]


class Spent:
    """Wall and CPU seconds spent inside its ``with`` blocks, added up."""

    def __init__(self) -> None:
        self.wall = self.user = self.system = 0.0

    def __enter__(self) -> None:
        self._at = (time.perf_counter(), *cpu_seconds())

    def __exit__(self, *exc: object) -> None:
        wall, user, system = self._at
        now_user, now_system = cpu_seconds()
        self.wall += time.perf_counter() - wall
        self.user += now_user - user
        self.system += now_system - system


def build(
    store: EdgeStore, n: int, dim: int, centres: int, finalize: bool = True
) -> dict[str, Any]:
    """Create, upsert and (unless told not to) finalize the collection ``scale`` as the index
    flow writes one: in requests of ``upsert_batch_size`` points and a flush after each
    ``index_shard_size`` (the flow's upsert task closes its held store, which flushes). Only the
    store's calls are timed: making the synthetic points is not indexing."""
    flow = IndexSettings()
    batch = flow.upsert_batch_size
    spec = CollectionSpec("scale", dim, keyword_fields=(), integer_fields=("label",))
    upsert, unflushed = Spent(), 0
    with PeakAnonymous() as anonymous:
        store.ensure_collection(spec)
        written = written_mb()
        for s, vectors, labels in blocks(n, dim, centres, seed=1):
            ids, payloads = point_ids(s, s + len(vectors)), [{"label": int(x)} for x in labels]
            with upsert:
                for b in range(0, len(ids), batch):
                    part = slice(b, b + batch)
                    store.upsert("scale", PointBatch(ids[part], vectors[part], payloads[part]))
                unflushed += len(ids)
                if unflushed >= flow.index_shard_size or s + len(ids) == n:
                    store.close()  # held open: this only flushes
                    unflushed = 0
        written = written_mb() - written
        start = time.perf_counter()
        if finalize:
            store.finalize("scale")
        build_s = time.perf_counter() - start
    disk = sum(f.stat().st_size for f in store.root.rglob("*") if f.is_file())
    return {
        "points": n,
        "upsert_points_per_s": n / upsert.wall,
        # Where the upsert's time goes: Python and the engine (user), the kernel's handling of
        # the shard's memory-mapped files and the write-ahead log (system), and the bytes the
        # disk must take for each point.
        "upsert_user_s": upsert.user,
        "upsert_system_s": upsert.system,
        "upsert_kb_written_per_point": written * 1024 / n,
        "hnsw_build_s": build_s,
        "disk_mb": disk / 2**20,
        "build_peak_anon_mb": anonymous.peak_mb,
        "build_peak_rss_mb": peak_rss_mb(),  # before this process makes anything else
    }


def one_size(
    n: int,
    dim: int,
    centres: int,
    queries: int,
    quantization: bool,
    efs: tuple[int | None, ...] = (None,),
    hnswlib: bool = True,
) -> dict[str, Any]:
    """Build and query one collection of ``n`` points: ``{"build": row, "queries": rows}``."""
    root = Path(tempfile.mkdtemp(prefix="lookalike-scale-"))
    params = IndexParams(quantization=quantization)
    try:
        store = EdgeStore(root, params, keep_open=True)  # as the index flow holds it
        row = build(store, n, dim, centres)
        vectors, labels = mixture(n, dim, centres, seed=1)
        q, _ = mixture(queries, dim, centres, seed=2)
        other = None
        if hnswlib:
            other, row["hnswlib_build_s"] = hnswlib_index(vectors, params)
        bench = Queries(store, "scale", vectors, labels, q, other)
        rows = [{"points": n} | r for r in bench.run(efs, (None, 3))]
        store.release()
        row["peak_rss_mb"] = peak_rss_mb()
        return {"build": row, "queries": rows}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 300_000, 1_000_000])
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--centres", type=int, default=2000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--quantization", action="store_true")
    parser.add_argument(
        "--ef", type=int, nargs="+", default=[None], help="search beams (default: the store's)"
    )
    parser.add_argument("--no-hnswlib", action="store_true", help="leave hnswlib out")
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    common = (args.dim, args.centres, args.queries, args.quantization, tuple(args.ef))
    if args.one is not None:  # the child process of one size
        print(json.dumps(one_size(args.one, *common, hnswlib=not args.no_hnswlib)))
        return
    builds, queries = [], []
    for n in args.sizes:
        cmd = [sys.executable, "-m", "benchmarks.scale", "--one", str(n), *sys.argv[1:]]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        result = json.loads(out.strip().splitlines()[-1])
        builds.append(result["build"])
        queries += result["queries"]
        print(json.dumps(result), flush=True)
    name = "scale-int8" if args.quantization else "scale"
    extra = {"dim": args.dim, "centres": args.centres, "queries": args.queries, "ef": args.ef}
    print(write(name, builds, extra).read_text())
    print(write(f"{name}-queries", queries, extra).read_text())
    from benchmarks.scale_plot import plot  # matplotlib only where a plot is drawn

    print(plot(builds, queries, name))


if __name__ == "__main__":
    # The exact scan (torch) is the baseline and numpy makes the vectors: neither runs under
    # OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE. Re-run without them here, not at import: the tests
    # import this module and must keep their environment.
    full_speed_blas("benchmarks.scale")
    os.environ.setdefault("LOOKALIKE_PROGRESS", "false")
    main()
