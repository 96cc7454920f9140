"""``lookalike api``: uvicorn over the app, in one process or in ``--workers`` processes.

Workers are uvicorn's own (it spawns, watches and restarts them); each builds the app from the
launcher's settings, opens the served collection as a reader (on the embedded store readers
share it: see ``infra/store/edge.py``) and follows the alias on its own. On a Qdrant server the
workers are stateless clients.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from fastapi import FastAPI

from app.api.main import create_app
from app.api.metrics import prepare_multiprocess_dir
from app.read_commands import names_a_dataset
from infra.settings import Settings
from infra.store import open_store
from search.promotion import choose_alias

SETTINGS_ENV = "LOOKALIKE_API_WORKER_SETTINGS"  # the launcher's settings, for its workers
METRICS_ENV = "PROMETHEUS_MULTIPROC_DIR"  # prometheus-client's multiprocess mode


def serve(settings: Settings, workers: int | None = None) -> None:
    """Run the API until interrupted: over the alias the settings name, or, when the user named
    none and it does not exist, the only alias the store has; ``workers`` processes (default:
    one per core)."""
    import uvicorn

    settings = _alias(settings)
    count = workers or os.cpu_count() or 1
    host, port = settings.serve.api_host, settings.serve.api_port
    keyed = "with an API key" if settings.serve.api_key else "without an API key"
    plural = "es" if count > 1 else ""
    print(f"Lookalike API on http://{host}:{port} ({keyed}, {count} process{plural}); /docs")
    access_log = settings.serve.api_access_log
    if count == 1:
        app = create_app(settings)
        uvicorn.run(app, host=host, port=port, log_level="info", access_log=access_log)
        return
    os.environ[SETTINGS_ENV] = json.dumps(settings.public())
    os.environ[METRICS_ENV] = str(_metrics_dir(settings))
    uvicorn.run(
        "app.api.serve:worker_app",
        factory=True,
        workers=count,
        host=host,
        port=port,
        log_level="info",
        access_log=access_log,
    )


def worker_app() -> FastAPI:
    """One worker's app, with the settings its launcher resolved (secrets, left out of the
    hand-over, come from the environment as they did for the launcher)."""
    return create_app(Settings(**json.loads(os.environ[SETTINGS_ENV])))


def _alias(settings: Settings) -> Settings:
    with open_store(settings.store, read_only=True) as store:
        alias = choose_alias(store.aliases(), settings.served_alias, names_a_dataset(settings))
    if alias == settings.served_alias:
        return settings
    print(f"serving alias {alias}, the only one in the store ({settings.served_alias} is not)")
    return settings.with_(alias=alias)


def _metrics_dir(settings: Settings) -> Path:
    """A fresh folder for this run's workers' metrics (a previous run's counts would add up)."""
    folder = settings.home / "run" / f"metrics-{settings.serve.api_port}"
    prepare_multiprocess_dir(folder)
    return folder
