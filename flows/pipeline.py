"""Flow: the whole job, train -> index -> evaluate -> gate and promote -> examples."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from prefect import flow

from flows.evaluate import evaluate_flow
from flows.index import index_flow
from flows.train import train_flow
from infra.indexes import Decision
from infra.settings import Settings
from tasks.data import DataInfo, prepare_data
from tasks.evaluation import Example, example_queries
from tasks.serving import promote_index
from tasks.training import ModelRef


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


class _Clock:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._t = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage], self._t = now - self._t, now


@flow(name="pipeline", flow_run_name="pipeline-{settings.dataset}")
def pipeline(settings: Settings) -> RunSummary:
    clock = _Clock()
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
    return RunSummary(
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
