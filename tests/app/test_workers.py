"""`lookalike api --workers 2`: worker processes share the served collection on the embedded
store, follow a promotion made by another process, and let go of the retired collection so
that prune can delete it (refused while a worker still holds it)."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.cli import main
from infra.settings import Settings
from infra.store import open_store
from tests.app.conftest import free_port, process_serving, served_collection

pytestmark = pytest.mark.slow
NAMES = ["--home", "", "--dataset", "surfaces", "--alias", "lookalike-fashion-mnist"]


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[tuple[str, Settings]]:
    settings = served_collection(tmp_path)
    with open_store(settings.store) as store:  # a second version to promote
        store.copy_collection("surfaces-v1", "surfaces-v2")
        store.set_metadata("surfaces-v2", {"model_version": "v2"})
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOKALIKE_")}
    cmd = [sys.executable, "-m", "app.cli", "api", "--workers", "2", "--port", str(port)]
    cmd += ["--home", str(tmp_path)]
    with process_serving(cmd, port, env, tmp_path / "api.log", ready="/readyz") as url:
        yield url, settings


def _collections(url: str, n: int) -> set[str]:
    """Which collection answered each of ``n`` queries, each on a connection of its own (the
    workers share the listening socket: a kept-alive connection stays with one of them)."""
    seen = set()
    for _ in range(n):
        r = httpx.get(f"{url}/v1/similar/items/train-1", params={"k": 3}, timeout=30)
        assert r.status_code == 200 and len(r.json()["hits"]) == 3, r.text
        seen.add(r.headers["X-Lookalike-Collection"])
    return seen


def _holders(lock: Path) -> set[int]:
    """The processes holding a flock on ``lock`` (Linux's /proc/locks, by the file's inode)."""
    inode = lock.stat().st_ino
    pids = set()
    for line in Path("/proc/locks").read_text().splitlines():
        parts = line.split()
        if parts[1] == "FLOCK" and parts[5].split(":")[-1] == str(inode):
            pids.add(int(parts[4]))
    return pids


def _cli(*args: str, home: Path) -> int:
    names = [home.as_posix() if a == "" else a for a in NAMES]
    return main([*args, *names])


def test_workers_share_follow_a_promotion_and_let_go(
    workers: tuple[str, Settings], capsys: pytest.CaptureFixture[str]
) -> None:
    url, settings = workers
    assert _collections(url, 40) == {"surfaces-v1"}
    lock = settings.store.path / "surfaces-v1" / "open.lock"
    assert len(_holders(lock)) == 2, "both workers have the served collection open, shared"
    # Either worker's /metrics counts the requests of both.
    counted = re.compile(
        r'^lookalike_requests_total\{endpoint="/v1/similar/items/[^"]*",status="200"\} (\S+)$', re.M
    )
    for _ in range(4):
        text = httpx.get(f"{url}/metrics", timeout=30).text
        assert [float(x) for x in counted.findall(text)] == [40.0], text[-2000:]
    # Meanwhile this process reads the served collection too (readers share it).
    assert main(["similar", "train-1", "-k", "2", "--home", str(settings.home)]) == 0
    assert "via the API" not in capsys.readouterr().out

    assert _cli("promote", "v2", home=settings.home) == 0
    # The retired collection is still open in the workers that have not answered since.
    assert _cli("index", "prune", "--keep", "1", home=settings.home) == 1
    assert "open" in capsys.readouterr().err
    assert _collections(url, 20) == {"surfaces-v2"}, "every worker follows the promotion"

    for _ in range(20):  # each worker lets go once it has answered a request after the move
        capsys.readouterr()
        if _cli("index", "prune", "--keep", "1", home=settings.home) == 0:
            break
        _collections(url, 4)
    assert "deleted 1 index(es): surfaces-v1" in capsys.readouterr().out
    assert _collections(url, 4) == {"surfaces-v2"}
