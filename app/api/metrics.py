"""Prometheus metrics of the API, through prometheus-client: requests and latency per endpoint
and status, and what the alias serves."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)


class Metrics:
    """One registry per app, so several apps in one process (tests) never collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "lookalike_requests",
            "HTTP requests answered.",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "lookalike_request_seconds",
            "Time to answer a request.",
            ["endpoint", "status"],
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=self.registry,
        )
        self.served = Gauge(
            "lookalike_served_points",
            "Points in the collection the alias serves.",
            ["alias", "collection", "model_version"],
            registry=self.registry,
        )

    def install(self, app: FastAPI) -> None:
        @app.middleware("http")
        async def observe(
            request: Request, call_next: Callable[[Request], Awaitable[Response]]
        ) -> Response:
            start = time.perf_counter()
            response = await call_next(request)
            route = request.scope.get("route")
            endpoint = getattr(route, "path", "unmatched")
            labels = {"endpoint": endpoint, "status": str(response.status_code)}
            self.requests.labels(**labels).inc()
            self.latency.labels(**labels).observe(time.perf_counter() - start)
            return response

    def show(self, alias: str, collection: str, model_version: str, points: int) -> None:
        self.served.clear()
        self.served.labels(alias, collection, model_version).set(points)

    def render(self) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)
