"""The neighbour export at a million points: its time, peak memory and file size.

The items are synthetic, 512-d, the clustered mixture of ``benchmarks.scale`` (embedding a
million photos here would take days), indexed through the index flow's own tasks as
``benchmarks.index_memory`` does (a manifest-like catalog: a label of 20, a colour, a price).
Then the export runs as `lookalike export` runs it, with the export settings' defaults (k 20,
beam ``LOOKALIKE_EXPORT_HNSW_EF``), streaming to Parquet. Reported: the build's seconds, the
export's seconds and lists per second, its peak resident anonymous memory above what the
process held before it (the store's memory-mapped files left out, as in
``benchmarks.index_memory``) and the file's size. No exact join at this size: a million
512-d self-queries by brute force are what the export exists to avoid (the 70,000-item run of
``benchmarks.export`` measures recall against one).

`python -m benchmarks.export_scale [-n 1000000]`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import write
from benchmarks.index_memory import index_once, synthetic_setup
from benchmarks.memory import PeakAnonymous, anon_mb
from infra.store import open_store
from search.export_run import export_neighbours
from tasks.export import spec_from

DIM = 512


def one_run(n: int) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="lookalike-export-scale-"))
    try:
        settings, model, source = synthetic_setup(n, folder, DIM)
        start = time.perf_counter()
        index_once(settings, model, source, dim=DIM)
        build_s = time.perf_counter() - start
        print(f"{n:,} points indexed in {build_s:.1f} s; exporting", flush=True)
        spec = spec_from(settings.export, source.labels)
        out = folder / "neighbours.parquet"
        with open_store(settings.store, read_only=True) as store:
            (name,) = store.list_collections()  # the one index_once built (never promoted)
            before = anon_mb()
            with PeakAnonymous() as peak:
                done = export_neighbours(store, name, spec, out)
        return {
            "points": n,
            "dim": DIM,
            "k": spec.opts.k,
            "beam": spec.opts.hnsw_ef,
            "index_s": round(build_s, 1),
            "export_s": round(done.seconds, 1),
            "lists_per_s": round(done.computed / done.seconds, 1),
            "rows": done.rows,
            "export_peak_anon_growth_mb": round(peak.peak_mb - before, 1),
            "file_mb": round(out.stat().st_size / 1e6, 1),
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=1_000_000)
    args = parser.parse_args()
    row = one_run(args.n)
    print(row, flush=True)
    print(write(f"export_scale-{args.n}", [row], {"dim": DIM}).read_text())


if __name__ == "__main__":
    os.environ.setdefault("LOOKALIKE_PROGRESS", "false")
    main()
