"""Every stored point asked of its own collection, in batches: the one runner behind the
near-duplicate finder and the neighbour export. Each batch is one store call (the query by point
id), so memory holds a batch's answers, never the catalog's: no all-pairs matrix."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from infra.store.base import Hit, Search
from infra.store.protocol import VectorStore

BATCH = 256  # queries per store call


def all_ids(store: VectorStore, name: str) -> list[str]:
    """Every point id of collection ``name``, in the store's order."""
    return store.find_ids(name, [], limit=store.count(name) + 1)


def chunks(ids: Sequence[str], size: int = BATCH) -> Iterator[Sequence[str]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def self_queries(
    store: VectorStore, name: str, ids: Sequence[str], search: Search, batch: int = BATCH
) -> Iterator[tuple[str, list[Hit]]]:
    """(point id, its hits) for each of ``ids``, each point left out of its own hits."""
    for chunk in chunks(ids, batch):
        yield from zip(chunk, store.query_points(name, chunk, search), strict=True)
