"""A `lookalike run` killed mid-index leaves the alias alone; the re-run embeds exactly what is
missing, ends with the exact count and no duplicates, and only then moves the alias."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from infra.settings import Settings
from infra.store import Condition, open_store

TRAIN, TEST, SHARD = 2000, 400, 100

pytestmark = pytest.mark.slow


def _env(home: Path, data_root: Path, seed: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API", "LOOKALIKE_"))}
    return env | {
        "PREFECT_HOME": str(home / "prefect"),
        "LOOKALIKE_HOME": str(home),
        "LOOKALIKE_DATA_ROOT": str(data_root),
        "LOOKALIKE_TRAIN_LIMIT": str(TRAIN),
        "LOOKALIKE_TEST_LIMIT": str(TEST),
        "LOOKALIKE_EPOCHS": "1",
        "LOOKALIKE_WIDTH": "8",
        "LOOKALIKE_SEED": str(seed),
        "LOOKALIKE_INDEX_SHARD_SIZE": str(SHARD),
        "LOOKALIKE_UPSERT_BATCH_SIZE": "50",
        "LOOKALIKE_PROJECTOR_SAMPLE": "0",
        "LOOKALIKE_MIN_PRECISION_AT_1": "0",
        "LOOKALIKE_MAX_REGRESSION": "1",
        "LOOKALIKE_PROGRESS": "false",
    }


def _run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "app.cli", "run"]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def _children(pid: int) -> set[int]:
    tasks = Path(f"/proc/{pid}/task").iterdir()
    return {int(c) for t in tasks for c in (t / "children").read_text().split()}


def _gone(pids: set[int], seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(Path(f"/proc/{p}").exists() for p in pids):
            return True
        time.sleep(0.2)
    return False


def _run_and_kill(env: dict[str, str], after_shards: int) -> set[int]:
    """Start a run and SIGKILL it once it has upserted ``after_shards`` shards; return the
    processes it had started (Prefect's temporary server among them)."""
    cmd = [sys.executable, "-m", "app.cli", "run"]
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    seen = 0
    assert proc.stderr is not None
    for line in iter(proc.stderr.readline, b""):
        seen += b"upserted" in line
        if seen == after_shards:
            children = _children(proc.pid)
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    return children


def test_a_killed_run_resumes_without_duplicates(data_root: Path, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    alias = settings.served_alias
    _run(_env(tmp_path, data_root, seed=0))  # a served index from an earlier model
    with open_store(settings.store) as store:
        old = store.resolve(alias)

    children = _run_and_kill(_env(tmp_path, data_root, seed=1), after_shards=3)
    assert children, "the run started no temporary Prefect server"
    assert _gone(children), "processes of the killed run (its Prefect server) outlived it"
    with open_store(settings.store) as store:
        new = next(c for c in store.list_collections() if c != old)
        written = store.count(new)
        assert store.metadata(new)["complete"] is False
        assert store.resolve(alias) == old and store.count(alias) == TRAIN + TEST
    assert 3 * SHARD <= written < TRAIN + TEST

    out = _run(_env(tmp_path, data_root, seed=1))
    assert f"{TRAIN + TEST} points, {TRAIN + TEST - written} embedded by this run" in out.stdout
    with open_store(settings.store) as store:
        assert store.resolve(alias) == new
        ids = store.find_ids(new, [], limit=10 * (TRAIN + TEST))
        items = [p["item_id"] for p in store.payloads(new, ids).values()]
        assert len(ids) == len(set(ids)) == len(set(items)) == TRAIN + TEST
        assert store.count(new, [Condition.equals("split", "test")]) == TEST
        assert store.metadata(new)["complete"] is True
