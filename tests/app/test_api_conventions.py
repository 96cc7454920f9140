"""The ecosystem's conventions: Prometheus at ``/metrics`` (and still ``/v1/metrics``), CORS
for the origins the settings allow, and ``X-Request-ID`` echoed and written in the log lines."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from app.api import metrics
from app.api.main import create_app
from infra.settings import Settings
from tests.app.conftest import running, served_collection

SHOP = "https://shop.example.com"
KEY = SecretStr("sekret")  # with_ copies sections as they are: a secret, as validation makes


def _app(tmp_path: Path, **flat: object) -> TestClient:
    return TestClient(create_app(served_collection(tmp_path).with_(**flat)))


# --- metrics ---


def test_metrics_answer_at_both_addresses_and_need_the_key(tmp_path: Path) -> None:
    with _app(tmp_path, api_key=KEY) as client:
        for path in ("/metrics", "/v1/metrics"):
            assert client.get(path).status_code == 401
            r = client.get(path, headers={"X-API-Key": "sekret"})
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
            assert 'lookalike_served_points{alias="lookalike-fashion-mnist"' in r.text
        text = client.get("/metrics", headers={"X-API-Key": "sekret"}).text
        assert 'lookalike_requests_total{endpoint="/v1/metrics",status="200"} 1.0' in text
        assert 'lookalike_requests_total{endpoint="/metrics",status="401"} 1.0' in text


def test_without_the_folder_one_process_keeps_its_own_registry(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    monkeypatch.delenv(metrics.MULTIPROC_ENV, raising=False)
    assert metrics.multiprocess_dir() is None
    # Set only now, after prometheus-client chose its in-process values: it cannot take effect.
    monkeypatch.setenv(metrics.MULTIPROC_ENV, str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="app.api.metrics"):
        assert metrics.multiprocess_dir() is None
    assert "set after prometheus-client was imported" in caplog.text


# --- CORS ---


def test_cors_answers_the_allowed_origin_only(tmp_path: Path) -> None:
    with _app(tmp_path, cors_origins=[SHOP], api_key=KEY) as client:
        preflight = {
            "Origin": SHOP,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "x-api-key",
        }
        r = client.options("/v1/similar/items/train-1", headers=preflight)
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == SHOP
        assert "x-api-key" in r.headers["access-control-allow-headers"].lower()
        assert {"GET", "POST"} <= set(r.headers["access-control-allow-methods"].split(", "))
        r = client.get("/v1/similar/items/train-1", headers={"Origin": SHOP, "X-API-Key": "sekret"})
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == SHOP
        exposed = r.headers["access-control-expose-headers"].lower()
        assert "x-lookalike-collection" in exposed and "x-request-id" in exposed
        # A refusal is readable by the page too.
        r = client.get("/v1/similar/items/train-1", headers={"Origin": SHOP})
        assert r.status_code == 401 and r.headers["access-control-allow-origin"] == SHOP

        other = "https://elsewhere.example"
        r = client.options("/v1/similar/items/train-1", headers={**preflight, "Origin": other})
        assert "access-control-allow-origin" not in r.headers
        r = client.get("/healthz", headers={"Origin": other})
        assert r.status_code == 200 and "access-control-allow-origin" not in r.headers


def test_no_origins_no_cors_headers(tmp_path: Path) -> None:
    client = _app(tmp_path)
    r = client.get("/healthz", headers={"Origin": SHOP})
    assert r.status_code == 200 and not any(h.startswith("access-control") for h in r.headers)
    r = client.options("/healthz", headers={"Origin": SHOP, "Access-Control-Request-Method": "GET"})
    assert not any(h.startswith("access-control") for h in r.headers)


def test_cors_origins_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOKALIKE_CORS_ORIGINS", f"{SHOP}/, http://localhost:3000")
    assert Settings().serve.cors_origins == [SHOP, "http://localhost:3000"]
    monkeypatch.setenv("LOOKALIKE_CORS_ORIGINS", f'["{SHOP}"]')
    assert Settings().serve.cors_origins == [SHOP]
    monkeypatch.delenv("LOOKALIKE_CORS_ORIGINS")
    assert Settings().serve.cors_origins == []


# --- request ids ---


def test_a_request_id_is_echoed_or_made(tmp_path: Path) -> None:
    client = _app(tmp_path)
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == (
        "abc-123"
    )
    made = [client.get("/healthz").headers["x-request-id"] for _ in range(2)]
    assert made[0] != made[1] and all(len(m) == 32 and int(m, 16) >= 0 for m in made)
    unfit = client.get("/healthz", headers={"X-Request-ID": "x" * 500}).headers["x-request-id"]
    assert len(unfit) == 32  # too long for a log line: replaced
    assert client.get("/nowhere", headers={"X-Request-ID": "r-404"}).headers["x-request-id"] == (
        "r-404"
    )


def test_a_failed_requests_id_is_in_its_answer_and_its_log_lines(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(served_collection(tmp_path))

    def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/boom", boom)
    error, access = logging.getLogger("uvicorn.error"), logging.getLogger("uvicorn.access")
    with running(app) as url:
        level = access.level
        access.setLevel(logging.INFO)
        error.addHandler(caplog.handler)  # uvicorn's loggers do not propagate to the root
        access.addHandler(caplog.handler)
        try:
            r = httpx.get(f"{url}/boom", headers={"X-Request-ID": "boom-1"})
            assert r.status_code == 500 and r.headers["x-request-id"] == "boom-1"
            deadline = time.monotonic() + 5  # the server logs the error after it answered
            while time.monotonic() < deadline and len(_of(caplog, "boom-1")) < 2:
                time.sleep(0.05)
        finally:
            error.removeHandler(caplog.handler)
            access.removeHandler(caplog.handler)
            access.setLevel(level)
        records = _of(caplog, "boom-1")
        failed = next(r for r in records if r.name == "uvicorn.error")
        assert "Exception in ASGI application" in failed.getMessage()
        assert failed.exc_info and isinstance(failed.exc_info[1], RuntimeError)
        answered = next(r for r in records if r.name == "uvicorn.access")
        # The lines uvicorn's own handlers write name the request, on the first line.
        for record, logger in ((failed, "uvicorn"), (answered, "uvicorn.access")):
            line = logging.getLogger(logger).handlers[0].format(record).splitlines()[0]
            assert line.endswith("[request_id=boom-1]"), line
        assert "GET /boom" in logging.getLogger("uvicorn.access").handlers[0].format(answered)


def _of(caplog: pytest.LogCaptureFixture, rid: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "request_id", None) == rid]
