"""Scheduled deployments served by `lookalike serve`: the nightly pipeline and a re-index.

Deployment parameters travel through the Prefect API as JSON, so they carry only the settings a
user overrode on the command line; everything else (secrets included) is read from the
environment of the serving process when a run starts.
"""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.deployments.runner import RunnerDeployment

from flows.catalog import catalog_index_flow, catalog_pipeline
from flows.index import index_flow
from flows.pipeline import pipeline
from infra.settings import Settings
from infra.store import open_store
from tasks.catalog import catalog_model_ref, scan_catalog
from tasks.data import prepare_data
from tasks.training import model_ref


@flow(name="scheduled-pipeline", flow_run_name="scheduled-pipeline")
def scheduled_pipeline(overrides: dict[str, Any] | None = None) -> str:
    """Train (or reuse), index, evaluate, gate; return the model version."""
    settings = Settings(**(overrides or {}))
    if settings.catalog is not None:
        return catalog_pipeline(settings).model.model_version
    return pipeline(settings).model.model_version


@flow(name="scheduled-reindex", flow_run_name="scheduled-reindex")
def scheduled_reindex(overrides: dict[str, Any] | None = None) -> int:
    """Re-embed the catalog with the served model into its own collection (idempotent)."""
    settings = Settings(**(overrides or {}))
    store = open_store(settings)
    try:
        checkpoint = str(store.metadata(settings.served_alias)["checkpoint"])
    finally:
        store.close()
    if settings.catalog is not None:
        # New, changed and removed products only, with the served model: no retraining.
        info = scan_catalog(settings)
        return catalog_index_flow(settings, catalog_model_ref(checkpoint), info)[1]
    _, points = index_flow(settings, model_ref(checkpoint), prepare_data(settings))
    return points


def build_deployments(settings: Settings, overrides: dict[str, Any]) -> list[RunnerDeployment]:
    """Both deployments, one run at a time each, so two runs never write the same alias."""
    params = {"overrides": overrides}
    tags = ["lookalike", settings.dataset]
    deployments = [
        scheduled_pipeline.to_deployment(
            "nightly",
            cron=settings.pipeline_cron,
            parameters=params,
            concurrency_limit=1,
            tags=tags,
            description="Train (or reuse a cached model), index, evaluate, gate and promote.",
        ),
        scheduled_reindex.to_deployment(
            "reindex",
            cron=settings.index_cron,
            parameters=params,
            concurrency_limit=1,
            tags=tags,
            description="Re-embed and upsert the catalog with the served model.",
        ),
    ]
    # to_deployment returns a coroutine only when called from async code.
    return [d for d in deployments if isinstance(d, RunnerDeployment)]
