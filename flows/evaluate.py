"""Flow: measure retrieval quality of an index and record it with the model and the index."""

from __future__ import annotations

from prefect import flow

from infra.settings import Settings
from tasks.data import DataInfo
from tasks.evaluation import evaluate_index, record_metrics
from tasks.training import ModelRef


@flow(name="evaluate", flow_run_name="evaluate-{collection}")
def evaluate_flow(
    settings: Settings, model: ModelRef, collection: str, data: DataInfo
) -> dict[str, float]:
    metrics = evaluate_index(settings, collection, data)
    record_metrics(settings, model, collection, metrics)
    return metrics
