"""Health and metrics: ``/healthz`` (the process answers), ``/readyz`` (an index answers) and
Prometheus' ``/metrics`` (also at ``/v1/metrics``, its first address, answering the same)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse

from app.api.deps import ServiceDep, require_key
from app.api.errors import responses
from infra.store import StoreError

router = APIRouter(tags=["health"])


@router.get(
    "/metrics",
    response_class=Response,
    include_in_schema=False,
    dependencies=[Depends(require_key)],
)
@router.get(
    "/v1/metrics",
    response_class=Response,
    include_in_schema=False,
    dependencies=[Depends(require_key)],
)
def metrics(service: ServiceDep) -> Response:
    """Prometheus' text format: requests, latency (summed over the workers when there are
    several), and what the alias serves."""
    try:
        s = service.served()
        service.metrics.show(service.alias, s.collection, s.model_version, s.points)
    except StoreError:
        service.metrics.served.clear()
    return service.metrics.render()


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process answers (no key needed)."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    dependencies=[Depends(require_key)],
    response_model=None,
    responses=responses(401, 503),
)
def readyz(service: ServiceDep) -> dict[str, Any] | JSONResponse:
    """An index is loaded and answering."""
    try:
        served = service.served()
        points = service.run(lambda s: s.count(served.collection))
    except StoreError as exc:
        return JSONResponse({"error": str(exc), "status": 503}, 503)
    return {"status": "ready", "collection": served.collection, "points": points}
