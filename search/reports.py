"""What a run did, for people: a summary, a Markdown report and a grid of example answers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from catalogs.base import Item, SourceInfo
from catalogs.scan import thumbnail
from infra.checkpoints import ModelRef
from infra.store.base import Hit
from search.baselines import COPIES, COPY_COSINE
from search.promotion import Decision

THUMB = 84
GAP = 8

Examples = list[tuple[str, list[Hit]]]


@dataclass
class RunSummary:
    source: SourceInfo
    model: ModelRef
    collection: str
    points: int
    embedded: int
    metrics: dict[str, float]
    decision: Decision
    alias: str
    examples: Examples
    seconds: dict[str, float] = field(default_factory=dict)
    export: dict[str, Any] | None = None  # what the neighbour export wrote, when it ran


def example_grid(source: SourceInfo, items: Sequence[Item], examples: Examples) -> Image.Image:
    """One row per example: the query item, a gap, then its hits."""
    by_id = {i.item_id: i for i in items}
    cols = 1 + max((len(h) for _, h in examples), default=0)
    grid = np.full((THUMB * len(examples), THUMB * cols + GAP, 3), 255, dtype=np.uint8)
    for r, (item_id, hits) in enumerate(examples):
        row = [item_id, *(str(h.payload["item_id"]) for h in hits)]
        for c, iid in enumerate(row):
            x = THUMB * c + (GAP if c else 0)
            grid[r * THUMB : (r + 1) * THUMB, x : x + THUMB] = thumbnail(source, by_id[iid], THUMB)
    return Image.fromarray(grid)


def shown(name: str, value: float) -> str:
    """A metric as people read it: a count (``…_count``) whole, any other to four places."""
    return f"{int(value)}" if name.endswith("_count") else f"{value:.4f}"


def copies_line(metrics: dict[str, float]) -> str | None:
    """What the copies count means, in one line; None when the evaluation counted none."""
    if COPIES not in metrics:
        return None
    return (
        f"copies: {int(metrics[COPIES])} test items have a copy among the train items in raw "
        f"pixels (cosine >= {COPY_COSINE}); the precision_at_1_without_copies rows leave them out."
    )


def _rows(pairs: Sequence[tuple[str, str]]) -> str:
    return "\n".join(f"| {a} | {b} |" for a, b in pairs)


def markdown(s: RunSummary, config: dict[str, Any], png: str, png_b64: str) -> str:
    """The run report: inputs, verdict, stage times, metrics, what was left out, examples."""
    verdict = "promoted" if s.decision.promoted else "**not promoted**"
    problems = "\n".join(f"| `{p.item_id}` | `{p.path}` | {p.reason} |" for p in s.source.problems)
    metrics = _rows([(k, shown(k, v)) for k, v in s.metrics.items()]) or "| (no labels) | |"
    copies = copies_line(s.metrics)
    note = f"\n{copies}\n" if copies else ""
    return f"""# Lookalike run: {s.source.description}, model `{s.model.model_version}`

- source: {s.source.count} items, **{len(s.source.problems)} left out** (listed below);
  labels: {", ".join(s.source.labels) or "none"}; fingerprint `{s.source.fingerprint}`
- checkpoint: `{s.model.checkpoint}` ({"reused" if s.model.cached else "made by this run"}),
  trained in {s.model.precision}{f", recipe {s.model.recipe}" if s.model.recipe else ""}
- collection: `{s.collection}`, {s.points} points, {s.embedded} embedded by this run
- alias `{s.alias}`: {verdict} ({s.decision.reason}); before: `{s.decision.previous}`

| stage | seconds |
| --- | --- |
{_rows([(k, f"{v:.1f}") for k, v in s.seconds.items()])}

| metric | value |
| --- | --- |
{metrics}
{note}
## Left out

| item id | file | reason |
| --- | --- | --- |
{problems or "| | | nothing |"}

## Example queries (query, then its nearest items)

![examples](data:image/png;base64,{png_b64})

Saved as `{png}`.

## Config

| setting | value |
| --- | --- |
{_rows([(f"`{k}`", f"`{v}`") for k, v in config.items()])}
"""


def contact_sheet(rows: Sequence[Sequence[np.ndarray]], columns: int = 8) -> Image.Image:
    """One row of thumbnails per group (the largest groups first), at most ``columns`` each."""
    width = min(columns, max((len(r) for r in rows), default=1))
    sheet = np.full((THUMB * max(1, len(rows)), THUMB * width, 3), 255, dtype=np.uint8)
    for r, thumbs in enumerate(rows):
        for c, thumb in enumerate(thumbs[:width]):
            sheet[r * THUMB : (r + 1) * THUMB, c * THUMB : (c + 1) * THUMB] = thumb
    return Image.fromarray(sheet)
