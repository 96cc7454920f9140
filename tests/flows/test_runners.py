"""The index flow on prefect-dask's DaskTaskRunner (a local 2-worker cluster) writes the same
points as on the default thread runner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from flows.index import index_flow
from infra.settings import Settings
from infra.store import open_store, point_id
from tasks.sources import scan_source
from tests.conftest import random_checkpoint
from training.runs import model_ref

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_api")]


def _index(home: Path, data_root: Path, checkpoint: str, **runner: object) -> dict[str, np.ndarray]:
    settings = Settings(
        home=home,
        data_root=data_root,
        train_limit=600,
        test_limit=200,
        progress=False,
        index_shard_size=150,
        **runner,
    )
    model = model_ref(str(checkpoint))
    indexed = index_flow(settings, model, scan_source(settings))
    assert indexed.points == indexed.embedded == 800
    ids = [
        point_id(settings.dataset, s, i)
        for s, n in (("train", 600), ("test", 200))
        for i in range(n)
    ]
    with open_store(settings.store) as store:
        return store.vectors(indexed.collection, ids)


def test_dask_runner_writes_the_same_points(data_root: Path, tmp_path: Path) -> None:
    pytest.importorskip("prefect_dask", reason="prefect-dask is not installed")
    ckpt = random_checkpoint(tmp_path / "ckpt")
    threads = _index(tmp_path / "threads", data_root, ckpt)
    before = _embed_runs()
    dask = _index(tmp_path / "dask", data_root, ckpt, task_runner="dask", index_workers=2)
    assert threads.keys() == dask.keys() and len(dask) == 800
    for pid, vector in threads.items():
        np.testing.assert_allclose(dask[pid], vector, atol=1e-5)
    # Every shard's task run is recorded in this session's API: 600/150 + 200/150, rounded up.
    assert _embed_runs() - before == 6


def _embed_runs() -> int:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterName

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            task_run_filter=TaskRunFilter(name=TaskRunFilterName(like_="embed-")), limit=200
        )
    return len(runs)


def test_local_dask_workers_share_the_temporary_api(data_root: Path, tmp_path: Path) -> None:
    """Under Prefect's temporary server (no PREFECT_API_URL), local workers must report to the
    server of the process that starts them, not start one each (seconds lost, runs unseen)."""
    pytest.importorskip("prefect_dask", reason="prefect-dask is not installed")
    ckpt = random_checkpoint(tmp_path / "ckpt")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env |= {
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "LOOKALIKE_HOME": str(tmp_path / "home"),
        "LOOKALIKE_DATA_ROOT": str(data_root),
        "LOOKALIKE_TASK_RUNNER": "dask",
        "LOOKALIKE_INDEX_WORKERS": "2",
        "LOOKALIKE_INDEX_SHARD_SIZE": "150",
        "LOOKALIKE_TRAIN_LIMIT": "600",
        "LOOKALIKE_TEST_LIMIT": "200",
        "LOOKALIKE_PROGRESS": "false",
    }
    cmd = [sys.executable, "-m", "app.cli", "index", "build", "--checkpoint", ckpt]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "800 points" in out.stdout
    log = out.stdout + out.stderr
    assert log.count("Starting temporary server") == 1, log[-3000:]
