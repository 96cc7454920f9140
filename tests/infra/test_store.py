"""Congruence: the same assertions on the embedded store, qdrant-client ``:memory:`` and, when a
Docker engine answers, a real Qdrant server."""

from __future__ import annotations

import numpy as np
import pytest

from infra.store import Condition, PointBatch, Search, StoreError, VectorStore, point_id
from infra.store.base import CollectionSpec
from model.metrics import brute_force_search, l2_normalise
from search.options import QueryOptions
from search.query import similar_to_item

DIM = 8
N = 60


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    vectors = l2_normalise(rng.standard_normal((N, DIM)).astype(np.float32))
    labels = np.arange(N) % 3
    return vectors, labels


def _load(store: VectorStore, name: str = "items") -> tuple[np.ndarray, np.ndarray]:
    vectors, labels = _data()
    store.ensure_collection(CollectionSpec(name, DIM))
    for start in range(0, N, 25):  # several batches, like the indexing task
        idx = range(start, min(start + 25, N))
        store.upsert(
            name,
            PointBatch(
                ids=[point_id("toy", "train", i) for i in idx],
                vectors=vectors[start : start + len(idx)],
                payloads=[
                    {
                        "item_id": f"train-{i}",
                        "label": int(labels[i]),
                        "split": "train",
                        "label_name": f"class{labels[i]}",
                        "price": float(i),
                    }
                    for i in idx
                ],
            ),
        )
    store.finalize(name)
    return vectors, labels


def test_upsert_count_and_stable_ids(store: VectorStore) -> None:
    _load(store)
    assert store.count("items") == N
    assert point_id("toy", "train", 3) == point_id("toy", "train", 3)
    assert point_id("toy", "train", 3) != point_id("toy", "test", 3)
    _load(store)  # the same items again: overwritten, not duplicated
    assert store.count("items") == N


def test_filtered_query_returns_only_that_label(store: VectorStore) -> None:
    vectors, _ = _load(store)
    hits = store.query("items", vectors[:5], Search(10, where=[Condition.equals("label", 2)]))
    assert all(len(r) == 10 for r in hits)
    assert {h.payload["label"] for r in hits for h in r} == {2}
    assert store.count("items", [Condition.equals("label", 2)]) == N // 3


def test_a_search_can_ask_for_some_payload_fields(store: VectorStore) -> None:
    vectors, _ = _load(store)
    ids = [point_id("toy", "train", 0), point_id("toy", "train", 1)]
    for hits in [
        store.query("items", vectors[:2], Search(5, with_payload=("item_id", "label")))[0],
        store.query_points("items", ids, Search(5, with_payload=("item_id", "label")))[1],
    ]:
        assert len(hits) == 5
        assert all(set(h.payload) == {"item_id", "label"} for h in hits)
    everything = store.query("items", vectors[:1], Search(5))[0]
    assert set(everything[0].payload) == {"item_id", "label", "split", "label_name", "price"}


def test_a_whole_collection_reads_a_page_at_a_time(store: VectorStore) -> None:
    vectors, _ = _load(store)
    pages = list(store.points("items", page=25))
    assert [len(p.ids) for p in pages] == [25, 25, 10]
    ids = [i for p in pages for i in p.ids]
    position = {point_id("toy", "train", i): i for i in range(N)}
    assert sorted(ids) == sorted(position)
    order = [position[i] for i in ids]
    read = np.concatenate([p.vectors for p in pages])
    np.testing.assert_allclose(read, vectors[order], atol=1e-6)
    payloads = [x for p in pages for x in p.payloads]
    assert [x["item_id"] for x in payloads] == [f"train-{i}" for i in order]
    assert payloads == [store.payloads("items", [i])[i] for i in ids]


def test_a_search_can_leave_the_ids_out(store: VectorStore) -> None:
    vectors, _ = _load(store)
    ids = [point_id("toy", "train", 0), point_id("toy", "train", 1)]
    named = Search(5, with_payload=("item_id",))
    bare = Search(5, with_payload=("item_id",), with_ids=False)
    for got, full in [
        (store.query("items", vectors[:2], bare), store.query("items", vectors[:2], named)),
        (store.query_points("items", ids, bare), store.query_points("items", ids, named)),
    ]:
        assert [[(h.payload, h.score) for h in r] for r in got] == [
            [(h.payload, h.score) for h in r] for r in full
        ]
        # The embedded engine skips them; a server's client has converted them already.
        assert {h.id for r in got for h in r} <= {""} | {h.id for r in full for h in r}
    if store.backend == "embedded":
        assert {h.id for r in got for h in r} == {""}


def test_value_counts_are_exact_and_most_common_first(store: VectorStore) -> None:
    _load(store)
    store.delete("items", [point_id("toy", "train", i) for i in (0, 3)])  # two of label 0
    counts = store.value_counts("items", "label", 10)
    assert dict(counts) == {0: 18, 1: 20, 2: 20}
    assert [c for _, c in counts] == [20, 20, 18]
    assert len(store.value_counts("items", "label", 1)) == 1
    assert store.value_counts("items", "split", 10) == [("train", N - 2)]


def test_query_matches_exact_search_and_excludes(store: VectorStore) -> None:
    vectors, _ = _load(store)
    exact = brute_force_search(vectors)(vectors[:3], 6)
    hits = store.query("items", vectors[:3], Search(6))
    for row, r in zip(exact, hits, strict=True):
        assert [h.payload["item_id"] for h in r] == [f"train-{i}" for i in row]
    similar = similar_to_item(store, "items", "train-0", QueryOptions(k=5))
    assert "train-0" not in [h.payload["item_id"] for h in similar]
    assert [h.payload["item_id"] for h in similar] == [f"train-{i}" for i in exact[0][1:6]]


def test_none_of_and_range_filters(store: VectorStore) -> None:
    vectors, _ = _load(store)
    where = [Condition("label", none_of=(0,)), Condition("price", gte=10, lt=20)]
    hits = store.query("items", vectors[:1], Search(50, where=where))[0]
    assert hits
    assert all(h.payload["label"] != 0 and 10 <= h.payload["price"] < 20 for h in hits)


def test_errors_a_consumer_can_act_on(store: VectorStore) -> None:
    _load(store)
    with pytest.raises(StoreError, match="no collection or alias 'nope'"):
        store.count("nope")
    with pytest.raises(StoreError, match="8-d vectors"):
        store.query("items", np.zeros((1, DIM + 1), dtype=np.float32), Search(3))
    with pytest.raises(StoreError, match="holds 8-d vectors, not 4-d"):
        store.ensure_collection(CollectionSpec("items", 4))
    with pytest.raises(StoreError, match="k must be"):
        Search(0)
    with pytest.raises(StoreError, match="unknown item id"):
        similar_to_item(store, "items", "train-999")
