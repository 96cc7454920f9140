"""The embedding table of issue "Embeddings worth recommending from": learned vs naive ones."""

from __future__ import annotations

from prefect import task

from catalogs.base import SourceInfo
from infra.settings import Settings
from infra.store import open_store
from search import evaluation


@task(name="embedding-table")
def embedding_table(
    settings: Settings, collection: str, source: SourceInfo
) -> dict[str, dict[str, float]]:
    """Full metrics for the learned embedding, raw pixels and PCA-64 of pixels, exact search."""
    with open_store(settings.store) as store:
        return evaluation.embedding_table(store, collection, settings.dataset, source)
