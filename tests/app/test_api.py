"""The HTTP API over a real index, on a real server on loopback, on both backends."""

from __future__ import annotations

import io
import struct
import zlib

import httpx
import numpy as np
import pytest
from PIL import Image

from catalogs.fashion_mnist import split_of
from infra.store import open_store
from search.metadata import WeakFilter, write_meta
from tests.app.conftest import TEST, TRAIN, Api

pytestmark = pytest.mark.slow


def _get(api: Api, path: str, **params: object) -> httpx.Response:
    return httpx.get(api.url + path, params=params, timeout=30)  # type: ignore[arg-type]


def _ids(r: httpx.Response) -> list[str]:
    return [h["item_id"] for h in r.json()["hits"]]


def test_similar_item_says_which_index_answered(api: Api) -> None:
    r = _get(api, "/v1/similar/items/test-3", k=7)
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["hits"]) == 7 and "test-3" not in _ids(r)
    scores = [h["score"] for h in body["hits"]]
    assert scores == sorted(scores, reverse=True)
    assert r.headers["X-Lookalike-Collection"] == body["collection"]
    assert r.headers["X-Lookalike-Model-Version"] == body["model_version"]
    assert body["collection"].endswith(body["model_version"])
    assert int(r.headers["X-Lookalike-Points"]) == body["points"] == TRAIN + TEST


def test_the_clis_query_options(api: Api) -> None:
    # Each filter matches dozens of the slice's items: k hits, every one of them matching.
    r = _get(api, "/v1/similar/items/test-3", k=5, label=["sandal", "Bag"])
    assert r.status_code == 200 and len(r.json()["hits"]) == 5, r.text
    assert {h["payload"]["label_name"] for h in r.json()["hits"]} <= {"Sandal", "Bag"}
    r = _get(api, "/v1/similar/items/test-3", k=5, split="test", range="index=0:49")
    assert r.status_code == 200 and len(r.json()["hits"]) == 5, r.text
    assert all(h["payload"]["split"] == "test" for h in r.json()["hits"])
    assert all(0 <= h["payload"]["index"] <= 49 for h in r.json()["hits"])
    r = _get(api, "/v1/similar/items/test-3", k=6, max_per_label=2, hnsw_ef=16)
    labels = [h["payload"]["label"] for h in r.json()["hits"]]
    assert len(labels) == 6 and max(labels.count(x) for x in labels) <= 2
    r = _get(api, "/v1/similar/items/test-3", k=3, where="split=train", offset=2)
    assert [h["payload"]["split"] for h in r.json()["hits"]] == ["train"] * 3
    plain = [h["item_id"] for h in _get(api, "/v1/similar/items/test-3", k=8).json()["hits"]]
    mmr = _get(api, "/v1/similar/items/test-3", k=8, diversity="mmr", mmr_lambda=0.2)
    assert mmr.status_code == 200 and [h["item_id"] for h in mmr.json()["hits"]] != plain
    dedup = _get(api, "/v1/similar/items/test-3", k=8, dedup=0.5)  # loose: collapses a lot
    deduped = [h["item_id"] for h in dedup.json()["hits"]]
    assert dedup.status_code == 200 and deduped[0] == plain[0] and deduped != plain
    for bad in ({"mmr_lambda": 2}, {"dedup": 0}, {"diversity": "random"}):
        assert _get(api, "/v1/similar/items/test-3", **bad).status_code == 422, bad


def _png(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, "PNG")
    return out.getvalue()


def test_an_uploaded_item_finds_itself_first(api: Api) -> None:
    pixels = split_of(str(api.data_root), "test").images[5].numpy()
    files = {"file": ("item.png", _png(pixels), "image/png")}
    r = httpx.post(api.url + "/v1/similar/image", params={"k": 3}, files=files, timeout=60)
    assert r.status_code == 200, r.text
    first = r.json()["hits"][0]
    assert first["item_id"] == "test-5" and first["score"] == pytest.approx(1.0, abs=1e-4)


def test_vector_and_recommendations(api: Api) -> None:
    dim = 64
    vector = np.random.default_rng(0).standard_normal(dim).tolist()
    r = httpx.post(api.url + "/v1/similar/vector", json={"vector": vector}, params={"k": 4})
    assert r.status_code == 200 and len(r.json()["hits"]) == 4
    liked, disliked = ["test-0", "test-11"], ["test-1"]
    for strategy in ("average_vector", "best_score", "centroid"):
        body = {"like": liked, "dislike": disliked, "strategy": strategy}
        r = httpx.post(api.url + "/v1/recommend", json=body, params={"k": 6}, timeout=30)
        assert r.status_code == 200, r.text
        assert len(_ids(r)) == 6 and not set(_ids(r)) & {*liked, *disliked}


def test_item_image_collections_health_and_metrics(api: Api) -> None:
    item = _get(api, "/v1/items/test-7").json()
    assert item["payload"]["item_id"] == "test-7" and item["payload"]["split"] == "test"
    r = _get(api, "/v1/images/test-7")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(r.content)).size == (112, 112)
    listing = _get(api, "/v1/collections").json()
    assert listing["served"] and listing["collections"][0]["served"]
    assert listing["collections"][0]["weak_filters"] == {}
    # A value the build's check found weak is shown (label 99: no query of these tests asks it).
    weak = {"label": {"99": WeakFilter(recall=0.5, hnsw_ef=512)}}
    with open_store(api.settings.store) as store:
        served = store.resolve(api.settings.served_alias)
        write_meta(store, served, weak_filters=weak)
        try:
            shown = _get(api, "/v1/collections").json()["collections"][0]["weak_filters"]
        finally:
            write_meta(store, served, weak_filters={})
    assert shown == {"label": {"99": {"recall": 0.5, "hnsw_ef": 512}}}
    assert _get(api, "/healthz").json() == {"status": "ok"}
    assert _get(api, "/readyz").json()["points"] == TRAIN + TEST
    text = _get(api, "/v1/metrics").text
    assert (
        'lookalike_requests_total{endpoint="/v1/similar/items/{item_id:path}",status="200"}' in text
    )
    assert "lookalike_request_seconds_bucket" in text
    assert f'collection="{listing["served"]}"' in text and "lookalike_served_points" in text


