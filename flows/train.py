"""Flow: the model that embeds a source: trained on Fashion-MNIST, or a catalog's backbone
(off the shelf or fine-tuned on its labels)."""

from __future__ import annotations

from prefect import flow

from catalogs.base import SourceInfo
from catalogs.readers import reader_for
from infra.checkpoints import ModelRef
from infra.settings import Settings
from tasks.sources import scan_source
from tasks.training import catalog_model, train_model


@flow(name="train", flow_run_name="train-{settings.dataset}")
def train_flow(settings: Settings, source: SourceInfo | None = None) -> ModelRef:
    source = source or scan_source(settings)
    if reader_for(source).trains_own_model:
        return train_model(settings, source)
    return catalog_model(settings, source)
