"""One engine call where one will do: a query by item or by examples is one store call by the
point ids the item ids make (not a lookup, a read and a search), and answers what the same
search by the stored vectors answers; older records without a dataset fall back to looking the
items up; the filter is checked once per distinct filter."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from infra.store import Condition, NotFoundError, PointBatch, VectorStore, point_id
from infra.store.base import CollectionSpec
from model.metrics import l2_normalise
from search import filters
from search.metadata import read_meta, write_meta
from search.options import QueryOptions
from search.query import STRATEGIES, ByExamples, ByItem, ask

N, DIM = 40, 6


class Counting:
    """The store, every call passed on and named."""

    def __init__(self, inner: VectorStore) -> None:
        self.inner, self.calls = inner, []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return attr(*args, **kwargs)

        return call


@pytest.fixture
def items(store: VectorStore) -> VectorStore:
    v = l2_normalise(np.random.default_rng(1).standard_normal((N, DIM)).astype(np.float32))
    store.ensure_collection(CollectionSpec("items", DIM))
    ids = [point_id("toy", "train", i) for i in range(N)]
    payloads = [{"item_id": f"train-{i}", "split": "train", "label": i % 3} for i in range(N)]
    store.upsert("items", PointBatch(ids, v, payloads))
    store.finalize("items")
    write_meta(store, "items", dataset="toy", kind="fashion-mnist", fields={"label": "int"})
    return store


def test_by_item_and_by_examples_are_one_store_call(items: VectorStore) -> None:
    meta = read_meta(items, "items")
    counting = Counting(items)
    hits = ask(counting, "items", ByItem("train-3"), QueryOptions(k=5), meta)  # type: ignore[arg-type]
    assert counting.calls == ["query_points"]
    assert len(hits) == 5 and "train-3" not in {h.payload["item_id"] for h in hits}
    for strategy in STRATEGIES:
        counting.calls.clear()
        examples = ByExamples(("train-1", "train-2"), ("train-9",), strategy)
        ask(counting, "items", examples, QueryOptions(k=3), meta)  # type: ignore[arg-type]
        assert counting.calls == ["recommend_points"], strategy


def _by_vector(store: VectorStore, ids: list[str], query: np.ndarray, k: int) -> list[str]:
    search = QueryOptions(k=k).search(ids)
    return [h.id for h in store.query("items", query.reshape(1, -1), search)[0]]


def test_the_calls_by_point_answer_as_the_vectors_do(items: VectorStore) -> None:
    pids = [point_id("toy", "train", i) for i in range(N)]
    vectors = items.vectors("items", pids)
    rows = items.query_points("items", pids[:4], QueryOptions(k=6).search())
    for pid, row in zip(pids[:4], rows, strict=True):
        assert [h.id for h in row] == _by_vector(items, [pid], vectors[pid], 6)
    pos, neg = pids[1:3], pids[9:10]
    liked = np.mean([vectors[p] for p in pos], axis=0)
    query = 2 * liked - vectors[neg[0]]
    got = items.recommend_points("items", pos, neg, QueryOptions(k=6).search(pos + neg))
    assert [h.id for h in got] == _by_vector(items, pos + neg, query, 6)
    assert not {h.id for h in got} & {*pos, *neg}


def test_a_missing_point_is_not_found(items: VectorStore) -> None:
    gone = point_id("toy", "train", N + 1)
    with pytest.raises(NotFoundError):
        items.query_points("items", [gone], QueryOptions().search())
    with pytest.raises(NotFoundError):
        items.recommend_points("items", [gone], [], QueryOptions().search())


def test_an_older_record_falls_back_to_the_lookup(items: VectorStore) -> None:
    meta = read_meta(items, "items").model_copy(update={"dataset": None})
    counting = Counting(items)
    fast = ask(items, "items", ByItem("train-3"), QueryOptions(k=5))
    slow = ask(counting, "items", ByItem("train-3"), QueryOptions(k=5), meta)  # type: ignore[arg-type]
    assert [h.id for h in slow] == [h.id for h in fast]
    assert counting.calls[:2] == ["find_ids", "payloads"]


def test_an_unknown_item_is_named(items: VectorStore) -> None:
    with pytest.raises(NotFoundError, match="'train-999'"):
        ask(items, "items", ByItem("train-999"), QueryOptions())
    with pytest.raises(NotFoundError, match="'sku-1'"):
        ask(items, "items", ByItem("sku-1"), QueryOptions())  # no Fashion-MNIST id: looked up


def test_a_filter_is_checked_once_per_distinct_filter(items: VectorStore) -> None:
    filters._check_once.cache_clear()
    opts = QueryOptions(k=3, where=(Condition.equals("label", 1),))
    for i in range(5):
        ask(items, "items", ByItem(f"train-{i}"), opts)
    info = filters._check_once.cache_info()
    assert (info.misses, info.hits) == (1, 4)
