"""Indexing tasks: embed a split batch by batch and upsert it, so vectors are never held twice."""

from __future__ import annotations

import time

from prefect import task
from tqdm.auto import tqdm

from infra.settings import Settings
from infra.store import PointBatch, open_store, point_id
from infra.store.base import CollectionSpec
from model.data import LABEL_NAMES
from model.embed import iter_embeddings
from model.train import pick_device
from tasks.data import DataInfo, load_splits
from tasks.logs import task_logger
from tasks.progress import Progress
from tasks.training import ModelRef, load_model

# Qdrant calls retry with backoff: a restarting server or a busy disk usually recovers.
RETRIES = 3
BACKOFF = [2.0, 10.0, 30.0]


def payload(split: str, index: int, label: int, model_version: str) -> dict[str, object]:
    return {
        "item_id": f"{split}-{index}",
        "index": index,
        "label": label,
        "label_name": LABEL_NAMES[label],
        "split": split,
        "model_version": model_version,
    }


@task(name="create-collection", retries=RETRIES, retry_delay_seconds=BACKOFF, timeout_seconds=300)
def create_collection(settings: Settings, model: ModelRef, data: DataInfo) -> str:
    """The model version's own collection (created if missing); return its name."""
    name = settings.collection_for(model.model_version)
    meta = {
        "dataset": settings.dataset,
        "model_version": model.model_version,
        "checkpoint": model.checkpoint,
        "data_fingerprint": data.fingerprint,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "complete": False,
    }
    store = open_store(settings)
    try:
        store.ensure_collection(CollectionSpec(name, model.embedding_dim, metadata=meta))
    finally:
        store.close()
    return name


@task(
    name="index-split",
    task_run_name="index-{split}-{model.model_version}",
    retries=RETRIES,
    retry_delay_seconds=BACKOFF,
    timeout_seconds=4 * 3600,
)
def index_split(
    settings: Settings, model: ModelRef, data: DataInfo, split: str, collection: str
) -> int:
    """Embed every item of ``split`` with the checkpoint and upsert it; return the count."""
    device = pick_device(settings.device)
    net = load_model(model.checkpoint, device)
    train, test = load_splits(settings, data.root)
    part = train if split == "train" else test
    store = open_store(settings)
    written = 0
    try:
        batches = iter_embeddings(net, part.images, settings.upsert_batch_size, device)
        bar = tqdm(
            total=len(part), desc=f"index {split}", unit="img", disable=not settings.progress
        )
        progress = Progress(f"index-{split}", len(part), f"embedding {split} into {collection}")
        for start, vectors in batches:
            idx = range(start, start + len(vectors))
            labels = part.labels[start : start + len(vectors)].tolist()
            batch = PointBatch(
                ids=[point_id(settings.dataset, split, i) for i in idx],
                vectors=vectors,
                payloads=[
                    payload(split, i, lab, model.model_version)
                    for i, lab in zip(idx, labels, strict=True)
                ],
            )
            store.upsert(collection, batch)
            written += len(vectors)
            bar.update(len(vectors))
            progress.advance(len(vectors))
        bar.close()
    finally:
        store.close()
    task_logger(__name__).info("indexed %d %s items into %s", written, split, collection)
    return written


@task(
    name="finalize-collection", retries=RETRIES, retry_delay_seconds=BACKOFF, timeout_seconds=3600
)
def finalize_collection(settings: Settings, collection: str, expected: int) -> int:
    """Flush and build the index, check the count, mark it complete; return the count."""
    store = open_store(settings)
    try:
        store.finalize(collection)
        points = store.count(collection)
        if points != expected:
            raise RuntimeError(f"{collection!r} holds {points} points, expected {expected}")
        store.set_metadata(collection, {"complete": True, "points": points})
        return points
    finally:
        store.close()
