"""Catalog indexing tasks: bring a collection in line with the catalog (embed new and changed
items, delete removed ones), shard by shard, and measure it when the catalog has labels."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
from prefect import task
from torch.utils.data import Subset

from infra.settings import Settings
from infra.store import Condition, PointBatch, VectorStore, open_store, point_id
from infra.store.base import CollectionSpec
from model.catalog import CatalogItem
from model.embed import iter_dataset_embeddings
from model.metrics import retrieval_metrics
from model.train import pick_device
from tasks.catalog import CatalogInfo, catalog_images, load_catalog_model, load_items
from tasks.indexing import BACKOFF, RETRIES
from tasks.logs import task_logger
from tasks.training import ModelRef

SPLIT = "catalog"
K = 10
EVAL_SAMPLE = 2000


def catalog_payload(
    item: CatalogItem, labels: list[str], model_version: str, root: Path
) -> dict[str, Any]:
    """What a consumer gets with each hit: ids, the image path, label and every attribute."""
    out: dict[str, Any] = {
        **item.attrs,
        "item_id": item.item_id,
        "split": SPLIT,
        "path": os.path.relpath(item.path, root),
        "sha1": item.sha1,
        "model_version": model_version,
    }
    if item.label:
        out |= {"label": labels.index(item.label), "label_name": item.label}
    return out


def _root(info: CatalogInfo) -> Path:
    source = Path(info.source)
    return source if source.is_dir() else source.parent


def collection_spec(
    name: str, dim: int, items: list[CatalogItem], meta: dict[str, Any]
) -> CollectionSpec:
    """Payload indexes for the ids, labels and every attribute that is all text or all ints."""
    kinds: dict[str, set[type]] = {}
    for item in items:
        for key, value in item.attrs.items():
            kinds.setdefault(key, set()).add(type(value))
    keyword = [k for k, t in sorted(kinds.items()) if t == {str}]
    integer = [k for k, t in sorted(kinds.items()) if t == {int}]
    return CollectionSpec(
        name,
        dim,
        keyword_fields=("split", "label_name", "item_id", *keyword),
        integer_fields=("label", *integer),
        metadata=meta,
    )


@task(
    name="create-catalog-collection",
    retries=RETRIES,
    retry_delay_seconds=BACKOFF,
    timeout_seconds=300,
)
def create_catalog_collection(settings: Settings, model: ModelRef, info: CatalogInfo) -> str:
    name = settings.collection_for(model.model_version)
    meta = {
        "dataset": settings.dataset,
        "kind": "catalog",
        "catalog": info.source,
        "model_version": model.model_version,
        "checkpoint": model.checkpoint,
        "backbone": settings.backbone,
        "mode": settings.catalog_mode,
        "data_fingerprint": info.fingerprint,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "complete": False,
    }
    store = open_store(settings)
    try:
        store.ensure_collection(collection_spec(name, model.embedding_dim, load_items(info), meta))
    finally:
        store.close()
    return name


def _stale(
    store: VectorStore, collection: str, ids: list[str], expected: list[dict[str, Any]]
) -> list[int]:
    """Positions whose point is missing or whose payload (file hash, attributes) changed."""
    stale: list[int] = []
    for start in range(0, len(ids), 5000):
        present = store.payloads(collection, ids[start : start + 5000])
        for i, pid in enumerate(ids[start : start + 5000], start=start):
            if present.get(pid) != expected[i]:
                stale.append(i)
    return stale


def plan_catalog(
    settings: Settings, model: ModelRef, info: CatalogInfo, collection: str
) -> list[list[int]]:
    """Delete the points of items gone from the catalog; return stale positions, in shards."""
    items = load_items(info)
    ids = [point_id(settings.dataset, SPLIT, i.item_id) for i in items]
    root = _root(info)
    expected = [catalog_payload(i, info.labels, model.model_version, root) for i in items]
    store = open_store(settings)
    try:
        todo = _stale(store, collection, ids, expected)
        held = store.find_ids(collection, [], limit=store.count(collection) + 1)
        gone = sorted(set(held) - set(ids))
        if gone:
            store.delete(collection, gone)
    finally:
        store.close()
    task_logger(__name__).info(
        "%s: %d to embed, %d up to date, %d removed",
        collection,
        len(todo),
        len(items) - len(todo),
        len(gone),
    )
    size = settings.index_shard_size
    return [todo[i : i + size] for i in range(0, len(todo), size)]


def embed_catalog_positions(
    settings: Settings, model: ModelRef, info: CatalogInfo, positions: list[int]
) -> str:
    """Embed the items at ``positions`` into a shard file; return its path."""
    net = load_catalog_model(model.checkpoint, pick_device(settings.device))
    data = Subset(catalog_images(net, info, load_items(info)), positions)
    seconds: dict[str, float] = {}
    vectors = np.concatenate(
        [
            v
            for _, v in iter_dataset_embeddings(
                net, data, settings.embed_batch_size, settings.loader_workers, seconds
            )
        ]
    )
    task_logger(__name__).info(
        "embedded %d items: %.1f s reading, %.1f s in the model",
        len(positions),
        seconds.get("read", 0),
        seconds.get("model", 0),
    )
    out = settings.runs_dir / "shards" / model.model_version
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{SPLIT}-{positions[0]:07d}-{len(positions)}.npz"
    np.savez(path, positions=np.asarray(positions), vectors=vectors)
    return str(path)


def upsert_catalog_file(
    settings: Settings, model: ModelRef, info: CatalogInfo, path: str, collection: str
) -> int:
    """Upsert one shard file, then delete it; return the points written."""
    shard = np.load(path)
    positions, vectors = shard["positions"], shard["vectors"]
    items, root = load_items(info), _root(info)
    store = open_store(settings)
    try:
        for s in range(0, len(positions), settings.upsert_batch_size):
            part = [items[int(p)] for p in positions[s : s + settings.upsert_batch_size]]
            store.upsert(
                collection,
                PointBatch(
                    ids=[point_id(settings.dataset, SPLIT, i.item_id) for i in part],
                    vectors=vectors[s : s + len(part)],
                    payloads=[
                        catalog_payload(i, info.labels, model.model_version, root) for i in part
                    ],
                ),
            )
    finally:
        store.close()
    Path(path).unlink(missing_ok=True)
    return len(positions)


plan_catalog_shards = task(
    name="plan-catalog", retries=RETRIES, retry_delay_seconds=BACKOFF, timeout_seconds=3600
)(plan_catalog)
embed_catalog_shard = task(
    name="embed-catalog-shard",
    task_run_name="embed-catalog-{positions[0]}",
    retries=1,
    timeout_seconds=4 * 3600,
)(embed_catalog_positions)
upsert_catalog_shard = task(
    name="upsert-catalog-shard", retries=RETRIES, retry_delay_seconds=BACKOFF, timeout_seconds=3600
)(upsert_catalog_file)


def leave_one_out(store: VectorStore, collection: str, ids: list[str]) -> dict[str, float]:
    """Each labelled item queries the others (itself excluded), exactly: precision@1 and recall@10
    over the catalog's labels."""
    labelled = [Condition("label", gte=0)]
    query_labels, rows = [], []
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        vectors = store.vectors(collection, chunk)
        payloads = store.payloads(collection, chunk)
        hits = store.query(
            collection, np.stack([vectors[i] for i in chunk]), K + 1, where=labelled, exact=True
        )
        for pid, row in zip(chunk, hits, strict=True):
            others = [h for h in row if h.id != pid][:K]
            query_labels.append(int(payloads[pid]["label"]))
            rows.append([int(h.payload["label"]) for h in others] + [-1] * (K - len(others)))
    return retrieval_metrics(np.asarray(query_labels), np.asarray(rows))


@task(name="evaluate-catalog", retries=RETRIES, retry_delay_seconds=BACKOFF, timeout_seconds=3600)
def evaluate_catalog(settings: Settings, info: CatalogInfo, collection: str) -> dict[str, float]:
    """Leave-one-out metrics of up to 2,000 labelled items (evenly spread); none without labels."""
    items = [i for i in load_items(info) if i.label]
    if len(info.labels) < 2 or not items:
        return {}
    step = max(1, len(items) // EVAL_SAMPLE)
    ids = [point_id(settings.dataset, SPLIT, i.item_id) for i in items[::step][:EVAL_SAMPLE]]
    store = open_store(settings)
    try:
        metrics = leave_one_out(store, collection, ids)
        store.set_metadata(collection, {"metrics": metrics})
    finally:
        store.close()
    return metrics
