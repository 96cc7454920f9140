"""Flow: embed every item with a trained model and upsert it into the model's own collection."""

from __future__ import annotations

import time

from prefect import flow
from prefect.futures import PrefectFuture

from flows.runners import task_runner
from infra.settings import Settings
from infra.store import held_store
from tasks.data import DataInfo
from tasks.indexing import (
    create_collection,
    embed_shard,
    finalize_collection,
    plan_shards,
    upsert_shard,
)
from tasks.progress import Progress
from tasks.training import ModelRef


@flow(name="index", flow_run_name="index-{settings.dataset}-{model.model_version}")
def _index_flow(settings: Settings, model: ModelRef, data: DataInfo) -> tuple[str, int]:
    # One open store for the whole run: the writer upserts shard after shard.
    with held_store(settings):
        return _write_index(settings, model, data)


def _write_index(settings: Settings, model: ModelRef, data: DataInfo) -> tuple[str, int]:
    collection = create_collection(settings, model, data)
    start = time.perf_counter()
    plans = {split: plan_shards(settings, data, split, collection) for split in ("train", "test")}
    work = [(split, positions) for split, shards in plans.items() for positions in shards]
    progress = {
        split: Progress(f"index-{split}", sum(map(len, shards)), f"{split} into {collection}")
        for split, shards in plans.items()
    }
    # Every shard of both splits is submitted at once, so the task runner's workers (threads or
    # Dask processes) stay busy to the end, while this process, the one writer, upserts each
    # finished shard in order.
    futures: list[tuple[str, PrefectFuture[str]]] = [
        (split, embed_shard.submit(settings, model, data, split, positions))
        for split, positions in work
    ]
    for split, future in futures:
        progress[split].advance(upsert_shard(settings, model, split, future.result(), collection))
    seconds = time.perf_counter() - start
    points = finalize_collection(settings, collection, data.train_size + data.test_size, seconds)
    return collection, points


def index_flow(settings: Settings, model: ModelRef, data: DataInfo) -> tuple[str, int]:
    """Return the collection's name and its point count after indexing."""
    return _index_flow.with_options(task_runner=task_runner(settings))(settings, model, data)
