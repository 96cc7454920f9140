"""Evaluation tasks: retrieval quality of the index (test queries against train items)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from prefect import task

from infra.checkpoints import load_checkpoint, save_checkpoint
from infra.query import QueryOptions, similar_to_item
from infra.settings import Settings
from infra.store import Condition, Hit, VectorStore, open_store, point_id
from infra.tensorboard import TensorBoardSink
from model.metrics import brute_force_search, l2_normalise, retrieval_metrics
from tasks.data import DataInfo, load_splits
from tasks.indexing import BACKOFF, RETRIES
from tasks.training import ModelRef

K = 10
CHUNK = 500


@dataclass(frozen=True)
class Example:
    item_id: str
    label_name: str
    hits: list[Hit]


def _neighbour_labels(
    store: VectorStore, collection: str, dataset: str, test_size: int
) -> np.ndarray:
    """Labels of the K nearest train items of every test item, queried from the store."""
    train_only = [Condition.equals("split", "train")]
    rows: list[list[int]] = []
    for start in range(0, test_size, CHUNK):
        ids = [point_id(dataset, "test", i) for i in range(start, min(start + CHUNK, test_size))]
        vectors = store.vectors(collection, ids)
        missing = [i for i in ids if i not in vectors]
        if missing:
            raise RuntimeError(
                f"{len(missing)} test items are missing from {collection!r}: re-index"
            )
        queries = np.stack([vectors[i] for i in ids])
        hits = store.query(collection, queries, K, where=train_only, exact=True)
        rows.extend([int(h.payload["label"]) for h in r] for r in hits)
    return np.asarray(rows, dtype=np.int64)


def pixel_baseline(settings: Settings, data: DataInfo) -> dict[str, float]:
    """The same metrics for raw pixels (784-d, L2-normalised), searched exactly."""
    train, test = load_splits(settings, data.root)
    index = l2_normalise(train.images.reshape(len(train), -1).float().numpy())
    queries = l2_normalise(test.images.reshape(len(test), -1).float().numpy())
    neighbours = brute_force_search(index)(queries, K)
    return retrieval_metrics(test.labels.numpy(), train.labels.numpy()[neighbours])


@task(name="evaluate-index", retries=RETRIES, retry_delay_seconds=BACKOFF, timeout_seconds=3600)
def evaluate_index(settings: Settings, collection: str, data: DataInfo) -> dict[str, float]:
    """precision@1 and recall@10 of the learned index, and of raw pixels, in the same run."""
    store = open_store(settings)
    try:
        labels = _neighbour_labels(store, collection, settings.dataset, data.test_size)
    finally:
        store.close()
    _, test = load_splits(settings, data.root)
    metrics = retrieval_metrics(test.labels.numpy(), labels)
    metrics.update({f"pixels_{k}": v for k, v in pixel_baseline(settings, data).items()})
    return metrics


@task(name="record-metrics", retries=2, retry_delay_seconds=2, timeout_seconds=300)
def record_metrics(
    settings: Settings, model: ModelRef, collection: str, metrics: dict[str, float]
) -> None:
    """Add the metrics to the checkpoint, the collection and TensorBoard's hyperparameters."""
    store = open_store(settings)
    try:
        store.set_metadata(collection, {"metrics": metrics})
    finally:
        store.close()
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


@task(name="example-queries", retries=RETRIES, retry_delay_seconds=BACKOFF, timeout_seconds=300)
def example_queries(
    settings: Settings, collection: str, data: DataInfo, n: int = 3
) -> list[Example]:
    """'More like this' answers for the first ``n`` test items."""
    store = open_store(settings)
    try:
        out = []
        for i in range(min(n, data.test_size)):
            item = f"test-{i}"
            pid = point_id(settings.dataset, "test", i)
            label = store.payloads(collection, [pid])[pid]["label_name"]
            out.append(
                Example(item, label, similar_to_item(store, collection, item, QueryOptions(k=5)))
            )
        return out
    finally:
        store.close()
