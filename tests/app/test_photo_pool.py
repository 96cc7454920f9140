"""Photos never stall the rest: a photo is decoded and embedded in the service's bounded pool,
off the event loop and outside the store's lock; a full pool answers 503 with Retry-After; a
collection's model loads once. Ordering tests, not timed ones: the model (or its loading) is
held at a gate the test opens, over a real index on a real server on loopback."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

import model.backbones
from app.api.main import create_app
from app.api.service import PhotoPool
from infra.settings import Settings
from tests.app.conftest import TEST, TRAIN, build_index, running

pytestmark = pytest.mark.slow

FAIL_AFTER_S = 30  # a bound on a test that fails (a stalled request), never a measurement


@pytest.fixture(scope="module")
def settings(
    data_root: Path, tmp_path_factory: pytest.TempPathFactory, prefect_api: None
) -> Settings:
    """An index built by the index flow, on the embedded store, whose lock is the one at stake."""
    settings = Settings(
        home=tmp_path_factory.mktemp("photo-pool"),
        data_root=data_root,
        train_limit=TRAIN,
        test_limit=TEST,
        progress=False,
        dataset="photo-pool",
    )
    build_index(settings)
    return settings


class Gates:
    """``from_checkpoint``, counted; its loading and each loaded model's forward pass held until
    the test opens their gates, each telling when it is reached."""

    def __init__(self, real: Callable[[dict[str, Any]], Any]) -> None:
        self.real = real
        self.loads = 0
        self.load_open, self.loading = threading.Event(), threading.Event()
        self.forward_open, self.forwarding = threading.Event(), threading.Event()

    def load(self, payload: dict[str, Any]) -> Any:
        self.loads += 1
        self.loading.set()
        assert self.load_open.wait(FAIL_AFTER_S)
        net = self.real(payload)
        net.register_forward_pre_hook(self._hold)
        return net

    def _hold(self, module: object, args: object) -> None:
        self.forwarding.set()
        assert self.forward_open.wait(FAIL_AFTER_S)

    def open(self) -> None:
        self.load_open.set()
        self.forward_open.set()


@pytest.fixture
def gates(monkeypatch: pytest.MonkeyPatch) -> Iterator[Gates]:
    gates = Gates(model.backbones.from_checkpoint)
    monkeypatch.setattr(model.backbones, "from_checkpoint", gates.load)
    try:
        yield gates
    finally:
        gates.open()  # a failed test still lets its requests and its server finish


def _png() -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.full((28, 28), 128, np.uint8)).save(out, "PNG")
    return out.getvalue()


def _photo(url: str, path: str = "/v1/similar/image") -> httpx.Response:
    files = {"file": ("x.png", _png(), "image/png")}
    return httpx.post(url + path, params={"k": 3}, files=files, timeout=FAIL_AFTER_S * 2)


def _item(url: str) -> httpx.Response:
    return httpx.get(url + "/v1/similar/items/test-3", params={"k": 3}, timeout=FAIL_AFTER_S)


def _until(done: Callable[[], bool]) -> None:
    deadline = time.monotonic() + FAIL_AFTER_S
    while not done():
        assert time.monotonic() < deadline, "the state the test waits for never came"
        time.sleep(0.01)


def _pool(app: Any) -> PhotoPool:
    pool: PhotoPool = app.state.service.photos
    return pool


def test_an_item_query_is_answered_while_a_photo_is_embedded(
    settings: Settings, gates: Gates
) -> None:
    gates.load_open.set()
    app = create_app(settings)
    with running(app) as url, ThreadPoolExecutor(1) as client:
        photo = client.submit(_photo, url)
        assert gates.forwarding.wait(FAIL_AFTER_S), "the photo never reached the model"
        item = _item(url)
        assert item.status_code == 200 and len(item.json()["hits"]) == 3, item.text
        assert not photo.done(), "the photo was answered before its model ran"
        gates.forward_open.set()
        answered = photo.result(FAIL_AFTER_S)
        assert answered.status_code == 200 and len(answered.json()["hits"]) == 3, answered.text


def test_a_full_photo_queue_answers_503_with_retry_after(settings: Settings, gates: Gates) -> None:
    gates.load_open.set()
    app = create_app(settings.with_(photo_workers=1, photo_queue=1))
    with running(app) as url, ThreadPoolExecutor(2) as client:
        pool = _pool(app)
        running_photo = client.submit(_photo, url)
        assert gates.forwarding.wait(FAIL_AFTER_S)
        waiting_photo = client.submit(_photo, url)
        _until(lambda: pool.admitted == 2)  # one in the model, one waiting for the worker

        refused = _photo(url)
        assert refused.status_code == 503, refused.text
        wait = int(refused.headers["Retry-After"])
        assert wait >= 1
        assert refused.json() == {
            "error": f"the photo queue is full: retry in {wait} s.",
            "status": 503,
        }
        page = _photo(url, "/search")  # the gallery's photo search shares the pool
        assert page.status_code == 503 and "the photo queue is full" in page.text
        assert _item(url).status_code == 200  # the rest is answered meanwhile

        gates.forward_open.set()
        assert running_photo.result(FAIL_AFTER_S).status_code == 200
        assert waiting_photo.result(FAIL_AFTER_S).status_code == 200
        _until(lambda: pool.admitted == 0)
        assert _photo(url).status_code == 200
        assert _photo(url, "/search").status_code == 200


def test_a_collections_model_loads_once_and_not_under_the_store_lock(
    settings: Settings, gates: Gates
) -> None:
    gates.forward_open.set()
    app = create_app(settings.with_(photo_workers=3))
    with running(app) as url, ThreadPoolExecutor(3) as client:
        pool = _pool(app)
        photos = [client.submit(_photo, url) for _ in range(3)]
        assert gates.loading.wait(FAIL_AFTER_S)
        _until(lambda: pool.running == 3)  # all three in a worker, none with a model yet
        item = _item(url)  # the load holds no lock another query needs
        assert item.status_code == 200, item.text
        assert not any(p.done() for p in photos)

        gates.load_open.set()
        assert [p.result(FAIL_AFTER_S).status_code for p in photos] == [200] * 3
        assert _photo(url).status_code == 200
        assert gates.loads == 1
