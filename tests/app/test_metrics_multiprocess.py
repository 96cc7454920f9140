"""`/metrics` sums over worker processes: two real API processes share one
PROMETHEUS_MULTIPROC_DIR (as `lookalike api --workers N` sets it), and either one's scrape counts
the requests both answered."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from app.api.metrics import MULTIPROC_ENV, prepare_multiprocess_dir
from tests.app.conftest import free_port, process_serving, served_collection

KEY = "metrics-key-5b1f"
# One worker as the launcher's workers are made: the app over the settings of the environment.
WORKER = (
    "import sys, uvicorn; from app.api.main import create_app; "
    "from infra.settings import Settings; "
    "uvicorn.run(create_app(Settings()), host='127.0.0.1', port=int(sys.argv[1]), "
    "log_level='warning')"
)


@contextmanager
def worker(env: dict[str, str], log: Path) -> Iterator[tuple[str, int]]:
    """A worker process on a free port; yields its URL and how many /healthz it answered while
    it was awaited."""
    port = free_port()
    cmd = [sys.executable, "-c", WORKER, str(port)]
    with process_serving(cmd, port, env, log) as url:
        yield url, 1  # the /healthz that found it ready is counted too


def samples(url: str) -> dict[tuple[str, str], float]:
    """(sample name, endpoint) -> value of the scrape, for the 200s."""
    text = httpx.get(f"{url}/metrics", headers={"X-API-Key": KEY}).text
    return {
        (s.name, s.labels.get("endpoint", "")): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.labels.get("status", "200") == "200"
    }


def test_either_workers_metrics_count_the_requests_of_both(tmp_path: Path) -> None:
    served_collection(tmp_path)
    shared = tmp_path / "metrics"
    prepare_multiprocess_dir(shared)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOKALIKE_")}
    env |= {"LOOKALIKE_HOME": str(tmp_path), "LOOKALIKE_API_KEY": KEY, MULTIPROC_ENV: str(shared)}
    with ExitStack() as stack:
        (a, ready_a), (b, ready_b) = (
            stack.enter_context(worker(env, tmp_path / f"{name}.log")) for name in "ab"
        )
        n, m = 7, 4
        for _ in range(n):
            assert httpx.get(f"{a}/healthz").status_code == 200
        for _ in range(m):
            assert httpx.get(f"{b}/healthz").status_code == 200
        assert httpx.get(f"{a}/metrics").status_code == 401  # the key is still needed
        total = n + m + ready_a + ready_b
        counted = ("lookalike_requests_total", "/healthz")
        timed = ("lookalike_request_seconds_count", "/healthz")
        for url in (a, b):
            deadline = time.monotonic() + 5  # a request is counted just after its answer
            while (got := samples(url)).get(counted) != total and time.monotonic() < deadline:
                time.sleep(0.05)
            assert got.get(counted) == total, (url, got.get(counted), total)
            assert got.get(timed) == total
            assert got[("lookalike_served_points", "")] == 60  # this worker's view of the alias
        assert {p.name.split("_")[0] for p in shared.glob("*.db")} >= {"counter", "histogram"}


def test_a_runs_folder_is_emptied_of_the_last_runs_metrics_only(tmp_path: Path) -> None:
    folder = tmp_path / "run" / "metrics"
    prepare_multiprocess_dir(folder)
    assert folder.is_dir()
    (folder / "counter_123.db").write_bytes(b"old")
    (folder / "notes.txt").write_text("not ours")
    prepare_multiprocess_dir(folder)
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]
