"""What every request shares: the open store, the model for image queries, the alias, and the
collections' metadata. Opened in the app's lifespan, closed with it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from app.api.metrics import Metrics
from app.queries import QueryService
from infra.settings import Settings
from infra.store import VectorStore

T = TypeVar("T")


@dataclass(frozen=True)
class Served:
    """The collection that answers a request: resolved once, when the request starts, so its
    answer and its headers name the same index even if the alias moves meanwhile."""

    collection: str
    model_version: str
    points: int
    metadata: dict[str, Any]

    def headers(self) -> dict[str, str]:
        return {
            "X-Lookalike-Collection": self.collection,
            "X-Lookalike-Model-Version": self.model_version,
            "X-Lookalike-Points": str(self.points),
        }


class Service:
    """The query service behind the API. The embedded store is one open engine object, so its
    calls are serialised (a query costs well under a millisecond); embedding an upload runs
    outside that lock."""

    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        self.settings = settings
        self.alias = settings.served_alias
        self.queries = QueryService(settings)
        self._lock = threading.Lock()
        self._served: dict[str, Served] = {}
        self.metrics = metrics

    @property
    def store(self) -> VectorStore:
        return self.queries.store

    def run(self, fn: Callable[[VectorStore], T]) -> T:
        with self._lock:
            return fn(self.store)

    def served(self) -> Served:
        """The collection behind the alias now (a promotion elsewhere is seen here)."""
        with self._lock:
            collection = self.store.resolve(self.alias)
            if collection not in self._served:
                meta = self.store.metadata(collection)
                points = int(meta.get("points") or self.store.count(collection))
                version = str(meta.get("model_version", ""))
                self._served[collection] = Served(collection, version, points, meta)
            return self._served[collection]

    def close(self) -> None:
        self.queries.close()
