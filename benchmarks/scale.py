"""How Lookalike's cost grows with the catalog: synthetic 512-d vectors, 10^5 to 10^6 points.

Embedding a million images on this CPU would take days, so the vectors are synthetic but
clustered: a mixture of ``--centres`` Gaussian centres on the unit sphere (each point its
centre plus isotropic noise, renormalised), each centre with one of 10 labels, so HNSW faces
the structure of a real catalog (neighbourhoods, not uniform noise). Queries are fresh points of
the same mixture. Points are made block by block (each block from its own seed), so the build
never holds all vectors: its peak memory is the store's.

Each size runs in a process of its own (so its peak resident memory is its own) and goes
through Lookalike's store code as the index flow drives it (`EdgeStore` held open: create,
upsert in the flow's requests, a flush per shard, finalize = flush and build HNSW, then the
flow's filter check). It reports upsert points/s with its user and system CPU and the bytes
written per point, the HNSW build time, the filter check's time and the values it found weak,
segments, disk size and peak RSS; then, one query at a time, p50/p99 and recall@10,
unfiltered and under each filter of :func:`benchmarks.scale_queries.filters` (one label, the
query's own label, one label and one season, a price band), for each search beam asked, of
Lookalike's store, of Lookalike's query path at the store's beam (``lookalike, checked``: a
weak value walks with the beam its check found, or is scanned), of the engine called directly
(what Lookalike's own code costs), with quantization ignored (what int8 costs in recall), of
hnswlib on the same vectors, and of an exact torch scan, all in the same process.

``--settings before now`` builds each size twice, with the store's settings before filtered
recall was fixed (only the engine asked, as the store asked it then) and as they are.

`python -m benchmarks.scale [--sizes 100000 300000 1000000] [--quantization] [--ef 128 512]
[--settings before now] [--no-hnswlib] [--tag TAG]`.
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

from benchmarks.common import RESULTS, full_speed_blas, write
from benchmarks.memory import PeakAnonymous, cpu_seconds, peak_rss_mb, written_mb
from benchmarks.scale_queries import ENGINES, Filter, Queries, filters, hnswlib_index
from infra.settings import IndexSettings
from infra.store.base import CollectionSpec, IndexParams, PointBatch
from infra.store.edge import EdgeStore
from search import filter_check
from search.metadata import read_meta, write_meta

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


def attributes(start: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Each point's season (one of 10) and price (uniform in 0-100), unrelated to its centre."""
    rng = np.random.default_rng([7, start])
    return rng.integers(10, size=n), rng.uniform(0, 100, n)


def all_attributes(n: int) -> tuple[np.ndarray, np.ndarray]:
    parts = [attributes(s, min(BLOCK, n - s)) for s in range(0, n, BLOCK)]
    return np.concatenate([a for a, _ in parts]), np.concatenate([b for _, b in parts])


# The store as it was before filtered recall was fixed, and as it is: the old one gave a float
# field no payload index and sent filters of more than 1,000 KB of vectors to the graph.
SETTINGS: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    "before": ({"full_scan_threshold_kb": 1000}, ()),
    "now": ({}, ("price",)),
}


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
    store: EdgeStore,
    n: int,
    dim: int,
    centres: int,
    finalize: bool = True,
    float_fields: tuple[str, ...] = ("price",),
) -> dict[str, Any]:
    """Create, upsert and (unless told not to) finalize the collection ``scale`` as the index
    flow writes one: in requests of ``upsert_batch_size`` points and a flush after each
    ``index_shard_size`` (the flow's upsert task closes its held store, which flushes). Only the
    store's calls are timed: making the synthetic points is not indexing."""
    flow = IndexSettings()
    batch = flow.upsert_batch_size
    spec = CollectionSpec("scale", dim, (), ("label", "season"), float_fields)
    upsert, unflushed = Spent(), 0
    with PeakAnonymous() as anonymous:
        store.ensure_collection(spec)
        written = written_mb()
        for s, vectors, labels in blocks(n, dim, centres, seed=1):
            seasons, prices = attributes(s, len(vectors))
            ids = point_ids(s, s + len(vectors))
            payloads = [
                {"label": int(a), "season": int(b), "price": float(c)}
                for a, b, c in zip(labels, seasons, prices, strict=True)
            ]
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
        "segments": store._shard("scale").info().segments_count,
        "disk_mb": disk / 2**20,
        "build_peak_anon_mb": anonymous.peak_mb,
        "build_peak_rss_mb": peak_rss_mb(),  # before this process makes anything else
    }


