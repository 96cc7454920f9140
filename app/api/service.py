"""What every request shares: the open store, the model for image queries and the pool that
runs it, the alias, and the collections' metadata. Opened in the app's lifespan, closed with it."""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from app.api.errors import QueueFullError
from app.api.metrics import Metrics
from app.queries import QueryService
from infra.settings import Settings
from infra.store import StoreBusyError, VectorStore
from search.metadata import CollectionMeta, read_meta

if TYPE_CHECKING:
    from model.backbones import Embedder

T = TypeVar("T")
REREAD_S = 1.0  # how stale a server collection's count and metadata may be in an answer
# Photos embedded at once: torch releases the GIL and a forward pass already uses several cores,
# so a few threads fill the machine; more would only share the same cores.


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


class PhotoPool:
    """The bounded pool a photo query's own work runs in (decoding it, loading and running the
    model): off the event loop, so other requests are answered meanwhile, and outside the
    store's lock. At most ``workers + queue`` photos are admitted at once; the next is refused
    with :class:`QueueFullError`, told to retry in about one photo's time (when a worker frees)."""

    def __init__(self, workers: int, queue: int) -> None:
        self.workers, self.bound = workers, workers + queue
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="lookalike-photo")
        self._lock = threading.Lock()
        self.admitted = 0  # running or waiting for a worker
        self.running = 0
        self._seconds = 1.0  # one photo's time, a moving average: what Retry-After says

    async def run(self, fn: Callable[[], T]) -> T:
        with self._lock:
            if self.admitted >= self.bound:
                raise QueueFullError(max(1, math.ceil(self._seconds)))
            self.admitted += 1
        try:
            future = self._executor.submit(self._timed, fn)
        except RuntimeError:  # shut down: the app is stopping
            self._release()
            raise
        # Released when the work ends, not when the request stops waiting: a photo whose client
        # went away still holds its worker until the model returns.
        future.add_done_callback(self._release)
        return await asyncio.wrap_future(future)

    def _timed(self, fn: Callable[[], T]) -> T:
        with self._lock:
            self.running += 1
        start = time.monotonic()
        try:
            return fn()
        finally:
            took = time.monotonic() - start
            with self._lock:
                self.running -= 1
                self._seconds = 0.8 * self._seconds + 0.2 * took

    def _release(self, _: object = None) -> None:
        with self._lock:
            self.admitted -= 1

    def close(self) -> None:
        # Photos still running finish on their threads; those waiting are dropped.
        self._executor.shutdown(wait=False, cancel_futures=True)


class Service:
    """The query service behind the API. The embedded store is one open engine object, so its
    calls are serialised (a query costs well under a millisecond); a photo is decoded and
    embedded in the bounded :class:`PhotoPool`, outside that lock and off the event loop.

    The alias is resolved on every request, so a promotion by another process is seen by the
    next one. A new collection is opened before it is served (on the embedded store a writer
    may still hold it: the previous one answers until it can be opened), and the previous one
    is closed once its last request has finished, so `index prune` can delete it."""

    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        self.settings = settings
        self.alias = settings.served_alias
        self.queries = QueryService(settings)
        self.photos = PhotoPool(settings.serve.photo_workers, settings.serve.photo_queue)
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

    async def with_model(self, served: Served, fn: Callable[[Embedder], T]) -> T:
        """``fn`` of the model that built ``served`` (loaded from its record, so the store is
        not asked), run in the photo pool: a photo query's or an explanation's model work."""

        def work() -> T:
            import torch

            # One image at a time per photo thread: intra-op threads would only fight the
            # other photo threads, the other workers and the event loop for the cores.
            torch.set_num_threads(1)
            return fn(self.queries.model_of(served.meta, served.collection))

        return await self.photos.run(work)

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
        self.photos.close()
        self.queries.close()
