"""The scaling benchmark's plot: query time and memory against the number of points."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.common import RESULTS


def plot(
    builds: list[dict[str, Any]],
    queries: list[dict[str, Any]],
    name: str,
    folder: Path = RESULTS,
) -> Path:
    """``<folder>/<name>.png``: p50 per engine and filter at the first beam asked, and memory."""
    import matplotlib

    matplotlib.use("Agg")  # no display here, nor on a CI machine
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    first_ef = next((r["ef"] for r in queries if r["ef"] is not None), None)
    lines: dict[tuple[str, str], list[tuple[int, float]]] = {}
    builds = [b for b in builds if b.get("settings", "now") == "now"]
    for r in queries:
        if r.get("settings", "now") == "now" and r["ef"] in (first_ef, None):
            lines.setdefault((r["engine"], r["filter"]), []).append((r["points"], r["p50_ms"]))
    for (engine, where), points in sorted(lines.items()):
        style = "-" if where == "none" else "--"
        left.plot(
            *zip(*sorted(points), strict=True), style, marker="o", label=f"{engine}, filter {where}"
        )
    left.set(xscale="log", yscale="log", xlabel="points (512-d)", ylabel="query p50 (ms)")
    left.set_title(f"One query at a time (hnsw_ef {first_ef})")
    left.legend(fontsize=7)
    xs = [b["points"] for b in builds]
    for key, label in (
        ("build_peak_anon_mb", "peak anonymous memory of the build"),
        ("build_peak_rss_mb", "peak RSS of the build (with mapped files)"),
        ("peak_rss_mb", "peak RSS, with the benchmark's copies"),
        ("disk_mb", "disk"),
    ):
        right.plot(xs, [b[key] / 1024 for b in builds], marker="o", label=label)
    right.set(xscale="log", xlabel="points (512-d)", ylabel="GB")
    right.set_title("Memory and disk")
    right.legend(fontsize=7)
    fig.tight_layout()
    out = folder / f"{name}.png"
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
