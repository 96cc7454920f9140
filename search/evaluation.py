"""Retrieval quality of an index, measured by querying the store itself, for any source.

A source with ``train`` and ``test`` splits (Fashion-MNIST) is measured as test queries against
the train items; any other labelled source leave-one-out: each sampled labelled item queries
all the others. Search is exact, so the numbers measure the embedding, not HNSW.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from catalogs.base import Item
from infra.store.base import Condition, Hit, Search, VectorStore
from model.metrics import leak_metrics, retrieval_metrics
from search.indexing import point_ids
from search.options import QueryOptions
from search.query import similar_to_item

K = 10
CHUNK = 500
SAMPLE = 2000  # leave-one-out queries of a large catalog


@dataclass(frozen=True)
class Measure:
    queries: list[int]  # positions of the query items
    index: tuple[Condition, ...]  # which points answer them

    @property
    def across_splits(self) -> bool:
        return self.index[0].key == "split"

    @property
    def name(self) -> str:
        if self.index[0].key == "split":
            return "test queries against train items"
        return "each labelled item against the others"


def measure(items: Sequence[Item], sample: int = SAMPLE) -> Measure | None:
    """How to measure an index of ``items``; None when nothing can be measured (no labels)."""
    splits = {i.split for i in items}
    if {"train", "test"} <= splits:
        tests = [p for p, i in enumerate(items) if i.split == "test"]
        return Measure(tests, (Condition.equals("split", "train"),))
    labelled = [p for p, i in enumerate(items) if i.label]
    if len({items[p].label for p in labelled}) < 2:
        return None
    step = max(1, len(labelled) // sample)
    return Measure(labelled[::step][:sample], (Condition("label", gte=0),))


def neighbour_labels(
    store: VectorStore, collection: str, ids: list[str], index: Sequence[Condition], k: int = K
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each query's label, the labels of its ``k`` nearest points (itself left out), and the
    score of the nearest."""
    query_labels: list[int] = []
    rows: list[list[int]] = []
    top: list[float] = []
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        vectors, payloads = store.vectors(collection, chunk), store.payloads(collection, chunk)
        missing = [i for i in chunk if i not in vectors]
        if missing:
            raise RuntimeError(f"{len(missing)} query items are missing from {collection!r}")
        queries = np.stack([vectors[i] for i in chunk])
        hits = store.query(collection, queries, Search(k + 1, index, exact=True))
        for pid, row in zip(chunk, hits, strict=True):
            others = [h for h in row if h.id != pid][:k]
            query_labels.append(int(payloads[pid]["label"]))
            rows.append([int(h.payload["label"]) for h in others] + [-1] * (k - len(others)))
            top.append(others[0].score if others else 0.0)
    return np.asarray(query_labels), np.asarray(rows, dtype=np.int64), np.asarray(top)


def evaluate(
    store: VectorStore, collection: str, dataset: str, items: Sequence[Item]
) -> dict[str, float]:
    """precision@1 and recall@10 of the index; empty when the source has no labels."""
    plan = measure(items)
    if plan is None:
        return {}
    ids = point_ids(dataset, [items[p] for p in plan.queries])
    labels, found, top = neighbour_labels(store, collection, ids, plan.index)
    metrics = retrieval_metrics(labels, found)
    if plan.across_splits:  # a test item's twin among the train items is a leak
        metrics |= leak_metrics(labels, found, top)
    return metrics


def examples(
    store: VectorStore, collection: str, items: Sequence[Item], n: int = 3, k: int = 5
) -> list[tuple[str, list[Hit]]]:
    """'More like this' for ``n`` items spread over the evaluation's queries (or all items)."""
    plan = measure(items)
    pool = plan.queries if plan else list(range(len(items)))
    picks = [items[pool[i * len(pool) // n]].item_id for i in range(min(n, len(pool)))]
    return [(p, similar_to_item(store, collection, p, QueryOptions(k=k))) for p in picks]
