"""Flow: bring a model's collection in line with a source (any kind of catalog)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from prefect import flow
from prefect.futures import PrefectFuture

from catalogs.base import SourceInfo
from infra.checkpoints import ModelRef
from infra.locks import alias_lock
from infra.settings import Settings
from infra.store import held_store
from tasks.indexing import (
    create_collection,
    embed_shard,
    finalize_collection,
    plan_shards,
    upsert_shard,
)
from tasks.progress import Progress
from tasks.runners import task_runner


@dataclass(frozen=True)
class Indexed:
    collection: str
    points: int
    embedded: int  # items embedded by this run: 0 when nothing changed
    unchanged: bool = False  # complete with the same items already: nothing was opened


@flow(name="index", flow_run_name="index-{settings.dataset}-{model.model_version}")
def _index_flow(settings: Settings, model: ModelRef, source: SourceInfo) -> Indexed:
    # One open store for the whole run: the writer upserts shard after shard.
    with held_store(settings.store):
        revision = create_collection(settings, model, source)
        collection = revision.collection
        if revision.unchanged:
            return Indexed(collection, source.count, 0, unchanged=True)
        start = time.perf_counter()
        shards = plan_shards(settings, model, source, collection)
        progress = Progress("index", sum(map(len, shards)), f"embedding into {collection}")
        # Every shard is submitted at once, so the task runner's workers (threads or Dask
        # processes) stay busy to the end, while this process, the one writer, upserts each
        # finished shard in order.
        futures: list[PrefectFuture[str]] = [
            embed_shard.submit(settings, model, source, positions) for positions in shards
        ]
        embedded = 0
        for future in futures:
            done = upsert_shard(settings, model, source, future.result(), collection)
            progress.advance(done)
            embedded += done
        seconds = time.perf_counter() - start
        points = finalize_collection(settings, collection, source.count, seconds)
        return Indexed(collection, points, embedded)


def index_flow(settings: Settings, model: ModelRef, source: SourceInfo) -> Indexed:
    """Embed what the collection lacks or holds stale, delete what left the source: a run of
    its own, holding the alias lock."""
    with alias_lock(settings.lock_dir, settings.served_alias):
        return index_collection(settings, model, source)


def index_collection(settings: Settings, model: ModelRef, source: SourceInfo) -> Indexed:
    """The same, inside a run that holds the alias lock (the pipeline's)."""
    return _index_flow.with_options(task_runner=task_runner(settings.index))(
        settings, model, source
    )
