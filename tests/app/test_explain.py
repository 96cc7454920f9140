"""``/v1/explain`` on a real API on loopback, both backends: the maps sum to the score the
index itself holds, the photo variant, the PNG, and the bad requests named."""

from __future__ import annotations

import base64
import io
import shutil
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from app.api.main import create_app
from app.cli import main
from app.explain import find_pair
from catalogs.fashion_mnist import split_of
from infra.settings import Settings
from infra.store import NotFoundError, PointBatch, open_store, point_id
from infra.store.base import CollectionSpec
from tests.app.conftest import TEST, TRAIN, Api, build_index, running


def _png(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, "PNG")
    return out.getvalue()


def test_the_maps_split_the_score_the_index_holds(api: Api) -> None:
    hits = httpx.get(api.url + "/v1/similar/items/test-3", params={"k": 2}).json()["hits"]
    other, stored = hits[0]["item_id"], hits[0]["score"]
    r = httpx.get(f"{api.url}/v1/explain/test-3/{other}", timeout=60)
    assert r.status_code == 200, r.text
    body = r.json()
    assert r.headers["x-lookalike-collection"] == body["collection"]
    assert body["method"] == "exact" and body["grid"] == [7, 7]
    # Recomputed from the item's own pixels by the model that built the index: the score
    # the index holds (so neither another checkpoint nor other preprocessing was used).
    assert body["score"] == pytest.approx(stored, abs=1e-4)
    for side, item in (("query", "test-3"), ("hit", other)):
        grid = np.array(body[side]["map"])
        assert body[side]["item_id"] == item and grid.shape == (7, 7)
        assert grid.sum() == pytest.approx(body["score"], abs=1e-4)
        assert 0.1 <= body[side]["top_share"] <= 1.0
    prefix = "data:image/png;base64,"
    assert body["overlay"].startswith(prefix)
    overlay = Image.open(io.BytesIO(base64.b64decode(body["overlay"][len(prefix) :])))
    assert overlay.size == (456, 224)
    png = httpx.get(f"{api.url}/v1/explain/test-3/{other}", params={"format": "png"}, timeout=60)
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(png.content)).size == (456, 224)
    grad = httpx.get(f"{api.url}/v1/explain/test-3/{other}", params={"method": "gradient"})
    assert grad.status_code == 200 and grad.json()["grid"] == [28, 28]


def test_a_photo_against_a_stored_item(api: Api) -> None:
    pixels = split_of(str(api.data_root), "test").images[5].numpy()
    files = {"file": ("item.png", _png(pixels), "image/png")}
    r = httpx.post(f"{api.url}/v1/explain/image/test-5", files=files, timeout=60)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["query"]["item_id"] is None and body["hit"]["item_id"] == "test-5"
    assert body["score"] == pytest.approx(1.0, abs=1e-4)  # the item's own picture
    np.testing.assert_allclose(body["query"]["map"], body["hit"]["map"], atol=1e-5)


def test_bad_requests_are_named(api: Api) -> None:
    unknown = httpx.get(f"{api.url}/v1/explain/test-3/test-99999")
    assert unknown.status_code == 404 and "test-99999" in unknown.json()["error"]
    assert httpx.get(f"{api.url}/v1/explain/test-3/test-4?method=lime").status_code == 422
    assert httpx.get(f"{api.url}/v1/explain/test-3").status_code == 404
    empty = {"file": ("e.png", b"", "image/png")}
    r = httpx.post(f"{api.url}/v1/explain/image/test-5", files=empty)
    assert r.status_code == 415 and "empty" in r.json()["error"]
    junk = {"file": ("j.png", b"not an image", "image/png")}
    r = httpx.post(f"{api.url}/v1/explain/image/test-5", files=junk)
    assert r.status_code == 415 and "not a readable image" in r.json()["error"]
    big = {"file": ("big.png", b"\0" * (11 * 1024 * 1024), "image/png")}  # over 10 MB
    r = httpx.post(f"{api.url}/v1/explain/image/test-5", files=big, timeout=60)
    assert r.status_code == 413 and "larger than 10 MB" in r.json()["error"]
    pixels = np.zeros((28, 28), np.uint8)
    files = {"file": ("p.png", _png(pixels), "image/png")}
    r = httpx.post(f"{api.url}/v1/explain/image/test-99999", files=files)
    assert r.status_code == 404 and "test-99999" in r.json()["error"]


@pytest.mark.slow
def test_the_command_line_and_a_checkpoint_that_is_gone(
    data_root: Path,
    tmp_path: Path,
    prefect_api: None,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # where the default PNG goes
    settings = Settings(
        home=tmp_path, data_root=data_root, train_limit=TRAIN, test_limit=TEST, progress=False
    )
    build_index(settings)
    home = ["--home", str(tmp_path)]
    out = tmp_path / "pair.png"
    assert main(["explain", "test-1", "test-2", "--out", str(out), *home]) == 0
    said = capsys.readouterr().out
    assert "test-2 against test-1: score " in said and "exact map, 7x7 regions" in said
    assert Image.open(out).size == (456, 224)
    photo = tmp_path / "photo.png"
    photo.write_bytes(_png(split_of(str(data_root), "test").images[2].numpy()))
    assert main(["explain", "--image", str(photo), "test-2", "--method", "gradient", *home]) == 0
    assert "score 1.0000 (gradient map, 28x28 regions)" in capsys.readouterr().out
    assert Image.open(tmp_path / "photo-vs-test-2.png").size == (456, 224)
    assert main(["explain", "test-1", *home]) == 1
    assert "explain takes ITEM OTHER: got 1 item id(s)" in capsys.readouterr().err

    shutil.rmtree(settings.checkpoint_dir)
    assert main(["explain", "test-1", "test-2", "--out", str(out), *home]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "copy its checkpoint there" in err
    with running(create_app(settings)) as url:
        r = httpx.get(f"{url}/v1/explain/test-1/test-2", timeout=60)
        version = httpx.get(f"{url}/v1/items/test-1").json()["model_version"]
    assert r.status_code == 400
    message = r.json()["error"]
    assert version in message and "copy its checkpoint there" in message and version in err
    assert "\n" not in message


def test_ids_holding_slashes_are_split_where_both_are_stored(tmp_path: Path) -> None:
    ids = ["shoes/a", "shoes/a/b", "b", "bags/c", "d/e"]
    settings = Settings(home=tmp_path, progress=False)
    vectors = np.eye(len(ids), 4, dtype=np.float32) + 0.1
    payloads = [{"item_id": i, "split": "catalog"} for i in ids]
    with open_store(settings.store) as store:
        store.ensure_collection(CollectionSpec("slashes", 4))
        pids = [point_id("s", "catalog", i) for i in ids]
        store.upsert("slashes", PointBatch(pids, vectors, payloads))
        store.finalize("slashes")
        assert find_pair(store, "slashes", "bags/c/d/e")[:2] == ("bags/c", "d/e")
        assert find_pair(store, "slashes", "b/bags/c")[:2] == ("b", "bags/c")
        # shoes/a + b and shoes + a/b: only the first names two stored items.
        assert find_pair(store, "slashes", "shoes/a/b")[:2] == ("shoes/a", "b")
        with pytest.raises(NotFoundError, match="no two stored items"):
            find_pair(store, "slashes", "bags/x/d/e")
        with pytest.raises(NotFoundError, match="'zz'"):
            find_pair(store, "slashes", "b/zz")
