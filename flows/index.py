"""Flow: embed every item with a trained model and upsert it into Qdrant."""

from __future__ import annotations

from prefect import flow

from infra.settings import Settings
from tasks.data import DataInfo
from tasks.indexing import create_collection, finalize_collection, index_split
from tasks.training import ModelRef


@flow(name="index", flow_run_name="index-{settings.collection}-{model.model_version}")
def index_flow(settings: Settings, model: ModelRef, data: DataInfo) -> int:
    """Return the collection's point count after indexing."""
    create_collection(settings, model.embedding_dim)
    for split in ("train", "test"):
        index_split(settings, model, data, split)
    return finalize_collection(settings)
