"""Flow: the whole job for any source: scan -> model -> index -> evaluate -> gate -> report."""

from __future__ import annotations

import time

from prefect import flow

from flows.evaluate import evaluate_flow
from flows.index import index_flow
from flows.train import train_flow
from infra.locks import alias_lock
from infra.reports import RunSummary
from infra.settings import Settings
from tasks.evaluation import example_queries
from tasks.reporting import publish_report
from tasks.serving import promote_index
from tasks.sources import scan_source


class Clock:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._t = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage], self._t = now - self._t, now


@flow(name="pipeline", flow_run_name="pipeline-{settings.dataset}")
def pipeline(settings: Settings) -> RunSummary:
    with alias_lock(settings.home / "locks", settings.served_alias):
        clock = Clock()
        source = scan_source(settings)
        clock.lap("scan")
        model = train_flow(settings, source)
        clock.lap("model")
        indexed = index_flow(settings, model, source)
        clock.lap("index")
        metrics = evaluate_flow(settings, model, indexed.collection, source)
        clock.lap("evaluate")
        decision = promote_index(settings, indexed.collection, gated=bool(metrics))
        examples = example_queries(settings, indexed.collection, source)
        clock.lap("promote+examples")
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
        )
        publish_report(settings, summary)
        return summary
