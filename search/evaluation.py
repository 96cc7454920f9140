"""Retrieval quality of an index, measured by querying the store itself, for any source, with
the baselines a source of raw pixels has (:mod:`search.baselines`).

A source with ``train`` and ``test`` splits (Fashion-MNIST) is measured as test queries against
the train items; any other labelled source leave-one-out: each sampled labelled item queries
all the others. Search is exact, so the numbers measure the embedding, not HNSW.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from catalogs.base import Item, SourceInfo
from catalogs.readers import reader_for
from catalogs.scan import load_items
from infra.store.base import Condition, Hit, Search
from infra.store.protocol import VectorStore
from model.metrics import retrieval_metrics, without_copies
from search import baselines
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
    answers: list[int]  # positions of those points' items

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
        trains = [p for p, i in enumerate(items) if i.split == "train"]
        return Measure(tests, (Condition.equals("split", "train"),), trains)
    labelled = [p for p, i in enumerate(items) if i.label]
    if len({items[p].label for p in labelled}) < 2:
        return None
    step = max(1, len(labelled) // sample)
    return Measure(labelled[::step][:sample], (Condition("label", gte=0),), labelled)


def neighbour_labels(
    store: VectorStore, collection: str, ids: list[str], index: Sequence[Condition], k: int = K
) -> tuple[np.ndarray, np.ndarray]:
    """Each query's label and the labels of its ``k`` nearest points (itself left out)."""
    query_labels: list[int] = []
    rows: list[list[int]] = []
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
    return np.asarray(query_labels), np.asarray(rows, dtype=np.int64)


def evaluate(
    store: VectorStore, collection: str, dataset: str, source: SourceInfo
) -> dict[str, float]:
    """precision@1 and recall@10 of the index; empty when the source has no labels. A source of
    raw pixels split into train and test adds raw pixels' figures (``pixels_…``), how many test
    items have a copy among the train items in pixels (``pixels_copies_count``), and
    precision@1 of both without those items."""
    items = load_items(source)
    plan = measure(items)
    if plan is None:
        return {}
    ids = point_ids(dataset, [items[p] for p in plan.queries])
    labels, found = neighbour_labels(store, collection, ids, plan.index)
    metrics = retrieval_metrics(labels, found)
    if plan.across_splits and reader_for(source).has_pixel_baseline:
        pixels, copied = baselines.pixel_baseline(_pixels(source, items, plan))
        metrics |= without_copies(labels, found, copied)
        metrics |= {f"pixels_{k}": v for k, v in pixels.items()}
        metrics[baselines.COPIES] = int(copied.sum())
    return metrics


def embedding_table(
    store: VectorStore, collection: str, dataset: str, source: SourceInfo
) -> dict[str, dict[str, float]]:
    """The learned embedding (the vectors the index holds) beside raw pixels and PCA-64 of
    them, every metric, exact search: for a source of raw pixels split into train and test."""
    items = load_items(source)
    plan = measure(items)
    if plan is None or not plan.across_splits or not reader_for(source).has_pixel_baseline:
        raise ValueError(
            "the embedding table compares against raw pixels of train and test splits: "
            "Fashion-MNIST's only."
        )
    return baselines.embedding_table(
        _pixels(source, items, plan),
        stored_vectors(store, collection, dataset, [items[p] for p in plan.answers]),
        stored_vectors(store, collection, dataset, [items[p] for p in plan.queries]),
    )


def stored_vectors(
    store: VectorStore, collection: str, dataset: str, items: Sequence[Item]
) -> np.ndarray:
    """The vectors the index holds for ``items``, in their order."""
    out = []
    for start in range(0, len(items), 5000):
        ids = point_ids(dataset, items[start : start + 5000])
        found = store.vectors(collection, ids)
        out.append(np.stack([found[i] for i in ids]))
    return np.concatenate(out)


def _pixels(source: SourceInfo, items: list[Item], plan: Measure) -> baselines.Pixels:
    reader = reader_for(source)
    numbers = {name: n for n, name in enumerate(source.labels)}

    def of(positions: list[int]) -> tuple[np.ndarray, np.ndarray]:
        chosen = [items[p] for p in positions]
        labels = np.asarray([numbers[i.label] if i.label else -1 for i in chosen], np.int64)
        return reader.pixels(source, chosen), labels

    (index, index_labels), (queries, query_labels) = of(plan.answers), of(plan.queries)
    return baselines.Pixels(index, index_labels, queries, query_labels)


def examples(
    store: VectorStore, collection: str, items: Sequence[Item], n: int = 3, k: int = 5
) -> list[tuple[str, list[Hit]]]:
    """'More like this' for ``n`` items spread over the evaluation's queries (or all items)."""
    plan = measure(items)
    pool = plan.queries if plan else list(range(len(items)))
    picks = [items[pool[i * len(pool) // n]].item_id for i in range(min(n, len(pool)))]
    return [(p, similar_to_item(store, collection, p, QueryOptions(k=k))) for p in picks]
