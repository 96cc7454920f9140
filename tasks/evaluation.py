"""Evaluation tasks: retrieval quality of an index, recorded with the model and the index."""

from __future__ import annotations

from pathlib import Path

from prefect import task

from catalogs.base import SourceInfo
from catalogs.scan import load_items
from infra.checkpoints import ModelRef, load_checkpoint, save_checkpoint
from infra.settings import Settings
from infra.store import Hit, StoreBusyError, open_store
from infra.tensorboard import TensorBoardSink
from search import evaluation
from search.metadata import write_meta
from tasks.logs import task_logger


@task(name="evaluate-index")
def evaluate_index(settings: Settings, collection: str, source: SourceInfo) -> dict[str, float]:
    """precision@1 and recall@10 of the index (none for a source without labels); for
    Fashion-MNIST, raw pixels' and the copies between its splits beside them."""
    with open_store(settings.store) as store:
        return evaluation.evaluate(store, collection, settings.dataset, source)


@task(name="record-metrics")
def record_metrics(
    settings: Settings, model: ModelRef, collection: str, metrics: dict[str, float]
) -> None:
    """Add the metrics to the collection, the checkpoint and TensorBoard's hyperparameters."""
    with open_store(settings.store) as store:
        write_meta(store, collection, metrics=metrics)
    if not metrics:
        return
    path = Path(model.checkpoint)
    payload = load_checkpoint(path)
    payload["metrics"] = {**payload.get("metrics", {}), **metrics}
    save_checkpoint(path.parent, payload)  # same weights, same version: replaces the file
    if not model.tensorboard_dir:  # a checkpoint made elsewhere has no run to add them to
        return
    config = payload.get("train_config", {})
    hparams = {k: v for k, v in config.items() if isinstance(v, int | float | bool)}
    with TensorBoardSink(Path(model.tensorboard_dir)) as sink:
        sink.hparams({**hparams, "embedding_dim": model.embedding_dim}, metrics)


@task(name="example-queries")
def example_queries(
    settings: Settings, collection: str, source: SourceInfo
) -> list[tuple[str, list[Hit]]]:
    """'More like this' answers for three items spread over the source; none when the
    collection is open in another process (an unchanged index that a running API serves)."""
    try:
        with open_store(settings.store) as store:
            return evaluation.examples(store, collection, load_items(source))
    except StoreBusyError as exc:
        task_logger(__name__).warning("no example queries in this report: %s", exc)
        return []
