"""Whole-process cost of a read command against the served index, beside the bare import of the
engine, side by side in one run (median of N each, interleaved so drift hits both alike).

Run after `lookalike run`: `python -m benchmarks.cli [--item test-42] [--runs 5]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import write


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident MiB of one process running ``cmd``."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(
            f"{' '.join(cmd)} failed: {proc.stderr.read().decode() if proc.stderr else ''}"
        )
    return seconds, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--item", default="test-42")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    commands = {
        f"lookalike similar {args.item} -k 10": [
            str(Path(sys.executable).with_name("lookalike")),
            "similar",
            args.item,
            "-k",
            "10",
        ],
        "python -c 'import qdrant_edge'": [sys.executable, "-c", "import qdrant_edge"],
    }
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, cmd in commands.items():
            runs[name].append(timed(cmd))
    rows: list[dict[str, Any]] = [
        {
            "command": name,
            "median_s": statistics.median(s for s, _ in got),
            "max_s": max(s for s, _ in got),
            "peak_rss_mib": max(m for _, m in got),
        }
        for name, got in runs.items()
    ]
    print(write("cli", rows, {"runs": args.runs, "item": args.item}).read_text())


if __name__ == "__main__":
    main()
