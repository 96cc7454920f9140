"""Catalog run reports: what was indexed, what was left out and why, and example queries."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from infra.indexes import Decision
from infra.query import QueryOptions, similar_to_item
from infra.settings import Settings
from infra.store import Hit, open_store
from model.images import decode_rgb
from tasks.catalog import CatalogInfo, catalog_dir, load_items
from tasks.indexing import BACKOFF, RETRIES
from tasks.training import ModelRef

THUMB = 64


@dataclass
class CatalogSummary:
    info: CatalogInfo
    model: ModelRef
    collection: str
    points: int
    metrics: dict[str, float]
    decision: Decision
    alias: str
    examples: list[tuple[str, list[Hit]]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


@task(name="catalog-examples", retries=RETRIES, retry_delay_seconds=BACKOFF, timeout_seconds=600)
def catalog_examples(
    settings: Settings, info: CatalogInfo, collection: str, n: int = 3
) -> list[tuple[str, list[Hit]]]:
    """'More like this' for ``n`` items spread over the catalog."""
    items = load_items(info)
    picks = [items[i * len(items) // n].item_id for i in range(min(n, len(items)))]
    store = open_store(settings)
    try:
        return [(p, similar_to_item(store, collection, p, QueryOptions(k=5))) for p in picks]
    finally:
        store.close()


def example_grid(info: CatalogInfo, examples: list[tuple[str, list[Hit]]]) -> Image.Image:
    """One row per example: the query item, a gap, then its hits."""
    paths = {i.item_id: i.path for i in load_items(info)}
    cols = 1 + max((len(h) for _, h in examples), default=0)
    grid = np.full((THUMB * len(examples), THUMB * cols + 8, 3), 255, dtype=np.uint8)
    for r, (item_id, hits) in enumerate(examples):
        row = [item_id, *(str(h.payload["item_id"]) for h in hits)]
        for c, iid in enumerate(row):
            x = THUMB * c + (8 if c else 0)
            thumb = decode_rgb(paths[iid], THUMB).permute(1, 2, 0).numpy()
            grid[r * THUMB : (r + 1) * THUMB, x : x + THUMB] = thumb
    return Image.fromarray(grid)


def _markdown(s: CatalogSummary, b64: str) -> str:
    times = "\n".join(f"| {k} | {v:.1f} |" for k, v in s.seconds.items())
    metrics = "\n".join(f"| {k} | {v:.4f} |" for k, v in s.metrics.items()) or "| (no labels) | |"
    problems = "\n".join(f"| `{p.item_id}` | `{p.path}` | {p.reason} |" for p in s.info.problems)
    verdict = "promoted" if s.decision.promoted else "**not promoted**"
    return f"""# Lookalike catalog run: `{s.info.source}`

- {s.info.count} items indexed, **{len(s.info.problems)} left out** (listed below)
- labels: {", ".join(s.info.labels) or "none"}; catalog fingerprint `{s.info.fingerprint}`
- model `{s.model.model_version}` ({"reused" if s.model.cached else "built"}), checkpoint
  `{s.model.checkpoint}`
- collection `{s.collection}`: {s.points} points; alias `{s.alias}`: {verdict}
  ({s.decision.reason})

| stage | seconds |
| --- | --- |
{times}

| metric (leave-one-out) | value |
| --- | --- |
{metrics}

## Left out

| item id | file | reason |
| --- | --- | --- |
{problems or "| | | nothing |"}

## Example queries (query, then its nearest items)

![examples](data:image/png;base64,{b64})
"""


@task(name="publish-catalog-report", retries=2, retry_delay_seconds=2, timeout_seconds=600)
def publish_catalog_report(settings: Settings, summary: CatalogSummary) -> Path:
    """Problems table and Markdown report as Prefect artifacts; both saved in the run folder."""
    run_dir = catalog_dir(settings) / summary.model.model_version
    run_dir.mkdir(parents=True, exist_ok=True)
    png = run_dir / "examples.png"
    example_grid(summary.info, summary.examples).save(png)
    rows = [
        {"item_id": p.item_id, "file": p.path, "reason": p.reason} for p in summary.info.problems
    ]
    create_table_artifact(
        rows or [{"item_id": "", "file": "", "reason": "nothing left out"}],
        key="lookalike-catalog-problems",
        description=f"{len(rows)} catalog items left out, and why",
    )
    markdown = _markdown(summary, base64.b64encode(png.read_bytes()).decode())
    create_markdown_artifact(markdown, key="lookalike-catalog-report", description="catalog run")
    report = run_dir / "report.md"
    report.write_text(markdown)
    return report
