"""Flow: the whole job, train -> index -> evaluate -> gate and promote -> examples -> report."""

from __future__ import annotations

import time

from prefect import flow

from flows.evaluate import evaluate_flow
from flows.index import index_flow
from flows.train import train_flow
from infra.locks import alias_lock
from infra.settings import Settings
from tasks.data import prepare_data
from tasks.evaluation import example_queries
from tasks.reporting import RunSummary, publish_report
from tasks.serving import promote_index


class Clock:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._t = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage], self._t = now - self._t, now


@flow(name="pipeline", flow_run_name="pipeline-{settings.dataset}-{settings.recipe}")
def pipeline(settings: Settings) -> RunSummary:
    with alias_lock(settings.home / "locks", settings.served_alias):
        return _pipeline(settings)


def _pipeline(settings: Settings) -> RunSummary:
    clock = Clock()
    data = prepare_data(settings)
    clock.lap("data")
    model = train_flow(settings, data)
    clock.lap("train")
    collection, points = index_flow(settings, model, data)
    clock.lap("index")
    metrics = evaluate_flow(settings, model, collection, data)
    clock.lap("evaluate")
    decision = promote_index(settings, collection)
    examples = example_queries(settings, collection, data)
    clock.lap("promote+examples")
    summary = RunSummary(
        data,
        model,
        collection,
        points,
        metrics,
        decision,
        settings.served_alias,
        examples,
        clock.seconds,
    )
    publish_report(settings, summary)
    return summary
