"""``POST /v1/similar/batch``: every answer is the one its single endpoint gives, in the
request's order, on both backends (the ``api`` fixture's congruence pair)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from app.api.main import create_app
from app.api.schemas import MAX_BATCH
from infra.store import Search
from tests.app.conftest import Api, running, served_collection

pytestmark = pytest.mark.slow

DIM = 64  # the small random model's vectors
ITEMS = ["test-1", "test-3", "train-7", "test-3", "test-42"]  # a repeat, answered twice
OPTIONS: list[dict[str, Any]] = [
    {"k": 5},
    {"k": 4, "label": ["Bag", "sandal"], "split": "test"},
    {"k": 6, "diversity": "mmr", "mmr_lambda": 0.3},
    {"k": 3, "offset": 2, "max_per_label": 2},
    {"k": 5, "dedup": 0.5},
]


def _batch(api: Api, body: dict[str, Any], **params: Any) -> httpx.Response:
    return httpx.post(api.url + "/v1/similar/batch", json=body, params=params, timeout=60)


def _same_index(batch: dict[str, Any], single: dict[str, Any]) -> None:
    for key in ("collection", "model_version", "points"):
        assert batch[key] == single[key], key


@pytest.mark.parametrize("params", OPTIONS, ids=lambda p: ",".join(p))
def test_each_item_answer_is_the_single_endpoints(api: Api, params: dict[str, Any]) -> None:
    r = _batch(api, {"items": ITEMS}, **params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["answers"]) == len(ITEMS)
    for item_id, got in zip(ITEMS, body["answers"], strict=True):
        single = httpx.get(f"{api.url}/v1/similar/items/{item_id}", params=params, timeout=30)
        assert single.status_code == 200, single.text
        assert got == {"hits": single.json()["hits"]}, item_id
        assert got["hits"] and item_id not in [h["item_id"] for h in got["hits"]]
        _same_index(body, single.json())
    assert r.headers["X-Lookalike-Collection"] == body["collection"]


@pytest.mark.parametrize("params", OPTIONS, ids=lambda p: ",".join(p))
def test_each_vector_answer_is_the_single_endpoints(api: Api, params: dict[str, Any]) -> None:
    vectors = np.random.default_rng(1).standard_normal((7, DIM)).tolist()
    r = _batch(api, {"vectors": vectors}, **params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["answers"]) == len(vectors)
    for vector, got in zip(vectors, body["answers"], strict=True):
        single = httpx.post(
            api.url + "/v1/similar/vector", json={"vector": vector}, params=params, timeout=30
        )
        assert single.status_code == 200, single.text
        assert got == {"hits": single.json()["hits"]}
        _same_index(body, single.json())


def test_a_bad_batch_is_refused_naming_the_problem(api: Api) -> None:
    vector = [0.1] * DIM
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"items": ["test-1", "test-999999"]}, 404, "unknown item id 'test-999999'"),
        ({"items": ["test-1"], "vectors": [vector]}, 422, "exactly one of items"),
        ({}, 422, "exactly one of items"),
        ({"items": []}, 422, "items"),
        ({"items": ["test-1"] * (MAX_BATCH + 1)}, 422, f"at most {MAX_BATCH}"),
        ({"vectors": [vector] * (MAX_BATCH + 1)}, 422, f"at most {MAX_BATCH}"),
        ({"vectors": [vector, vector[:10]]}, 400, "vector 1 has 10 values"),
        ({"vectors": [vector, [0.0] * DIM]}, 400, "vector 1: an all-zero vector"),
        ({"vectors": [[0.1, 0.2]]}, 400, "64-d vectors"),
        ({"items": ["test-1"]}, 400, "no payload field 'colour'"),  # with where=colour=red
    ]
    for body, status, words in cases:
        params = {"where": "colour=red"} if "colour" in words else {}
        r = _batch(api, body, **params)
        assert r.status_code == status, (body, r.text)
        assert words in r.json()["error"], r.text
    assert _batch(api, {"items": ["test-1"] * MAX_BATCH}, k=1).status_code == 200


def test_the_openapi_declares_the_batch_and_the_photo_queue(api: Api) -> None:
    paths = httpx.get(api.url + "/openapi.json", timeout=30).json()["paths"]
    batch = {int(c) for c in paths["/v1/similar/batch"]["post"]["responses"] if c != "200"}
    assert batch == {400, 401, 404, 422}
    image = {int(c) for c in paths["/v1/similar/image"]["post"]["responses"] if c != "200"}
    assert 503 in image


def test_vectors_and_items_are_one_store_query_each(tmp_path: Path) -> None:
    """Vectors share one batched query, items one batched query by point id (each item left
    out of its own answer only: the congruence tests check the answers)."""
    app = create_app(served_collection(tmp_path))
    with running(app) as url:
        store = app.state.service.queries.store
        asked: list[tuple[str, int, Search]] = []
        by_vector, by_point = store.query, store.query_points

        def query(name: str, vectors: np.ndarray, search: Search) -> Any:
            asked.append(("vectors", len(vectors), search))
            return by_vector(name, vectors, search)

        def query_points(name: str, ids: list[str], search: Search) -> Any:
            asked.append(("points", len(ids), search))
            return by_point(name, ids, search)

        store.query, store.query_points = query, query_points
        vectors = np.random.default_rng(2).standard_normal((5, 8)).tolist()
        r = httpx.post(url + "/v1/similar/batch", json={"vectors": vectors}, timeout=30)
        assert r.status_code == 200 and len(r.json()["answers"]) == 5, r.text
        assert [(k, n) for k, n, _ in asked] == [("vectors", 5)]
        assert asked[0][2].exclude_ids == ()
        asked.clear()
        items = ["train-1", "train-2", "train-3"]
        r = httpx.post(url + "/v1/similar/batch", json={"items": items}, timeout=30)
        assert r.status_code == 200 and len(r.json()["answers"]) == 3, r.text
        assert [(k, n) for k, n, _ in asked] == [("points", 3)]
