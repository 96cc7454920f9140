"""Indexing tasks: embed a split batch by batch and upsert it, so vectors are never held twice."""

from __future__ import annotations

import time

import torch
from prefect import task
from tqdm.auto import tqdm

from infra.settings import Settings
from infra.store import Condition, PointBatch, VectorStore, open_store, point_id
from infra.store.base import CollectionSpec
from model.data import LABEL_NAMES, Split
from model.embed import iter_embeddings
from model.net import EmbeddingNet
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


def missing_items(
    store: VectorStore, collection: str, ids: list[str], chunk: int = 5000
) -> list[int]:
    """Positions in ``ids`` of the points the collection does not hold yet."""
    missing: list[int] = []
    for start in range(0, len(ids), chunk):
        part = ids[start : start + chunk]
        present = store.payloads(collection, part)
        missing += [start + i for i, pid in enumerate(part) if pid not in present]
    return missing


def remove_gone(store: VectorStore, collection: str, split: str, size: int) -> int:
    """Delete the points of ``split`` whose index is past the catalog's end (items removed)."""
    where = [Condition.equals("split", split), Condition("index", gte=size)]
    removed = 0
    while ids := store.find_ids(collection, where, limit=10_000):
        store.delete(collection, ids)
        removed += len(ids)
    return removed


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
    """Bring ``split`` in the collection up to date; return how many items were embedded.

    Only items the collection lacks are embedded (a killed run resumes where it stopped; a grown
    catalog embeds only its new items), and items no longer in the catalog are deleted.
    """
    device = pick_device(settings.device)
    train, test = load_splits(settings, data.root)
    part = train if split == "train" else test
    ids = [point_id(settings.dataset, split, i) for i in range(len(part))]
    store = open_store(settings)
    try:
        removed = remove_gone(store, collection, split, len(part))
        todo = missing_items(store, collection, ids)
        if todo:
            _embed_and_upsert(
                settings,
                store,
                load_model(model.checkpoint, device),
                model,
                part,
                ids,
                todo,
                collection,
            )
    finally:
        store.close()
    task_logger(__name__).info(
        "%s: %d items embedded, %d already indexed, %d removed from %s",
        split,
        len(todo),
        len(part) - len(todo),
        removed,
        collection,
    )
    return len(todo)


def _embed_and_upsert(
    settings: Settings,
    store: VectorStore,
    net: EmbeddingNet,
    model: ModelRef,
    part: Split,
    ids: list[str],
    todo: list[int],
    collection: str,
) -> None:
    """Embed the ``todo`` items batch by batch, upserting each batch before the next."""
    positions = torch.tensor(todo)
    device = next(net.parameters()).device
    bar = tqdm(
        total=len(todo), desc=f"index {part.name}", unit="img", disable=not settings.progress
    )
    progress = Progress(f"index-{part.name}", len(todo), f"embedding {part.name} into {collection}")
    for start, vectors in iter_embeddings(
        net, part.images[positions], settings.upsert_batch_size, device
    ):
        idx = todo[start : start + len(vectors)]
        labels = part.labels[positions[start : start + len(vectors)]].tolist()
        batch = PointBatch(
            ids=[ids[i] for i in idx],
            vectors=vectors,
            payloads=[
                payload(part.name, i, lab, model.model_version)
                for i, lab in zip(idx, labels, strict=True)
            ],
        )
        store.upsert(collection, batch)
        bar.update(len(vectors))
        progress.advance(len(vectors))
    bar.close()


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
