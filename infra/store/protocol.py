"""The protocol both backends implement: what model code and flows may ask of a store."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol, Self

import numpy as np

from infra.store.base import PAGE, CollectionSpec, Condition, Hit, PointBatch, Scalar, Search


class VectorStore(Protocol):
    """What model code and flows may ask of a vector store. Cosine distance throughout.

    A store is a context manager: ``with open_store(settings.store) as store:``."""

    backend: str
    # False where one process opens a collection at a time (the embedded store): a writer then
    # never touches a served collection but copies it into a new revision.
    writes_while_served: bool

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...

    def ensure_collection(self, spec: CollectionSpec) -> None:
        """Create the collection if missing; fail clearly if it exists with another dimension."""

    def has_collection(self, name: str) -> bool:
        """True for an existing collection or an alias that points at one."""

    def list_collections(self) -> list[str]: ...

    def aliases(self) -> dict[str, str]:
        """Every alias and the collection it points at."""

    def set_alias(self, alias: str, collection: str) -> None:
        """Point ``alias`` at ``collection`` atomically: a reader sees the old or the new one."""

    def delete_alias(self, alias: str) -> None: ...

    def resolve(self, name: str) -> str:
        """The collection behind ``name`` (an alias or a collection name)."""

    def metadata(self, name: str) -> dict[str, Any]: ...

    def set_metadata(self, name: str, values: dict[str, Any]) -> None:
        """Merge ``values`` into the collection's metadata."""

    def delete_collection(self, name: str) -> None: ...

    def copy_collection(self, source: str, target: str) -> None:
        """A new collection ``target`` holding what ``source`` holds, metadata included."""

    def close_collection(self, name: str) -> None:
        """Let go of one collection this store has open (a no-op where nothing is held)."""

    def dimension(self, name: str) -> int: ...

    def indexed_fields(self, name: str) -> frozenset[str]:
        """The payload fields that have an index (the engine's own record)."""

    def has_scan_copy(self, name: str) -> bool:
        """Whether a scan (``Search.scan``) reads the collection's scan copy, not its float
        vectors exactly."""

    def upsert(self, name: str, batch: PointBatch) -> None: ...

    def delete(self, name: str, ids: Sequence[str]) -> None: ...

    def finalize(self, name: str) -> None:
        """Make everything written durable and indexed (flush, build HNSW)."""

    def count(self, name: str, where: Sequence[Condition] = ()) -> int: ...

    def vectors(self, name: str, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors by id; ids not in the collection are absent from the result."""

    def payloads(self, name: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]: ...

    def points(
        self, name: str, page: int = PAGE, ids: Sequence[str] | None = None
    ) -> Iterator[PointBatch]:
        """Every stored point (or those of ``ids`` that are stored) with its vector and
        payload, ``page`` at a time: a whole collection is read by scrolling it, in the store's
        order, with no list of ids."""

    def query(self, name: str, vectors: np.ndarray, search: Search) -> list[list[Hit]]:
        """The hits of ``search`` for each row of ``vectors`` [Q, D]."""

    def recommend_best_score(
        self, name: str, positives: np.ndarray, negatives: np.ndarray, search: Search
    ) -> list[Hit]:
        """Qdrant's best-score recommendation from example vectors [P, D] and [N, D]."""

    def query_points(
        self, name: str, ids: Sequence[str], search: Search, vectors: np.ndarray | None = None
    ) -> list[list[Hit]]:
        """The hits of ``search`` for each stored point of ``ids`` as the query, that point
        left out of its own hits (Qdrant's query by id); :class:`NotFoundError` when one of
        ``ids`` is not stored. ``vectors``: the points' stored vectors, where the caller has
        read them already (:meth:`points`), so that they are not read again."""

    def recommend_points(
        self,
        name: str,
        positive: Sequence[str],
        negative: Sequence[str],
        search: Search,
        best_score: bool = False,
    ) -> list[Hit]:
        """Qdrant's recommendation from stored example points: the average-vector formula of
        :func:`example_query`, or best-score; the examples left out of the hits."""

    def find_ids(self, name: str, where: Sequence[Condition], limit: int) -> list[str]:
        """Ids of up to ``limit`` points matching ``where``."""

    def value_counts(self, name: str, key: str, limit: int) -> list[tuple[Scalar, int]]:
        """The ``limit`` most common values of the indexed field ``key``, with their counts,
        most common first (Qdrant's facet, counted exactly)."""

    def close(self) -> None: ...
