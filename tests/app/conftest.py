"""A real API on loopback over an index built by Lookalike's own index flow, per backend."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import uvicorn
from fastapi import FastAPI

from app.api.main import create_app
from benchmarks.browser import chrome
from flows.index import index_flow
from infra.settings import Settings
from infra.store import PointBatch, open_store, point_id
from infra.store.base import CollectionSpec
from model.metrics import l2_normalise
from tasks.sources import scan_source
from tests.conftest import random_checkpoint
from training.runs import model_ref

TRAIN, TEST = 400, 100


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port; yield its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the API did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


@dataclass(frozen=True)
class Api:
    url: str
    settings: Settings
    data_root: Path  # where the run found Fashion-MNIST, loadable as it is


def build_index(settings: Settings) -> str:
    """Index a slice of Fashion-MNIST with a small random model and serve it."""
    model = model_ref(random_checkpoint(settings.checkpoint_dir))
    indexed = index_flow(settings, model, scan_source(settings))
    with open_store(settings.store) as store:
        store.set_alias(settings.served_alias, indexed.collection)
    return indexed.collection


@pytest.fixture(scope="module", params=["embedded", "memory"])
def api(
    request: pytest.FixtureRequest,
    data_root: Path,
    tmp_path_factory: pytest.TempPathFactory,
    prefect_api: None,
) -> Iterator[Api]:
    """The congruence pair: the same tests on the embedded store and qdrant-client :memory:."""
    home = tmp_path_factory.mktemp(f"api-{request.param}")
    backend = {"qdrant_url": ":memory:"} if request.param == "memory" else {}
    settings = Settings(
        home=home,
        data_root=data_root,
        train_limit=TRAIN,
        test_limit=TEST,
        progress=False,
        dataset=f"api-{request.param}",
        **backend,
    )
    build_index(settings)
    with running(create_app(settings)) as url:
        yield Api(url, settings, data_root)


LABELS = ["Shirt", "Coat", "Bag"]
SEASONS = ["winter", "spring", "summer", "autumn"]


def served_collection(home: Path) -> Settings:
    """An embedded collection with every field the options filter on, served by the alias."""
    settings = Settings(home=home, progress=False)
    n, dim = 60, 8
    rng = np.random.default_rng(0)
    vectors = l2_normalise(rng.standard_normal((n, dim)).astype(np.float32))
    payloads = [
        {
            "item_id": f"train-{i}",
            "split": ("train", "test")[i % 2],
            "label_name": LABELS[i % 3],
            "season": SEASONS[i % 4],
            "colour": ("red", "blue")[i % 2],
            "price": float(i),
        }
        for i in range(n)
    ]
    name = "surfaces-v1"
    with open_store(settings.store) as store:
        store.ensure_collection(CollectionSpec(name, dim, metadata={"labels": LABELS}))
        store.upsert(
            name, PointBatch([point_id("s", "train", i) for i in range(n)], vectors, payloads)
        )
        store.finalize(name)
        store.set_metadata(name, {"model_version": "v1", "complete": True, "points": n})
        store.set_alias(settings.served_alias, name)
    return settings


@contextmanager
def process_serving(
    cmd: list[str], port: int, env: dict[str, str], log: Path, ready: str = "/healthz"
) -> Iterator[str]:
    """Run ``cmd``, a server on loopback ``port``, its output in ``log``; yield its URL once
    ``ready`` answers 200; stop it on the way out."""
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(url + ready, timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"the server did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(30)


# The gallery's site and browser, shared by its browser tests (tests/app/test_gallery*.py):
# one index and one Chromium for all of them.
@pytest.fixture(scope="session")
def site(
    data_root: Path, tmp_path_factory: pytest.TempPathFactory, prefect_api: None
) -> Iterator[tuple[str, Path]]:
    home = tmp_path_factory.mktemp("gallery")
    settings = Settings(
        home=home, data_root=data_root, train_limit=TRAIN, test_limit=TEST, progress=False
    )
    build_index(settings)
    with running(create_app(settings)) as url:
        yield url, data_root


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    with chrome() as driver:
        yield driver
