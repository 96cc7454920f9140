"""Indexing tasks: thin wrappers over :mod:`search.indexing` that pass paths and names.

Qdrant calls are retried in one place, the server client (``LOOKALIKE_QDRANT_RETRIES``), so the
tasks themselves do not retry.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from prefect import task

from catalogs.base import SourceInfo
from catalogs.readers import reader_for
from catalogs.scan import images, items_file
from infra.checkpoints import ModelRef
from infra.settings import Settings
from infra.store import VectorStore, open_store
from infra.store.factory import index_params
from model.embed import iter_dataset_embeddings
from model.precision import Precision, chosen
from model.train import pick_device
from search import indexing
from search.metadata import CollectionMeta, write_meta
from search.revisions import Revision, writable
from tasks.logs import task_logger
from training.runs import load_embedder


def _target(
    settings: Settings, store: VectorStore, collection: str, source: SourceInfo, model: ModelRef
) -> indexing.Target:
    items = items_file(source)
    return indexing.Target(store, collection, settings.dataset, source, items, model.model_version)


def embedding_precision(settings: Settings, model: ModelRef) -> Precision:
    """What this machine embeds ``model``'s items in (model/precision.py's choice)."""
    net = load_embedder(model.checkpoint)
    return chosen(settings.train.precision, pick_device(settings.train.device), net.bf16_pays)


@task(name="create-collection")
def create_collection(settings: Settings, model: ModelRef, source: SourceInfo) -> Revision:
    """The model version's collection this run writes: created if missing, a new revision if
    the embedded store serves it (see :mod:`search.revisions`)."""
    base = settings.collection_for(model.model_version)
    meta = CollectionMeta(
        dataset=settings.dataset,
        kind=source.kind,
        source=source.location,
        root=source.root,
        labels=source.labels,
        model_version=model.model_version,
        checkpoint=model.checkpoint,
        embed_precision=embedding_precision(settings, model).name,
        data_fingerprint=source.fingerprint,
        created_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        complete=False,
    )
    with open_store(settings.store) as store:
        found = indexing.survey(_target(settings, store, base, source, model))
        revision = writable(store, base, found.digest)
        spec = indexing.collection_spec(revision.collection, model.embedding_dim, found, meta)
        if revision.unchanged:
            return revision
        store.ensure_collection(spec)
        # An existing collection learns what this version of Lookalike records about it.
        described = (
            "kind",
            "source",
            "root",
            "labels",
            "fields",
            "checkpoint",
            "photos_per_product",
            "embed_precision",
        )
        write_meta(store, revision.collection, **{k: spec.metadata[k] for k in described})
        write_meta(store, revision.collection, items_digest=found.digest, complete=False)
    if revision.derived_from:
        task_logger(__name__).info(
            "%s is served: writing a copy, %s", revision.derived_from, revision.collection
        )
    return revision


@task(name="plan-shards")
def plan_shards(
    settings: Settings, model: ModelRef, source: SourceInfo, collection: str
) -> list[list[int]]:
    """Delete items gone from the source; return the positions to embed, in shards."""
    with open_store(settings.store) as store:
        target = _target(settings, store, collection, source, model)
        plan = indexing.plan(target, settings.index.index_shard_size)
    task_logger(__name__).info(
        "%s: %d to embed, %d up to date, %d removed",
        collection,
        plan.to_embed,
        source.count - plan.to_embed,
        plan.removed,
    )
    return plan.shards


@task(name="embed-shard", task_run_name="embed-{positions[0]}")
def embed_shard(
    settings: Settings, model: ModelRef, source: SourceInfo, positions: list[int]
) -> str:
    """Embed the items at ``positions`` into a shard file; return its path."""
    precision = embedding_precision(settings, model)
    net = load_embedder(model.checkpoint, pick_device(settings.train.device), precision.bf16)
    data = images(source, items_file(source).at(positions), net.image_size, net.channels)
    seconds: dict[str, float] = {}
    # Items held in memory (Fashion-MNIST) need no reader process; files are decoded in one.
    workers = settings.index.loader_workers if reader_for(source).decodes_in_workers else 0
    batch = settings.index.embed_batch_size or net.batch_size
    batches = iter_dataset_embeddings(net, data, batch, workers, seconds)
    vectors = np.concatenate([v for _, v in batches])
    task_logger(__name__).info(
        "embedded %d items in %s: %.1f s reading, %.1f s in the model",
        len(positions),
        precision.name,
        seconds.get("read", 0),
        seconds.get("model", 0),
    )
    name = f"{positions[0]:07d}-{len(positions)}.npz"
    return indexing.write_shard(
        settings.runs_dir / "shards" / model.model_version / name, positions, vectors
    )


@task(name="upsert-shard")
def upsert_shard(
    settings: Settings, model: ModelRef, source: SourceInfo, path: str, collection: str
) -> int:
    """Upsert one shard file, then delete it; return the points written."""
    with open_store(settings.store) as store:
        target = _target(settings, store, collection, source, model)
        done = indexing.upsert_shard(target, path, settings.index.upsert_batch_size)
    # Closed, the store has flushed (the embedded one keeps no write-ahead log): only now are
    # the points safe, and the shard file no longer needed.
    Path(path).unlink(missing_ok=True)
    task_logger(__name__).info("upserted %d points into %s", done, collection)
    return done


@task(name="finalize-collection")
def finalize_collection(
    settings: Settings, collection: str, expected: int, upsert_seconds: float = 0.0
) -> int:
    """Flush and build the index, check the count, mark it complete; return the count."""
    with open_store(settings.store) as store:
        index = index_params(settings.store)
        return indexing.finalize(store, collection, expected, upsert_seconds, index)