def _bomb() -> bytes:
    """A valid PNG a few hundred bytes long that decodes to 50,000 x 50,000 pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 50_000, 50_000, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\0" * 50_001 * 8)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def _upload(api: Api, data: bytes) -> httpx.Response:
    files = {"file": ("x.png", data, "image/png")}
    return httpx.post(api.url + "/v1/similar/image", files=files, timeout=60)


BAD_GETS = [
    ("/v1/similar/items/test-999999", {}, 404, "unknown item id"),
    ("/v1/similar/items/test-1", {"k": 0}, 422, "k"),
    ("/v1/similar/items/test-1", {"k": 100_000}, 422, "k"),
    ("/v1/similar/items/test-1", {"where": "colour=red"}, 400, "no payload field 'colour'"),
    ("/v1/similar/items/test-1", {"where": "label=abc"}, 400, "holds int values"),
    ("/v1/similar/items/test-1", {"range": "label_name=1:2"}, 400, "a range needs numbers"),
    ("/v1/similar/items/test-1", {"range": "index=a:b"}, 400, "numbers"),
    ("/v1/similar/items/test-1", {"label": "hat"}, 400, "known labels"),
    ("/v1/similar/items/test-1", {"season": "monsoon"}, 400, "unknown season"),
    ("/v1/images/..%2F..%2Fetc%2Fpasswd", {}, 404, "unknown item id"),
]


def test_bad_input_gets_a_4xx_that_names_the_fix_and_the_service_survives(api: Api) -> None:
    for path, params, status, words in BAD_GETS:
        r = _get(api, path, **params)
        assert r.status_code == status, (path, params, r.text)
        assert words in r.json()["error"], r.text
    png = _png(np.zeros((28, 28), np.uint8))
    uploads = [
        (b"", 415, "empty"),
        (png[: len(png) // 2], 415, "not a readable image"),
        (b"this is text, not an image", 415, "not a readable image"),
        (_bomb(), 415, "too many pixels"),
        (b"\0" * (11 * 1024 * 1024), 413, "larger than 10 MB"),
    ]
    for data, status, words in uploads:
        r = _upload(api, data)
        assert r.status_code == status, (status, r.text[:300])
        assert words in r.json()["error"]
    r = httpx.post(api.url + "/v1/similar/vector", json={"vector": [0.1, 0.2]})
    assert r.status_code == 400 and "64-d vectors" in r.json()["error"]
    r = httpx.post(api.url + "/v1/recommend", json={"like": []})
    assert r.status_code == 422
    assert _get(api, "/v1/similar/items/test-2", k=3).status_code == 200


def test_a_promotion_elsewhere_is_followed_by_the_next_request(api: Api) -> None:
    """A new model's index is a new collection, built while the API serves the old one; once
    the alias moves, the next answer comes from the new collection."""
    from flows.index import index_flow
    from infra.store import open_store
    from tasks.sources import scan_source
    from tests.conftest import random_checkpoint
    from training.runs import model_ref

    before = _get(api, "/v1/similar/items/test-3", k=3)
    settings = api.settings
    model = model_ref(random_checkpoint(settings.checkpoint_dir, seed=7))
    indexed = index_flow(settings, model, scan_source(settings))
    assert indexed.collection != before.json()["collection"]
    with open_store(settings.store) as store:
        store.set_alias(settings.served_alias, indexed.collection)
    after = _get(api, "/v1/similar/items/test-3", k=3)
    assert after.status_code == 200, after.text
    assert after.headers["X-Lookalike-Collection"] == indexed.collection
    assert after.json()["model_version"] == model.model_version
    old = before.json()["collection"]
    if settings.store.backend == "embedded":
        from infra.store.edge import EdgeStore

        # The API let go of the old collection after its last request: it can be opened (or
        # pruned) by another process now.
        with EdgeStore(settings.store.path) as other:
            assert other.count(old) == TRAIN + TEST
    # The catalog changes while the API serves the new index: the writer copies the served
    # collection on the embedded store (a server writes in place), the API keeps answering.
    smaller = settings.with_(test_limit=TEST - 10)
    changed = index_flow(smaller, model, scan_source(smaller))
    copied = settings.store.backend == "embedded"
    assert changed.collection == (f"{indexed.collection}-r2" if copied else indexed.collection)
    assert changed.points == TRAIN + TEST - 10 and changed.embedded == 0
    during = _get(api, "/v1/similar/items/test-3", k=3)
    assert during.status_code == 200
    if copied:  # answered by the complete served collection, not the one being written
        assert during.headers["X-Lookalike-Collection"] == indexed.collection
        assert during.headers["X-Lookalike-Points"] == str(TRAIN + TEST)
    # Put the first index back for the tests that follow.
    with open_store(settings.store) as store:
        store.set_alias(settings.served_alias, before.json()["collection"])
