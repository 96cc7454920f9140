"""The app: routers, the service opened in the lifespan, errors and metrics installed."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app.api import collections, errors, explain, health, items, recommend, similar
from app.api.metrics import REQUEST_ID_HEADER, Metrics, install_request_ids, tag_log_lines
from app.api.service import Service
from app.gallery import routes as gallery
from infra.settings import Settings

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> FastAPI:
    """The app: the service is opened in the lifespan and closed with it."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.service = Service(settings, metrics)
        tag_log_lines()  # uvicorn has set its logging up by now
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
    if settings.serve.cors_origins:  # browsers' pages on these origins may call the API
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.serve.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["X-API-Key", "Authorization", REQUEST_ID_HEADER],
            expose_headers=[
                "X-Lookalike-Collection",
                "X-Lookalike-Model-Version",
                "X-Lookalike-Points",
                "Retry-After",
                REQUEST_ID_HEADER,
            ],
        )
    install_request_ids(app)  # outermost: preflights and 401s carry the id too
    errors.install(app)
    for resource in (similar, recommend, explain, items, collections, health):
        app.include_router(resource.router)
    app.include_router(gallery.router)
    app.mount("/static", gallery.static, name="static")
    return app
