"""What the API tells its operators: Prometheus metrics through prometheus-client (requests and
latency per endpoint and status, and what the alias serves), summed over the worker processes
when ``PROMETHEUS_MULTIPROC_DIR`` is set; and each request's id (``X-Request-ID``), echoed and
written in the log lines of that request."""

from __future__ import annotations

import logging
import os
import re
import time
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    values,
)
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # prometheus-client's multiprocess mode


def prepare_multiprocess_dir(path: Path) -> None:
    """Make ``path`` ready for one run's workers, before they start: created, and emptied of an
    earlier run's metric files (their counts would add up), which are the only files removed."""
    path.mkdir(parents=True, exist_ok=True)
    for old in path.glob("*.db"):
        old.unlink(missing_ok=True)


def multiprocess_dir() -> str | None:
    """The folder the workers share their metrics in, or None: one process, its own registry.
    prometheus-client picks how it keeps values once, when it is imported, so a variable set
    later in this process (not before it started) cannot take effect: then, a warning."""
    path = os.environ.get(MULTIPROC_ENV)
    if not path:
        return None
    if values.ValueClass is values.MutexValue:
        log.warning(
            "%s was set after prometheus-client was imported: these metrics are this process's "
            "only (set it before the workers start)",
            MULTIPROC_ENV,
        )
        return None
    return path


class ServedPoints:
    """``lookalike_served_points``: what the alias serves, as the process answering the scrape
    sees it then. Made at scrape time rather than kept in a gauge: a multiprocess gauge would
    keep every collection's series once the alias moves (its labels cannot be removed there),
    and it describes the store, not the process, so it is never summed over the workers."""

    NAME, HELP = "lookalike_served_points", "Points in the collection the alias serves."

    def __init__(self) -> None:
        self._shown: tuple[tuple[str, str, str], int] | None = None

    def set(self, alias: str, collection: str, model_version: str, points: int) -> None:
        self._shown = ((alias, collection, model_version), points)

    def clear(self) -> None:
        self._shown = None

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            self.NAME, self.HELP, labels=["alias", "collection", "model_version"]
        )
        shown = self._shown
        if shown is not None:
            family.add_metric(list(shown[0]), shown[1])
        yield family


class Metrics:
    """One registry per app, so several apps in one process (tests) never collide; with
    ``PROMETHEUS_MULTIPROC_DIR`` set (``lookalike api --workers N``), the counts and latencies
    every worker writes to that folder, summed (one app per process, then)."""

    def __init__(self) -> None:
        self.multiprocess_dir = multiprocess_dir()
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
        self.served = ServedPoints()
        self.registry.register(self.served)

    def install(self, app: FastAPI) -> None:
        app.add_middleware(_Observe, metrics=self)

    def show(self, alias: str, collection: str, model_version: str, points: int) -> None:
        self.served.set(alias, collection, model_version, points)

    def render(self) -> Response:
        registry = self.registry
        if self.multiprocess_dir:
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=self.multiprocess_dir)
            registry.register(self.served)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


class _Observe:
    """Counts and times every request: a plain ASGI middleware (Starlette's decorator-style
    one costs about a millisecond a request)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, status = time.perf_counter(), [500]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            endpoint = getattr(scope.get("route"), "path", "unmatched")
            labels = {"endpoint": endpoint, "status": str(status[0])}
            self.metrics.requests.labels(**labels).inc()
            self.metrics.latency.labels(**labels).observe(time.perf_counter() - start)


# --- request ids ---

REQUEST_ID_HEADER = "X-Request-ID"
# The id of the request being answered; None outside one. Each request runs in a task of its own
# (uvicorn gives it a fresh context), so an id never leaks into another request.
request_id: ContextVar[str | None] = ContextVar("lookalike_request_id", default=None)
_GIVEN = re.compile(r"[\x21-\x7e]{1,200}")  # a caller's id is kept if printable and short
NO_ID = "-"


def install_request_ids(app: FastAPI) -> None:
    """Every answer carries ``X-Request-ID`` (the caller's, or a new uuid4 hex), every log
    record made while answering it a ``request_id`` attribute, and the log lines of the process
    (uvicorn's access and error lines, our own) end their first line with ``[request_id=...]``
    once the app has started. Added last, so it wraps the other middleware."""
    _tag_records()
    app.add_middleware(_RequestId)

    # A bug's 500 is sent by Starlette's outermost layer, beyond every middleware: it carries
    # the id itself (the body stays Starlette's own).
    async def server_error(request: Request, exc: Exception) -> PlainTextResponse:
        rid = request_id.get() or NO_ID
        return PlainTextResponse("Internal Server Error", 500, {REQUEST_ID_HEADER: rid})

    app.add_exception_handler(Exception, server_error)


def tag_log_lines() -> None:
    """Write the request id in the lines of the server's log handlers: the plain stream and
    file handlers of uvicorn's loggers and of the root logger (where `lookalike`'s own logging
    writes). Called once uvicorn has configured its logging (in the app's startup); handlers
    of other kinds (a test's capture) keep their own format."""
    for name in ("uvicorn", "uvicorn.access", "uvicorn.error", None):
        for handler in logging.getLogger(name).handlers:
            plain = type(handler) in (logging.StreamHandler, logging.FileHandler)
            if plain and not isinstance(handler.formatter, _WithRequestId):
                handler.setFormatter(_WithRequestId(handler.formatter or logging.Formatter()))


class _RequestId:
    """The request's id: the caller's ``X-Request-ID`` or a new one, set for the request's
    log records and echoed in the answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get(REQUEST_ID_HEADER)
        rid = given if given and _GIVEN.fullmatch(given) else uuid.uuid4().hex
        token = request_id.set(rid)

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = rid
            await send(message)

        await self.app(scope, receive, sending)
        # Not reset when the request failed: the server logs the error after this returns, in
        # the request's own task, and that line should name the request too.
        request_id.reset(token)


_factory_installed = False


def _tag_records() -> None:
    """Every log record gets ``request_id``: the id of the request it was made in, or ``-``."""
    global _factory_installed
    if _factory_installed:
        return
    make = logging.getLogRecordFactory()

    def tagged(*args: object, **kwargs: object) -> logging.LogRecord:
        record = make(*args, **kwargs)
        record.request_id = request_id.get() or NO_ID
        return record

    logging.setLogRecordFactory(tagged)
    _factory_installed = True


class _WithRequestId(logging.Formatter):
    """Another formatter's line, with ``[request_id=...]`` at the end of its first line when the
    record was made while answering a request."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        text = self.inner.format(record)
        rid = getattr(record, "request_id", NO_ID)
        if rid == NO_ID:
            return text
        first, newline, rest = text.partition("\n")
        return f"{first} [request_id={rid}]{newline}{rest}"
