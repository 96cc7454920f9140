"""Flow: measure retrieval quality of the index and record it with the model."""

from __future__ import annotations

from prefect import flow

from infra.settings import Settings
from tasks.data import DataInfo
from tasks.evaluation import evaluate_index, record_metrics
from tasks.training import ModelRef


@flow(name="evaluate", flow_run_name="evaluate-{settings.collection}-{model.model_version}")
def evaluate_flow(settings: Settings, model: ModelRef, data: DataInfo) -> dict[str, float]:
    metrics = evaluate_index(settings, model, data)
    record_metrics(settings, model, metrics)
    return metrics
