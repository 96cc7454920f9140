"""The scaling benchmark's own code path at a small size, so it cannot rot: 20,000 clustered
points through the embedded store, queried unfiltered and by one label beside an exact scan."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.scale import mixture, one_size

pytestmark = pytest.mark.slow


def test_the_mixture_is_clustered_and_labelled() -> None:
    v, labels = mixture(2000, 64, centres=50, seed=1)
    assert v.shape == (2000, 64) and np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)
    assert set(labels.tolist()) == set(range(10))
    again, _ = mixture(2000, 64, centres=50, seed=1)
    assert np.array_equal(v, again)
    sims = v[:200] @ v.T
    # Neighbours share a centre: the nearest other point is far closer than a random one.
    assert np.sort(sims, axis=1)[:, -2].mean() > sims.mean() + 0.3


@pytest.mark.parametrize("quantization", [False, True])
def test_one_size_reports_every_figure(quantization: bool) -> None:
    row = one_size(20_000, 64, centres=200, queries=50, quantization=quantization)
    assert row["points"] == 20_000 and row["upsert_points_per_s"] > 0
    assert row["hnsw_build_s"] > 0 and row["disk_mb"] > 0 and row["peak_rss_mb"] > 0
    for what in ("unfiltered", "one label"):
        assert row[f"{what}_recall_at_10"] >= 0.9, what
        assert row[f"{what}_p50_ms"] > 0 and row[f"{what}_exact_p50_ms"] > 0
