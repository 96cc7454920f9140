"""Flow: index a product catalog end to end, scan -> model -> index -> evaluate -> promote."""

from __future__ import annotations

import time

from prefect import flow
from prefect.futures import PrefectFuture

from flows.pipeline import Clock
from flows.runners import task_runner
from infra.locks import alias_lock
from infra.settings import Settings
from infra.store import held_store
from tasks.catalog import CatalogInfo, catalog_model, scan_catalog
from tasks.catalog_index import (
    create_catalog_collection,
    embed_catalog_shard,
    evaluate_catalog,
    plan_catalog_shards,
    upsert_catalog_shard,
)
from tasks.catalog_report import CatalogSummary, catalog_examples, publish_catalog_report
from tasks.indexing import finalize_collection
from tasks.progress import Progress
from tasks.serving import promote_index
from tasks.training import ModelRef


@flow(name="catalog-index", flow_run_name="catalog-index-{settings.dataset}-{model.model_version}")
def _catalog_index(settings: Settings, model: ModelRef, info: CatalogInfo) -> tuple[str, int]:
    with held_store(settings):
        return _write_catalog_index(settings, model, info)


def _write_catalog_index(settings: Settings, model: ModelRef, info: CatalogInfo) -> tuple[str, int]:
    collection = create_catalog_collection(settings, model, info)
    start = time.perf_counter()
    shards = plan_catalog_shards(settings, model, info, collection)
    progress = Progress("index-catalog", sum(map(len, shards)), f"embedding into {collection}")
    futures: list[PrefectFuture[str]] = [
        embed_catalog_shard.submit(settings, model, info, positions) for positions in shards
    ]
    for future in futures:
        progress.advance(upsert_catalog_shard(settings, model, info, future.result(), collection))
    points = finalize_collection(settings, collection, info.count, time.perf_counter() - start)
    return collection, points


def catalog_index_flow(settings: Settings, model: ModelRef, info: CatalogInfo) -> tuple[str, int]:
    """Bring the model's collection in line with the catalog; return its name and count."""
    return _catalog_index.with_options(task_runner=task_runner(settings))(settings, model, info)


@flow(name="catalog", flow_run_name="catalog-{settings.dataset}-{settings.backbone}")
def catalog_pipeline(settings: Settings) -> CatalogSummary:
    with alias_lock(settings.home / "locks", settings.served_alias):
        clock = Clock()
        info = scan_catalog(settings)
        clock.lap("scan")
        model = catalog_model(settings, info)
        clock.lap("model")
        collection, points = catalog_index_flow(settings, model, info)
        clock.lap("index")
        metrics = evaluate_catalog(settings, info, collection)
        clock.lap("evaluate")
        decision = promote_index(settings, collection, gated=bool(metrics))
        examples = catalog_examples(settings, info, collection)
        clock.lap("promote+examples")
        summary = CatalogSummary(
            info, model, collection, points, metrics, decision, settings.served_alias, examples
        )
        summary.seconds = clock.seconds
        publish_catalog_report(settings, summary)
        return summary
