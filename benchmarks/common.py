"""Writing benchmark results: one JSON file and one Markdown table per benchmark."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
SLOW_BLAS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def full_speed_blas(module: str) -> None:
    """Re-run this benchmark without OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, which some machines
    here set and which slow numpy's matrix products: a baseline must run at full speed. Call it
    before numpy is imported; it changes only this benchmark's own process."""
    if any(os.environ.get(name) for name in SLOW_BLAS):
        env = {k: v for k, v in os.environ.items() if k not in SLOW_BLAS}
        os.execve(sys.executable, [sys.executable, "-m", module, *sys.argv[1:]], env)


def machine() -> dict[str, Any]:
    import torch  # here, so a benchmark of process start-up can import this module first

    from model.precision import cpu_info

    cpu, flags = cpu_info()
    return {
        "cpu": cpu,
        "cpu_flags": sorted(flags),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpu_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        # Set here, numpy's matrix products were slowed: a result shows it ran without them.
        "slow_blas_settings": {name: os.environ.get(name) for name in SLOW_BLAS},
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def write(name: str, rows: list[dict[str, Any]], extra: dict[str, Any]) -> Path:
    """Write ``results/<name>.json`` and ``results/<name>.md``; return the Markdown path."""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(
        json.dumps({"machine": machine(), **extra, "rows": rows}, indent=2)
    )
    cols = list(rows[0]) if rows else []
    lines = [f"| {' | '.join(cols)} |", f"|{'---|' * len(cols)}"]
    for r in rows:
        cells = [f"{v:.4f}" if isinstance(v, float) else str(v) for v in r.values()]
        lines.append(f"| {' | '.join(cells)} |")
    md = RESULTS / f"{name}.md"
    md.write_text(f"# {name}\n\n" + "\n".join(lines) + "\n")
    return md
