"""The Prefect task runner that embedding shards run on: existing engines only."""

from __future__ import annotations

from typing import Any

from prefect.task_runners import ThreadPoolTaskRunner

from infra.settings import Settings


def task_runner(settings: Settings) -> Any:
    """Threads in this process by default; prefect-dask's DaskTaskRunner when asked for."""
    if settings.task_runner == "threads":
        return ThreadPoolTaskRunner(max_workers=settings.index_workers)
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError as exc:
        raise ValueError(
            "LOOKALIKE_TASK_RUNNER=dask needs prefect-dask: pip install 'lookalike[dask]'."
        ) from exc
    if settings.dask_address:
        return DaskTaskRunner(address=settings.dask_address)
    # One thread per worker process: torch already uses the cores it is given.
    kwargs = {"n_workers": settings.index_workers, "threads_per_worker": 1, "processes": True}
    return DaskTaskRunner(cluster_kwargs=kwargs)
