"""The end-to-end job on the full data set: time per stage and retrieval quality.

Run: `python -m benchmarks.pipeline` (LOOKALIKE_* settings apply; flags override).
"""

from __future__ import annotations

import sys

from benchmarks.common import write
from flows.cli import build_parser, settings_from
from flows.pipeline import pipeline
from flows.report import print_summary


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
        "train_size": summary.data.train_size,
        "test_size": summary.data.test_size,
    }
    print(write("pipeline", rows, extra).read_text())


if __name__ == "__main__":
    main()
