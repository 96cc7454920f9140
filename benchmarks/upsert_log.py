"""What the embedded store's write-ahead log costs an upsert, side by side in one run.

Lookalike's embedded collections keep no write-ahead log (``IndexParams.write_ahead_log``; see
``EdgeStore.ensure_collection`` for why nothing needs it). This machine's speed drifts by half
within minutes, so the two are compared in alternation: each round builds one collection with
the log and one without, through Lookalike's store as the index flow writes (the scaling
benchmark's synthetic 512-d points, int8, requests of ``upsert_batch_size``, a flush per
shard), and the result is each round's ratio.

`python -m benchmarks.upsert_log [--points 200000] [--rounds 3]`.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.common import full_speed_blas, write
from benchmarks.scale import build
from infra.store.base import IndexParams
from infra.store.edge import EdgeStore


def upsert_rate(points: int, dim: int, log: bool) -> dict[str, Any]:
    """Upsert ``points`` into a fresh collection, with or without the log; no HNSW build."""
    root = Path(tempfile.mkdtemp(prefix="lookalike-upsert-"))
    try:
        store = EdgeStore(root, IndexParams(quantization=True, write_ahead_log=log), True)
        row = build(store, points, dim, centres=2000, finalize=False)
        store.release()
        keep = ("upsert_points_per_s", "upsert_user_s", "upsert_system_s")
        return {k: row[k] for k in (*keep, "upsert_kb_written_per_point", "disk_mb")}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def compare(points: int, dim: int, rounds: int) -> list[dict[str, Any]]:
    """One row per round and log setting, each with its round's ratio (without / with)."""
    rows: list[dict[str, Any]] = []
    for r in range(rounds):
        # Alternate which goes first, so a drift of the machine's speed favours neither.
        order = (True, False) if r % 2 == 0 else (False, True)
        got = {log: upsert_rate(points, dim, log) for log in order}
        ratio = got[False]["upsert_points_per_s"] / got[True]["upsert_points_per_s"]
        for log in order:
            rows.append({"round": r, "points": points, "write_ahead_log": log, **got[log]})
            rows[-1]["speedup_without_log"] = ratio
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=200_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rows = compare(args.points, args.dim, args.rounds)
    ratios = [r["speedup_without_log"] for r in rows[::2]]  # each round's, once
    extra = {"dim": args.dim, "median_speedup_without_log": statistics.median(ratios)}
    print(write(f"upsert_log-{args.points}", rows, extra).read_text())
    print(f"median speed-up without the log: {statistics.median(ratios):.2f}x")


if __name__ == "__main__":
    # numpy makes the points (untimed; no numpy baseline is compared): re-run without
    # OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE all the same, as every benchmark here does.
    full_speed_blas("benchmarks.upsert_log")
    main()
