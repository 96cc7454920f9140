"""Flow: embed every item with a trained model and upsert it into the model's own collection."""

from __future__ import annotations

from prefect import flow

from infra.settings import Settings
from tasks.data import DataInfo
from tasks.indexing import create_collection, finalize_collection, index_split
from tasks.training import ModelRef


@flow(name="index", flow_run_name="index-{settings.dataset}-{model.model_version}")
def index_flow(settings: Settings, model: ModelRef, data: DataInfo) -> tuple[str, int]:
    """Return the collection's name and its point count after indexing."""
    collection = create_collection(settings, model, data)
    for split in ("train", "test"):
        index_split(settings, model, data, split, collection)
    points = finalize_collection(settings, collection, data.train_size + data.test_size)
    return collection, points
