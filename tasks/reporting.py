"""Report task: Prefect artifacts (versioned by key in the UI) and the report files."""

from __future__ import annotations

import base64
from pathlib import Path

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from catalogs.scan import load_items
from infra.settings import Settings
from infra.store import open_store
from search.metadata import read_meta
from search.reports import RunSummary, example_grid, markdown
from training.runs import public_config


@task(name="publish-report")
def publish_report(settings: Settings, summary: RunSummary) -> Path:
    """Metrics (beside the index served before), problems and the Markdown report as artifacts;
    ``report.md`` and ``examples.png`` in the run folder. Returns the report's path."""
    served: dict[str, float] = {}
    if summary.decision.previous and summary.decision.previous != summary.collection:
        with open_store(settings.store) as store:
            served = read_meta(store, summary.decision.previous).metrics
    run_dir = settings.runs_dir / settings.dataset / summary.model.model_version
    run_dir.mkdir(parents=True, exist_ok=True)
    png = run_dir / "examples.png"
    example_grid(summary.source, load_items(summary.source), summary.examples).save(png)
    table = [
        {"metric": k, "new index": round(v, 4), "served before": served.get(k)}
        for k, v in summary.metrics.items()
    ]
    if table:
        create_table_artifact(table, key="lookalike-metrics", description="retrieval metrics")
    problems = [
        {"item_id": p.item_id, "file": p.path, "reason": p.reason} for p in summary.source.problems
    ]
    create_table_artifact(
        problems or [{"item_id": "", "file": "", "reason": "nothing left out"}],
        key="lookalike-problems",
        description=f"{len(problems)} items left out, and why",
    )
    b64 = base64.b64encode(png.read_bytes()).decode()
    text = markdown(summary, public_config(settings), str(png), b64)
    create_markdown_artifact(text, key="lookalike-run-report", description="run report")
    report = run_dir / "report.md"
    report.write_text(text)
    return report
