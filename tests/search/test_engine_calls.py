"""One engine call where one will do: a query by item takes its vector by the point id its item
id makes, then searches (two store calls, not four); older records without a dataset fall back
to looking the item up; the filter is checked once per distinct filter."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from infra.store import Condition, NotFoundError, PointBatch, VectorStore, point_id
from infra.store.base import CollectionSpec
from model.metrics import l2_normalise
from search import query as queries
from search.metadata import read_meta, write_meta
from search.options import QueryOptions
from search.query import ByExamples, ByItem, ask

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


def test_by_item_is_two_store_calls(items: VectorStore) -> None:
    meta = read_meta(items, "items")
    counting = Counting(items)
    hits = ask(counting, "items", ByItem("train-3"), QueryOptions(k=5), meta)  # type: ignore[arg-type]
    assert counting.calls == ["vectors", "query"]
    assert len(hits) == 5 and "train-3" not in {h.payload["item_id"] for h in hits}
    counting.calls.clear()
    ask(
        counting, "items", ByExamples(("train-1", "train-2"), ("train-9",)), QueryOptions(k=3), meta
    )  # type: ignore[arg-type]
    assert counting.calls == ["vectors", "query"]


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
    queries._check_once.cache_clear()
    opts = QueryOptions(k=3, where=(Condition.equals("label", 1),))
    for i in range(5):
        ask(items, "items", ByItem(f"train-{i}"), opts)
    info = queries._check_once.cache_info()
    assert (info.misses, info.hits) == (1, 4)
