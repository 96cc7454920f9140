"""The end-to-end job on the full data set: time per stage and retrieval quality.

Run: `python -m benchmarks.pipeline` (LOOKALIKE_* settings apply; flags override).
"""

from __future__ import annotations

import sys

from app.cli import build_parser, settings_from
from app.console import print_summary
from benchmarks.common import write
from flows.pipeline import pipeline


def main() -> None:
    args = build_parser().parse_args(["run", *sys.argv[1:]])
    summary = pipeline(settings_from(args))
    print_summary(summary)
    rows = [{"stage": k, "seconds": v} for k, v in summary.seconds.items()]
    rows.append({"stage": "total", "seconds": sum(summary.seconds.values())})
    rows += [{"stage": f"metric {k}", "seconds": v} for k, v in summary.metrics.items()]
    extra = {
        "model_version": summary.model.model_version,
        "points": summary.points,
        "metrics": summary.metrics,
        "seconds": summary.seconds,
        "items": summary.source.count,
        "embedded": summary.embedded,
    }
    print(write("pipeline", rows, extra).read_text())


if __name__ == "__main__":
    main()
