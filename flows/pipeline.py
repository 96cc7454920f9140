"""Flow: the whole job, train -> index -> evaluate -> examples, with a timed summary."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from prefect import flow

from flows.evaluate import evaluate_flow
from flows.index import index_flow
from flows.train import train_flow
from infra.settings import Settings
from tasks.data import DataInfo, prepare_data
from tasks.evaluation import Example, example_queries
from tasks.training import ModelRef


@dataclass
class RunSummary:
    data: DataInfo
    model: ModelRef
    points: int
    metrics: dict[str, float]
    examples: list[Example]
    seconds: dict[str, float] = field(default_factory=dict)


@flow(name="pipeline", flow_run_name="pipeline-{settings.collection}")
def pipeline(settings: Settings) -> RunSummary:
    seconds: dict[str, float] = {}
    t = time.perf_counter()
    data = prepare_data(settings)
    seconds["data"], t = time.perf_counter() - t, time.perf_counter()
    model = train_flow(settings, data)
    seconds["train"], t = time.perf_counter() - t, time.perf_counter()
    points = index_flow(settings, model, data)
    seconds["index"], t = time.perf_counter() - t, time.perf_counter()
    metrics = evaluate_flow(settings, model, data)
    seconds["evaluate"], t = time.perf_counter() - t, time.perf_counter()
    examples = example_queries(settings, data)
    seconds["examples"] = time.perf_counter() - t
    return RunSummary(data, model, points, metrics, examples, seconds)
