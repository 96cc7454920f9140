"""Flow: the near-duplicate groups of an index, written to a file and published as artifacts."""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from infra.settings import Settings
from search.duplicates import Duplicates, check_threshold
from tasks.duplicates import find_near_duplicates, publish_duplicates


@flow(name="duplicates", flow_run_name="duplicates-{settings.dataset}")
def duplicates_flow(
    settings: Settings, threshold: float = 0.97, alias: str | None = None, out: Path | None = None
) -> tuple[Duplicates, Path, Path]:
    """Groups of items at least ``threshold`` alike in ``alias`` (default: the served one)."""
    check_threshold(threshold)
    name = alias or settings.served_alias
    found = find_near_duplicates(settings, name, threshold)
    out = (
        out
        or settings.runs_dir / settings.dataset / f"duplicates-{found.collection}-{threshold}.jsonl"
    )
    groups, sheet = publish_duplicates(settings, found, out)
    return found, groups, sheet
