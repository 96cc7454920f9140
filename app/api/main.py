"""The app: routers, the service opened in the lifespan, errors and metrics installed."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.api import errors, items, queries
from app.api.metrics import Metrics
from app.api.service import Service
from infra.settings import Settings

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.service = Service(settings, metrics)
        try:
            yield
        finally:
            app.state.service.close()

    app = FastAPI(
        title="Lookalike",
        version="1",
        summary="Visual 'more like this' over the served index.",
        lifespan=lifespan,
    )
    metrics = Metrics()
    metrics.install(app)
    errors.install(app)
    app.include_router(queries.router)
    app.include_router(items.router)
    app.include_router(items.health)
    return app


def serve(settings: Settings) -> None:
    """Run the API with uvicorn until interrupted."""
    import uvicorn

    host, port = settings.serve.api_host, settings.serve.api_port
    keyed = "with an API key" if settings.serve.api_key else "without an API key"
    print(f"Lookalike API on http://{host}:{port} ({keyed}); OpenAPI at /docs")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
