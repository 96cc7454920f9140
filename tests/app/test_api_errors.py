"""A client's mistakes answer 4xx naming them, and the OpenAPI schema declares every status an
operation can answer, with its body, so a generated client knows them."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from app.api.main import create_app
from tests.app.conftest import running, served_collection

DIM = 8  # served_collection's vectors


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running(create_app(served_collection(tmp_path_factory.mktemp("errors")))) as base:
        yield base


def _vector(url: str, values: list[float]) -> httpx.Response:
    return httpx.post(f"{url}/v1/similar/vector", json={"vector": values}, timeout=30)


def test_a_vector_beyond_float32_is_a_bad_request(url: str) -> None:
    ok = _vector(url, [0.5] * DIM)
    assert ok.status_code == 200 and ok.json()["hits"], ok.text
    r = _vector(url, [1e39, *[0.5] * (DIM - 1)])
    assert r.status_code == 400, r.text
    assert "position 0" in r.json()["error"] and "finite float32" in r.json()["error"]


def test_an_all_zero_vector_is_a_bad_request(url: str) -> None:
    r = _vector(url, [0.0] * DIM)
    assert r.status_code == 400, r.text
    assert "all-zero" in r.json()["error"]


# The statuses each operation answers (beside 200), seen in the code: a bad filter 400, the key
# 401, an unknown item 404, an upload too big 413 or unreadable 415, validation 422, the
# photo queue full 503 (also an item's region, or an explanation: both run the model there).
DECLARED = {
    ("get", "/v1/similar/items/{item_id}"): {400, 401, 404, 422, 503},
    ("get", "/v1/explain/{item_id}/{other_id}"): {400, 401, 404, 422, 503},
    ("post", "/v1/explain/image/{other_id}"): {400, 401, 404, 413, 415, 422, 503},
    ("post", "/v1/similar/vector"): {400, 401, 422},
    ("post", "/v1/similar/image"): {400, 401, 413, 415, 422, 503},
    ("post", "/v1/recommend"): {400, 401, 404, 422},
    ("get", "/v1/items/{item_id}"): {400, 401, 404, 422},
    ("get", "/v1/images/{item_id}"): {400, 401, 404, 422},
    ("get", "/v1/collections"): {400, 401, 422},
    ("get", "/readyz"): {401, 422, 503},
}


def test_openapi_declares_every_error_status_with_its_body(url: str) -> None:
    schema = httpx.get(f"{url}/openapi.json", timeout=30).json()
    for (method, path), statuses in DECLARED.items():
        answers = schema["paths"][path][method]["responses"]
        errors = {int(code) for code in answers if code != "200"}
        assert errors == statuses, (method, path, errors)
        for code in statuses:
            ref = answers[str(code)]["content"]["application/json"]["schema"]["$ref"]
            assert ref.endswith("/Problem"), (path, code, ref)
    problem = schema["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"error", "status"}


def test_declared_statuses_are_the_ones_answered(url: str) -> None:
    """Declared errors, provoked: their status and a Problem body (an unreadable upload's 415
    needs a model: ``tests/app/test_api.py`` provokes it)."""
    cases = [
        (httpx.get(f"{url}/v1/similar/items/nope", timeout=30), 404),
        (httpx.get(f"{url}/v1/similar/items/train-1?where=nofield=1", timeout=30), 400),
        (httpx.get(f"{url}/v1/similar/items/train-1?k=0", timeout=30), 422),
        (httpx.post(f"{url}/v1/recommend", json={"like": ["nope"]}, timeout=30), 404),
    ]
    for r, status in cases:
        assert r.status_code == status, (r.request.url, r.text)
        assert r.json()["status"] == status and r.json()["error"]
