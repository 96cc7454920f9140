"""Flow: the whole job for any source: scan -> model -> index -> evaluate -> gate -> report."""

from __future__ import annotations

import time

from prefect import flow

from catalogs.base import SourceInfo
from flows.evaluate import evaluate_flow
from flows.index import index_collection
from flows.train import train_flow
from infra.checkpoints import ModelRef
from infra.locks import alias_lock
from infra.settings import Settings
from search.reports import RunSummary
from tasks.evaluation import example_queries
from tasks.export import export_collection
from tasks.reporting import publish_report
from tasks.serving import judge_index, promote_index
from tasks.sources import scan_source
from training.runs import model_ref


class Clock:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._t = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage], self._t = now - self._t, now


@flow(name="pipeline", flow_run_name="pipeline-{settings.dataset}")
def pipeline(settings: Settings) -> RunSummary:
    with alias_lock(settings.lock_dir, settings.served_alias):
        clock = Clock()
        source = scan_source(settings)
        clock.lap("scan")
        model = train_flow(settings, source)
        clock.lap("model")
        return publish(settings, source, model, clock)


@flow(name="reindex", flow_run_name="reindex-{settings.dataset}")
def reindex(settings: Settings, checkpoint: str) -> RunSummary:
    """The pipeline with a given model instead of training one: only new, changed and removed
    items are embedded; the result is gated and promoted like any run's."""
    with alias_lock(settings.lock_dir, settings.served_alias):
        clock = Clock()
        source = scan_source(settings)
        clock.lap("scan")
        return publish(settings, source, model_ref(checkpoint), clock)


def publish(settings: Settings, source: SourceInfo, model: ModelRef, clock: Clock) -> RunSummary:
    """Index, evaluate, gate and promote, report: the part a re-index with the served model
    shares with the whole pipeline. The caller holds the alias lock."""
    indexed = index_collection(settings, model, source)
    clock.lap("index")
    metrics = evaluate_flow(settings, model, indexed.collection, source, indexed.unchanged)
    clock.lap("evaluate")
    gated = bool(metrics)
    # Before the promotion: once served, the collection may be open in the API's process.
    examples = example_queries(settings, indexed.collection, source)
    clock.lap("examples")
    decision = judge_index(settings, indexed.collection, gated)
    export = None
    if settings.export.export_after_run and decision.promoted:
        export = export_collection(settings, indexed.collection)
        clock.lap("export")
    promote_index(settings, indexed.collection, decision)
    clock.lap("promote")
    summary = RunSummary(
        source,
        model,
        indexed.collection,
        indexed.points,
        indexed.embedded,
        metrics,
        decision,
        settings.served_alias,
        examples,
        clock.seconds,
        export,
    )
    publish_report(settings, summary)
    return summary
