"""The Prefect task runner that embedding shards run on: existing engines only."""

from __future__ import annotations

from typing import Any

from prefect.task_runners import ThreadPoolTaskRunner

from infra.errors import UserError
from infra.settings.sections import IndexSettings


def task_runner(index: IndexSettings) -> Any:
    """Threads in this process by default; prefect-dask's DaskTaskRunner when asked for."""
    if index.task_runner == "threads":
        return ThreadPoolTaskRunner(max_workers=index.index_workers)
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError as exc:
        raise UserError(
            "LOOKALIKE_TASK_RUNNER=dask needs prefect-dask: pip install 'lookalike[dask]'."
        ) from exc
    if index.dask_address:
        return DaskTaskRunner(address=index.dask_address)
    # One thread per worker process: torch already uses the cores it is given.
    kwargs: dict[str, Any] = {
        "n_workers": index.index_workers,
        "threads_per_worker": 1,
        "processes": True,
        "env": api_env(),
    }
    return DaskTaskRunner(cluster_kwargs=kwargs)


def api_env() -> dict[str, str]:
    """The Prefect API this process reports to, for local worker processes.

    Without it, under Prefect's temporary server (no PREFECT_API_URL), every worker starts a
    temporary server of its own: ~13 s per worker on the first shard, and its task runs recorded
    where nobody sees them.
    """
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return {"PREFECT_API_URL": str(client.api_url)}
