"""Flow: prepare data and train the embedding model."""

from __future__ import annotations

from prefect import flow

from infra.settings import Settings
from tasks.data import DataInfo, prepare_data
from tasks.training import ModelRef, train_model


@flow(name="train", flow_run_name="train-{settings.dataset}")
def train_flow(settings: Settings, data: DataInfo | None = None) -> ModelRef:
    data = data or prepare_data(settings)
    return train_model(settings, data)
