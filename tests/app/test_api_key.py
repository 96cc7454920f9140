"""`lookalike api` with an API key, as its own process: every request but health needs the key,
the key never shows in an answer or in the service's logs, and the command line's queries read
the index beside the running API."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from infra.settings import Settings
from tests.app.conftest import TEST, TRAIN, build_index, free_port, process_serving

KEY = "k3y-that-must-never-be-logged-0d5e"

pytestmark = pytest.mark.slow


def test_every_request_but_health_needs_the_key(
    data_root: Path, tmp_path: Path, prefect_api: None
) -> None:
    settings = Settings(
        home=tmp_path, data_root=data_root, train_limit=TRAIN, test_limit=TEST, progress=False
    )
    build_index(settings)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOKALIKE_")}
    env |= {
        "LOOKALIKE_HOME": str(tmp_path),
        "LOOKALIKE_API_KEY": KEY,
        "LOOKALIKE_LOG_LEVEL": "DEBUG",
    }
    log = tmp_path / "api.log"
    cmd = [sys.executable, "-m", "app.cli", "api", "--port", str(port)]
    with process_serving(cmd, port, env, log) as url:
        assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}
        query = f"{url}/v1/similar/items/test-1"
        for path in ("/v1/similar/items/test-1", "/readyz", "/v1/metrics", "/v1/collections"):
            assert httpx.get(url + path).status_code == 401, path
        wrong = httpx.get(query, headers={"X-API-Key": "guess"})
        assert wrong.status_code == 401 and "guess" not in wrong.text
        assert httpx.get(query, headers={"X-API-Key": KEY}).status_code == 200
        assert httpx.get(query, headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
        # The API has the embedded index open: the command line's query reads it beside it.
        cli = [sys.executable, "-m", "app.cli", "similar", "test-1", "-k", "3"]
        out = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert out.stdout.count("score") == 3
    text = log.read_text()
    assert "GET /v1/similar/items/test-1" in text  # the log is there, and it was read
    assert KEY not in text and "guess" not in text
