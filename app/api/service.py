"""What every request shares: the open store, the model for image queries, the alias, and the
collections' metadata. Opened in the app's lifespan, closed with it."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from app.api.metrics import Metrics
from app.queries import QueryService
from infra.settings import Settings
from infra.store import StoreBusyError, VectorStore
from search.metadata import CollectionMeta, read_meta

T = TypeVar("T")
REREAD_S = 1.0  # how stale a server collection's count and metadata may be in an answer


@dataclass(frozen=True)
class Served:
    """The collection that answers a request: resolved once, when the request starts, so its
    answer and its headers name the same index even if the alias moves meanwhile."""

    collection: str
    model_version: str
    points: int
    meta: CollectionMeta

    def headers(self) -> dict[str, str]:
        return {
            "X-Lookalike-Collection": self.collection,
            "X-Lookalike-Model-Version": self.model_version,
            "X-Lookalike-Points": str(self.points),
        }


class Service:
    """The query service behind the API. The embedded store is one open engine object, so its
    calls are serialised (a query costs well under a millisecond); embedding an upload runs
    outside that lock.

    The alias is resolved on every request, so a promotion by another process is seen by the
    next one. A new collection is opened before it is served (on the embedded store a writer
    may still hold it: the previous one answers until it can be opened), and the previous one
    is closed once its last request has finished, so `index prune` can delete it."""

    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        self.settings = settings
        self.alias = settings.served_alias
        self.queries = QueryService(settings)
        self._lock = threading.Lock()
        self._served: dict[str, Served] = {}
        self._current: str | None = None
        self._in_flight: Counter[str] = Counter()
        self._read_at = 0.0
        self.metrics = metrics

    @property
    def store(self) -> VectorStore:
        return self.queries.store

    def run(self, fn: Callable[[VectorStore], T]) -> T:
        with self._lock:
            return fn(self.store)

    def served(self) -> Served:
        """The collection behind the alias now, opened."""
        with self._lock:
            return self._follow()

    @contextmanager
    def serving(self) -> Iterator[Served]:
        """The collection that answers one request, kept open until the request is done."""
        with self._lock:
            served = self._follow()
            self._in_flight[served.collection] += 1
        try:
            yield served
        finally:
            with self._lock:
                self._in_flight[served.collection] -= 1
                self._release_retired()

    def _follow(self) -> Served:
        target = self.store.resolve(self.alias)
        if target == self._current and self._stale():
            self._open(target)  # a server's collection is written in place: re-read its count
        if target != self._current:
            try:
                self._open(target)
            except StoreBusyError:
                if self._current is None:
                    raise
                return self._served[self._current]  # still being written: not yet served
            self._current = target
            self._release_retired()
        return self._served[target]

    def _open(self, collection: str) -> None:
        meta = read_meta(self.store, collection)
        points = self.store.count(collection)  # opens it: fails here, not in a request
        self._served[collection] = Served(collection, meta.model_version, points, meta)
        self._read_at = time.monotonic()

    def _stale(self) -> bool:
        return self.store.writes_while_served and time.monotonic() - self._read_at > REREAD_S

    def _release_retired(self) -> None:
        for name in [c for c in self._served if c != self._current]:
            if self._in_flight[name] <= 0:
                self.store.close_collection(name)
                del self._served[name]

    def close(self) -> None:
        self.queries.close()