def _count_ms(store: EdgeStore, asked: list[Filter]) -> float:
    """One exact count of the label-and-season filter, as the query path asks it the first
    time (search.filter_check.matches)."""
    where = next(f for f in asked if f.name == "label and season").where(0)
    start = time.perf_counter()
    store.count("scale", where)
    return (time.perf_counter() - start) * 1000


def one_size(
    n: int,
    dim: int,
    centres: int,
    queries: int,
    quantization: bool,
    efs: tuple[int | None, ...] = (None,),
    hnswlib: bool = True,
    settings: tuple[str, ...] = ("now",),
) -> dict[str, Any]:
    """Build and query one collection of ``n`` points under each of ``settings`` in turn:
    ``{"build": rows, "queries": rows}``. Under "before" only the engine is asked (what the
    store asked of it then); hnswlib once, beside the last."""
    vectors, labels = mixture(n, dim, centres, seed=1)
    seasons, prices = all_attributes(n)
    q, own = mixture(queries, dim, centres, seed=2)
    asked = filters(labels, seasons, prices, own)
    builds: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for name in settings:
        overrides, float_fields = SETTINGS[name]
        root = Path(tempfile.mkdtemp(prefix="lookalike-scale-"))
        params = IndexParams(quantization=quantization, **overrides)
        try:
            store = EdgeStore(root, params, keep_open=True)  # as the index flow holds it
            row = {"settings": name} | build(store, n, dim, centres, float_fields=float_fields)
            other = None
            if hnswlib and name == settings[-1]:
                other, row["hnswlib_build_s"] = hnswlib_index(vectors, params)
            engines = ["qdrant-edge"] if name == "before" else ENGINES
            meta = None
            if name != "before":  # as the index flow checks what it built and marks it
                row["filter_check_s"] = filter_check.check(store, "scale", params)
                digest = f"scale-{n}-{dim}-{centres}"  # what the seeded generator made
                write_meta(store, "scale", complete=True, points=n, items_digest=digest)
                row["count_label_and_season_ms"] = _count_ms(store, asked)
                meta = read_meta(store, "scale")
                row["weak_values"] = sum(len(v) for v in meta.weak_filters.values())
            bench = Queries(store, "scale", vectors, q, other, engines, meta)
            found = bench.run(efs, asked)
            rows += [{"points": n, "settings": name} | r for r in found]
            store.release()
            row["peak_rss_mb"] = peak_rss_mb()
            builds.append(row)
        finally:
            shutil.rmtree(root, ignore_errors=True)
    return {"build": builds, "queries": rows}


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
    parser.add_argument(
        "--settings", nargs="+", default=["now"], choices=sorted(SETTINGS), help="store settings"
    )
    parser.add_argument("--tag", default="", help="added to the results' file names")
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    common = (args.dim, args.centres, args.queries, args.quantization, tuple(args.ef))
    if args.one is not None:  # the child process of one size
        result = one_size(
            args.one, *common, hnswlib=not args.no_hnswlib, settings=tuple(args.settings)
        )
        print(json.dumps(result))
        return
    name = "scale-int8" if args.quantization else "scale"
    if args.settings != ["now"]:
        name += "-" + "-".join(args.settings)
    name += f"-{args.tag}" if args.tag else ""
    extra = {"dim": args.dim, "centres": args.centres, "queries": args.queries, "ef": args.ef}
    builds, queries = [], []
    for n in args.sizes:
        cmd = [sys.executable, "-m", "benchmarks.scale", "--one", str(n), *sys.argv[1:]]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        result = json.loads(out.strip().splitlines()[-1])
        builds += result["build"]
        queries += result["queries"]
        print(json.dumps(result), flush=True)
        # Written after every size: a run of an hour killed late keeps what it measured.
        write(name, builds, extra)
        write(f"{name}-queries", queries, extra)
    print((RESULTS / f"{name}.md").read_text())
    print((RESULTS / f"{name}-queries.md").read_text())
    from benchmarks.scale_plot import plot  # matplotlib only where a plot is drawn

    print(plot(builds, queries, name))


if __name__ == "__main__":
    # The exact scan (torch) is the baseline and numpy makes the vectors: neither runs under
    # OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE. Re-run without them here, not at import: the tests
    # import this module and must keep their environment.
    full_speed_blas("benchmarks.scale")
    os.environ.setdefault("LOOKALIKE_PROGRESS", "false")
    main()
