"""Scheduled deployments served by `lookalike serve`: the nightly pipeline and a re-index.

Deployment parameters travel through the Prefect API as JSON, so they carry only the settings a
user overrode on the command line; everything else (secrets included) is read from the
environment of the serving process when a run starts.
"""

from __future__ import annotations

from typing import Any

from prefect import Flow, flow
from prefect.deployments.runner import RunnerDeployment

from flows.pipeline import pipeline, reindex
from infra.errors import UserError
from infra.settings import Settings
from infra.store import open_store
from search.metadata import read_meta


@flow(name="scheduled-pipeline", flow_run_name="scheduled-pipeline")
def scheduled_pipeline(overrides: dict[str, Any] | None = None) -> str:
    """Train (or reuse), index, evaluate, gate; return the model version."""
    return pipeline(Settings(**(overrides or {}))).model.model_version


@flow(name="scheduled-reindex", flow_run_name="scheduled-reindex")
def scheduled_reindex(overrides: dict[str, Any] | None = None) -> int:
    """Bring the served model's collection in line with the catalog: new, changed and removed
    items only, no retraining (idempotent), then evaluate, gate and promote as the pipeline
    does, so the change is served; return the points of the indexed collection."""
    settings = Settings(**(overrides or {}))
    with open_store(settings.store) as store:
        checkpoint = read_meta(store, settings.served_alias).checkpoint
    if checkpoint is None:
        raise UserError(
            f"{settings.served_alias!r} records no model to re-index with: run `lookalike run`."
        )
    return reindex(settings, checkpoint).points


def build_deployments(settings: Settings, overrides: dict[str, Any]) -> list[RunnerDeployment]:
    """Both deployments, one run at a time each, so two runs never write the same alias."""
    table: list[tuple[Flow[..., Any], str, str, str]] = [
        (
            scheduled_pipeline,
            "nightly",
            settings.serve.pipeline_cron,
            "Train (or reuse a cached model), index, evaluate, gate and promote.",
        ),
        (
            scheduled_reindex,
            "reindex",
            settings.serve.index_cron,
            "Re-embed new and changed items with the served model, delete removed ones.",
        ),
    ]
    deployments = [
        job.to_deployment(
            name,
            cron=cron,
            parameters={"overrides": overrides},
            concurrency_limit=1,
            tags=["lookalike", settings.dataset],
            description=description,
        )
        for job, name, cron, description in table
    ]
    # to_deployment returns a coroutine only when called from async code.
    return [d for d in deployments if isinstance(d, RunnerDeployment)]
