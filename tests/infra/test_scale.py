"""The scaling benchmark's own code path at a small size, so it cannot rot: 20,000 clustered
points through the embedded store, queried unfiltered and by one label beside the engine called
directly, hnswlib and an exact scan, and its plot drawn."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks.scale import blocks, mixture, one_size
from benchmarks.scale_plot import plot
from benchmarks.upsert_log import compare

pytestmark = pytest.mark.slow


def test_the_mixture_is_clustered_labelled_and_the_same_block_by_block() -> None:
    v, labels = mixture(5000, 64, centres=50, seed=1)
    assert v.shape == (5000, 64) and np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)
    assert set(labels.tolist()) == set(range(10))
    again, _ = mixture(5000, 64, centres=50, seed=1)
    assert np.array_equal(v, again)
    starts = [s for s, _, _ in blocks(5000, 64, centres=50, seed=1)]
    assert starts == [0, 2000, 4000]
    sims = v[:200] @ v.T
    # Neighbours share a centre: the nearest other point is far closer than a random one.
    assert np.sort(sims, axis=1)[:, -2].mean() > sims.mean() + 0.3


@pytest.mark.parametrize("quantization", [False, True])
def test_one_size_reports_every_figure(quantization: bool, tmp_path: Path) -> None:
    result = one_size(20_000, 64, centres=200, queries=50, quantization=quantization)
    (row,) = result["build"]
    assert row["points"] == 20_000 and row["upsert_points_per_s"] > 0
    # Every point's vector reaches the disk at least once (the shard's vector file).
    assert row["upsert_kb_written_per_point"] >= 64 * 4 / 1024 and row["upsert_user_s"] > 0
    assert row["hnsw_build_s"] > 0 and row["disk_mb"] > 0 and row["hnswlib_build_s"] > 0
    assert row["filter_check_s"] > 0 and row["weak_values"] == 0  # 20,000 points: all scanned
    assert 0 < row["build_peak_anon_mb"] <= row["build_peak_rss_mb"] <= row["peak_rss_mb"]
    rows = {(r["engine"], r["filter"]): r for r in result["queries"]}
    engines = {"lookalike", "lookalike, checked", "qdrant-edge", "hnswlib", "exact torch"}
    engines |= {"qdrant-edge float"} if quantization else set()
    assert {e for e, _ in rows} == engines
    for (engine, where), r in rows.items():
        assert r["recall_at_10"] >= 0.9, (engine, where)
        assert r["p50_ms"] > 0 and r["points"] == 20_000
    assert rows[("lookalike", "none")]["overhead_vs_engine"] is not None
    assert {w for _, w in rows} == {
        "none",
        "one label",
        "own label",
        "label and season",
        "price band",
    }
    assert rows[("exact torch", "one label")]["recall_at_10"] == 1.0
    out = plot([row], result["queries"], "scale-test", tmp_path)
    assert out.stat().st_size > 10_000


def test_the_log_comparison_writes_one_collection_with_the_log_and_one_without() -> None:
    rows = compare(5000, 64, rounds=1)
    got = {r["write_ahead_log"]: r for r in rows}
    assert set(got) == {True, False} and all(r["upsert_points_per_s"] > 0 for r in rows)
    # The log holds every vector a second time, in files it makes tens of MB at a time.
    assert got[True]["upsert_kb_written_per_point"] > got[False]["upsert_kb_written_per_point"]
    assert got[True]["disk_mb"] > got[False]["disk_mb"] + 10
    ratio = got[False]["upsert_points_per_s"] / got[True]["upsert_points_per_s"]
    assert rows[0]["speedup_without_log"] == rows[1]["speedup_without_log"] == ratio
