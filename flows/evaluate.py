"""Flow: measure retrieval quality of an index and record it with the model and the index."""

from __future__ import annotations

from prefect import flow

from catalogs.base import SourceInfo
from infra.checkpoints import ModelRef
from infra.settings import Settings
from infra.store import open_store
from search.metadata import read_meta
from tasks.baselines import embedding_table
from tasks.evaluation import evaluate_index, record_metrics


@flow(name="evaluate", flow_run_name="evaluate-{collection}")
def evaluate_flow(
    settings: Settings,
    model: ModelRef,
    collection: str,
    source: SourceInfo,
    unchanged: bool = False,
) -> dict[str, float]:
    """Measure the index and record the figures; an unchanged index keeps the ones it has
    (measuring would open it, and it may be served by another process)."""
    if unchanged:
        with open_store(settings.store) as store:
            recorded = read_meta(store, collection).metrics
        if recorded:
            return recorded
    metrics = evaluate_index(settings, collection, source)
    record_metrics(settings, model, collection, metrics)
    return metrics


@flow(name="embedding-table", flow_run_name="embedding-table-{collection}")
def embedding_table_flow(
    settings: Settings, collection: str, source: SourceInfo
) -> dict[str, dict[str, float]]:
    """The learned embedding next to raw pixels and PCA-64, every metric, exact search."""
    return embedding_table(settings, collection, source)
