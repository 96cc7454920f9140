"""The app: routers, the service opened in the lifespan, errors and metrics installed."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.api import collections, errors, health, items, recommend, similar
from app.api.metrics import Metrics
from app.api.service import Service
from app.gallery import routes as gallery
from app.read_commands import API_FILE
from infra.files import write_json_atomically
from infra.settings import Settings

log = logging.getLogger(__name__)


def create_app(settings: Settings, url: str | None = None) -> FastAPI:
    """The app; with ``url``, it tells the command line where it answers while it runs (the
    file goes in the lifespan, so even a signal's shutdown removes it)."""
    announce = settings.home / API_FILE

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.service = Service(settings, metrics)
        if url:
            write_json_atomically(announce, {"url": url, "pid": os.getpid()})
        try:
            yield
        finally:
            if url:
                announce.unlink(missing_ok=True)
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
    for resource in (similar, recommend, items, collections, health):
        app.include_router(resource.router)
    app.include_router(gallery.router)
    app.mount("/static", gallery.static, name="static")
    return app
