"""Run reports: Prefect artifacts (versioned by key in the UI) and an example-query grid PNG."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from prefect import task
from prefect.artifacts import (
    create_markdown_artifact,
    create_table_artifact,
)

from infra.indexes import Decision
from infra.settings import Settings
from infra.store import open_store
from model.data import Split
from tasks.data import DataInfo, load_splits
from tasks.evaluation import Example
from tasks.training import ModelRef, public_config


@dataclass
class RunSummary:
    data: DataInfo
    model: ModelRef
    collection: str
    points: int
    metrics: dict[str, float]
    decision: Decision
    alias: str
    examples: list[Example]
    seconds: dict[str, float] = field(default_factory=dict)


def example_grid(examples: list[Example], splits: dict[str, Split], scale: int = 3) -> Image.Image:
    """One row per example: the query item, then its hits, as Fashion-MNIST thumbnails."""

    def thumb(item_id: str) -> np.ndarray:
        split, _, index = item_id.rpartition("-")
        return splits[split].images[int(index)].numpy()

    cols = 1 + max((len(e.hits) for e in examples), default=0)
    grid = np.zeros((28 * len(examples), 28 * cols + 8), dtype=np.uint8)
    for r, ex in enumerate(examples):
        grid[r * 28 : (r + 1) * 28, :28] = thumb(ex.item_id)
        for c, hit in enumerate(ex.hits, start=1):
            x = 28 * c + 8  # a gap between the query and its hits
            grid[r * 28 : (r + 1) * 28, x : x + 28] = thumb(str(hit.payload["item_id"]))
    img = Image.fromarray(grid)
    return img.resize((img.width * scale, img.height * scale), Image.Resampling.NEAREST)


def _markdown(settings: Settings, s: RunSummary, png: Path, png_b64: str) -> str:
    times = "\n".join(f"| {k} | {v:.1f} |" for k, v in s.seconds.items())
    verdict = "promoted" if s.decision.promoted else "**not promoted**"
    config = "\n".join(f"| `{k}` | `{v}` |" for k, v in public_config(settings).items())
    return f"""# Lookalike run: model `{s.model.model_version}`

- data: {s.data.train_size} train + {s.data.test_size} test, fingerprint `{s.data.fingerprint}`
- checkpoint: `{s.model.checkpoint}` ({"reused" if s.model.cached else "trained"})
- collection: `{s.collection}`, {s.points} points written
- alias `{s.alias}`: {verdict} ({s.decision.reason}); before: `{s.decision.previous}`

| stage | seconds |
| --- | --- |
{times}

## Example queries (query, then its nearest items)

![examples](data:image/png;base64,{png_b64})

Saved as `{png}`.

## Config

| setting | value |
| --- | --- |
{config}
"""


@task(name="publish-report", retries=2, retry_delay_seconds=2, timeout_seconds=600)
def publish_report(settings: Settings, summary: RunSummary) -> Path:
    """Metrics table (new index next to the one served before), Markdown report, grid PNG."""
    served: dict[str, float] = {}
    if summary.decision.previous and summary.decision.previous != summary.collection:
        store = open_store(settings)
        try:
            served = store.metadata(summary.decision.previous).get("metrics", {})
        finally:
            store.close()
    train, test = load_splits(settings, summary.data.root)
    run_dir = settings.runs_dir / summary.model.model_version
    run_dir.mkdir(parents=True, exist_ok=True)
    png = run_dir / "examples.png"
    example_grid(summary.examples, {"train": train, "test": test}).save(png)
    table = [
        {"metric": k, "new index": round(v, 4), "served before": served.get(k)}
        for k, v in summary.metrics.items()
    ]
    create_table_artifact(table, key="lookalike-metrics", description="retrieval metrics")
    b64 = base64.b64encode(png.read_bytes()).decode()
    create_markdown_artifact(
        _markdown(settings, summary, png, b64), key="lookalike-run-report", description="run report"
    )
    (run_dir / "report.md").write_text(_markdown(settings, summary, png, b64))
    return png
