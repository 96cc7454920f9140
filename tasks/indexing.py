"""Indexing tasks: embed a split batch by batch and upsert it, so vectors are never held twice."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
from prefect import task
from tqdm.auto import tqdm

from infra.settings import Settings
from infra.store import Condition, PointBatch, VectorStore, open_store, point_id
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


def plan(settings: Settings, data: DataInfo, split: str, collection: str) -> list[list[int]]:
    """Delete items gone from the catalog; return the missing items' positions, in shards."""
    part = load_splits(settings, data.root)[0 if split == "train" else 1]
    ids = [point_id(settings.dataset, split, i) for i in range(len(part))]
    store = open_store(settings)
    try:
        removed = remove_gone(store, collection, split, len(part))
        todo = missing_items(store, collection, ids)
    finally:
        store.close()
    task_logger(__name__).info(
        "%s: %d to embed, %d already indexed, %d removed from %s",
        split,
        len(todo),
        len(part) - len(todo),
        removed,
        collection,
    )
    size = settings.index_shard_size
    return [todo[i : i + size] for i in range(0, len(todo), size)]


def embed_positions(
    settings: Settings, model: ModelRef, data: DataInfo, split: str, positions: list[int]
) -> str:
    """Embed the items at ``positions``; write them to a shard file and return its path.

    Files, not tensors, travel between tasks, so shards can be embedded by other processes or
    hosts (Dask workers) and upserted by one writer.
    """
    device = pick_device(settings.device)
    net = load_model(model.checkpoint, device)
    part = load_splits(settings, data.root)[0 if split == "train" else 1]
    where = torch.tensor(positions)
    vectors = np.concatenate(
        [v for _, v in iter_embeddings(net, part.images[where], settings.upsert_batch_size, device)]
    )
    out = settings.runs_dir / "shards" / model.model_version
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{split}-{positions[0]:06d}-{len(positions)}.npz"
    np.savez(
        path, positions=np.asarray(positions), labels=part.labels[where].numpy(), vectors=vectors
    )
    return str(path)


def upsert_file(settings: Settings, model: ModelRef, split: str, path: str, collection: str) -> int:
    """Upsert one shard file batch by batch, then delete it; return the points written."""
    shard = np.load(path)
    positions, labels, vectors = shard["positions"], shard["labels"], shard["vectors"]
    store = open_store(settings)
    try:
        for s in range(0, len(positions), settings.upsert_batch_size):
            idx = positions[s : s + settings.upsert_batch_size].tolist()
            store.upsert(
                collection,
                PointBatch(
                    ids=[point_id(settings.dataset, split, i) for i in idx],
                    vectors=vectors[s : s + len(idx)],
                    payloads=[
                        payload(split, i, int(lab), model.model_version)
                        for i, lab in zip(idx, labels[s : s + len(idx)], strict=True)
                    ],
                ),
            )
    finally:
        store.close()
    Path(path).unlink(missing_ok=True)
    return len(positions)


plan_shards = task(
    name="plan-shards", retries=RETRIES, retry_delay_seconds=BACKOFF, timeout_seconds=3600
)(plan)
embed_shard = task(
    name="embed-shard",
    task_run_name="embed-{split}-{positions[0]}",
    retries=1,
    timeout_seconds=4 * 3600,
)(embed_positions)
upsert_shard = task(
    name="upsert-shard", retries=RETRIES, retry_delay_seconds=BACKOFF, timeout_seconds=3600
)(upsert_file)


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
    """Bring ``split`` up to date in one process; return how many items were embedded.

    Only items the collection lacks are embedded (a killed run resumes where it stopped; a grown
    catalog embeds only its new items), and items no longer in the catalog are deleted.
    """
    progress = Progress(f"index-{split}", 1, f"embedding {split} into {collection}")
    shards = plan(settings, data, split, collection)
    progress.total = max(1, sum(len(s) for s in shards))
    done = 0
    for positions in tqdm(
        shards, desc=f"index {split}", unit="shard", disable=not settings.progress
    ):
        done += upsert_file(
            settings,
            model,
            split,
            embed_positions(settings, model, data, split, positions),
            collection,
        )
        progress.advance(len(positions))
    return done


@task(
    name="finalize-collection", retries=RETRIES, retry_delay_seconds=BACKOFF, timeout_seconds=3600
)
def finalize_collection(
    settings: Settings, collection: str, expected: int, upsert_seconds: float = 0.0
) -> int:
    """Flush and build the index, check the count, mark it complete; return the count."""
    store = open_store(settings)
    try:
        start = time.perf_counter()
        store.finalize(collection)
        build = time.perf_counter() - start
        points = store.count(collection)
        if points != expected:
            raise RuntimeError(f"{collection!r} holds {points} points, expected {expected}")
        timings = {"embed_upsert_seconds": upsert_seconds, "build_seconds": build}
        store.set_metadata(collection, {"complete": True, "points": points, **timings})
        return points
    finally:
        store.close()
