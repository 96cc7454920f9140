"""Consumer queries, the same assertions on each backend (a real server when one is there)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from infra.store import Condition, PointBatch, Search, StoreError, VectorStore, point_id
from infra.store.base import CollectionSpec
from model.metrics import brute_force_search, l2_normalise
from search.options import Boost, QueryOptions
from search.query import recommend, similar_to_item, similar_to_vector
from tests.backends import wait_for_graph

N, DIM = 90, 6


@pytest.fixture
def vectors(store: VectorStore) -> np.ndarray:
    rng = np.random.default_rng(3)
    v = l2_normalise(rng.standard_normal((N, DIM)).astype(np.float32))
    store.ensure_collection(CollectionSpec("items", DIM))
    payloads = [
        {"item_id": f"train-{i}", "label": i % 3, "split": "train", "price": float(i)}
        for i in range(N)
    ]
    ids = [point_id("toy", "train", i) for i in range(N)]
    store.upsert("items", PointBatch(ids, v, payloads))
    store.finalize("items")
    return v


def _items(hits: list) -> list[str]:
    return [h.payload["item_id"] for h in hits]


def test_offset_and_threshold(store: VectorStore, vectors: np.ndarray) -> None:
    full = similar_to_vector(store, "items", vectors[0], QueryOptions(k=10))
    page = similar_to_vector(store, "items", vectors[0], QueryOptions(k=5, offset=5))
    assert _items(page) == _items(full)[5:10]
    cut = (full[3].score + full[4].score) / 2
    above = similar_to_vector(store, "items", vectors[0], QueryOptions(k=10, score_threshold=cut))
    assert _items(above) == _items(full)[:4]


def test_average_vector_recommendation_matches_its_formula(
    store: VectorStore, vectors: np.ndarray
) -> None:
    liked, disliked = ["train-1", "train-2"], ["train-3"]
    hits = recommend(store, "items", liked, disliked, "average_vector", QueryOptions(k=5))
    query = l2_normalise((2 * vectors[[1, 2]].mean(0) - vectors[3])[None])[0]
    order = [f"train-{i}" for i in brute_force_search(vectors)(query[None], 10)[0]]
    expected = [i for i in order if i not in (*liked, *disliked)][:5]
    assert _items(hits) == expected


def test_best_score_and_centroid_exclude_the_examples(
    store: VectorStore, vectors: np.ndarray
) -> None:
    liked = ["train-4", "train-5", "train-6"]
    for strategy in ("best_score", "centroid"):
        hits = recommend(store, "items", liked, ["train-7"], strategy, QueryOptions(k=8))
        assert len(hits) == 8
        assert not set(_items(hits)) & {*liked, "train-7"}


def test_diversity_caps_hits_per_label(store: VectorStore, vectors: np.ndarray) -> None:
    hits = similar_to_item(store, "items", "train-0", QueryOptions(k=6, max_per_label=2))
    labels = [h.payload["label"] for h in hits]
    assert len(hits) == 6 and max(labels.count(x) for x in set(labels)) == 2


def test_filters_in_not_in_and_range(store: VectorStore, vectors: np.ndarray) -> None:
    where = (Condition("label", any_of=(0, 1)), Condition("price", gt=20, lte=60))
    hits = similar_to_item(store, "items", "train-0", QueryOptions(k=50, where=where))
    assert hits and all(h.payload["label"] in (0, 1) for h in hits)
    assert all(20 < h.payload["price"] <= 60 for h in hits)
    hits = similar_to_item(
        store, "items", "train-0", QueryOptions(k=50, where=(Condition("label", none_of=(2,)),))
    )
    assert hits and all(h.payload["label"] != 2 for h in hits)


def test_query_errors(store: VectorStore, vectors: np.ndarray) -> None:
    with pytest.raises(StoreError, match="unknown item id 'train-999'"):
        recommend(store, "items", ["train-1", "train-999"])
    with pytest.raises(StoreError, match="at least one liked"):
        recommend(store, "items", [])
    with pytest.raises(StoreError, match="k must be"):
        QueryOptions(k=0)
    with pytest.raises(StoreError, match="6-d vectors"):
        similar_to_vector(store, "items", np.ones(DIM + 2, np.float32), QueryOptions())
    with pytest.raises(StoreError, match="no collection or alias"):
        similar_to_item(store, "missing-alias", "train-1")


def test_boost_reranks_matching_items_by_its_weight(
    store: VectorStore, vectors: np.ndarray
) -> None:
    plain = similar_to_vector(store, "items", vectors[0], QueryOptions(k=40))
    boost = Boost("label", (2,), 0.3)
    boosted = similar_to_vector(store, "items", vectors[0], QueryOptions(k=10, boost=boost))
    expected = sorted(plain, key=lambda h: -(h.score + (0.3 if h.payload["label"] == 2 else 0)))
    assert _items(boosted) == _items(expected)[:10]
    assert _items(boosted) != _items(plain)[:10]  # the boost has to change something here
    for h in boosted:
        raw = next(p.score for p in plain if p.id == h.id)
        assert h.score == pytest.approx(raw + (0.3 if h.payload["label"] == 2 else 0.0))
    page = similar_to_vector(store, "items", vectors[0], QueryOptions(k=5, offset=5, boost=boost))
    assert _items(page) == _items(boosted)[5:10]


def test_boost_with_a_cap_and_a_recommendation(store: VectorStore, vectors: np.ndarray) -> None:
    boost = Boost("label", (1,), 1.0)
    opts = QueryOptions(k=6, boost=boost, max_per_label=2)
    hits = recommend(store, "items", ["train-4", "train-5"], strategy="centroid", opts=opts)
    labels = [h.payload["label"] for h in hits]
    assert labels[:2] == [1, 1]  # a weight of 1 puts every label-1 hit first
    assert max(labels.count(x) for x in set(labels)) <= 2
    assert not {"train-4", "train-5"} & set(_items(hits))


def test_ids_only_queries_match_full_ones(store: VectorStore, vectors: np.ndarray) -> None:
    where = [Condition.equals("label", 1)]
    full = store.query("items", vectors[:3], Search(5, where=where))
    bare = store.query("items", vectors[:3], Search(5, where=where, with_payload=False))
    assert [[h.id for h in r] for r in bare] == [[h.id for h in r] for r in full]
    assert [h.score for r in bare for h in r] == pytest.approx([h.score for r in full for h in r])
    assert all(h.payload == {} for r in bare for h in r)


def _recall(hits: list[list], exact: list[list]) -> float:
    """The share of the exact top-k that ``hits`` found, over all queries."""
    found = [len({h.id for h in a} & {h.id for h in b}) for a, b in zip(hits, exact, strict=True)]
    return sum(found) / sum(len(b) for b in exact)


def test_per_query_beam(graph_store: VectorStore) -> None:
    rng = np.random.default_rng(5)
    n, dim = 1000, 16
    v = l2_normalise(rng.standard_normal((n, dim)).astype(np.float32))
    graph_store.ensure_collection(CollectionSpec("graph", dim))
    ids = [point_id("toy", "train", i) for i in range(n)]
    graph_store.upsert("graph", PointBatch(ids, v, [{"item_id": f"train-{i}"} for i in range(n)]))
    graph_store.finalize("graph")
    wait_for_graph(graph_store, "graph")
    queries = l2_normalise(rng.standard_normal((100, dim)).astype(np.float32))
    exact = graph_store.query("graph", queries, Search(1, exact=True))

    def beam(ef: int) -> list[list]:
        return [
            similar_to_vector(graph_store, "graph", q, QueryOptions(k=1, hnsw_ef=ef))
            for q in queries
        ]

    # A beam of 1 is a greedy walk: on a sparse graph it stops at a local optimum for about half
    # the queries; a beam of 1,000 finds the nearest item. Top-1 only, because just the segment
    # holding the nearest item can return it: this holds however many segments a server uses.
    narrow, wide = _recall(beam(1), exact), _recall(beam(1000), exact)
    assert narrow < 0.8 < 0.95 < wide, (narrow, wide)
    with pytest.raises(StoreError, match="hnsw_ef must be at least 1"):
        QueryOptions(hnsw_ef=0)


def test_dedup_collapses_near_copies_and_still_returns_k(store: VectorStore) -> None:
    """Three planted copies of each of 20 items: without dedup the copies crowd the answer."""
    rng = np.random.default_rng(5)
    base = l2_normalise(rng.standard_normal((20, DIM)).astype(np.float32))
    copies = l2_normalise(np.repeat(base, 3, axis=0) + rng.normal(0, 0.01, (60, DIM)))
    v = np.concatenate([base, copies]).astype(np.float32)
    store.ensure_collection(CollectionSpec("dups", DIM))
    ids = [point_id("toy", "train", i) for i in range(len(v))]
    payloads = [{"item_id": f"i{i}", "original": i if i < 20 else (i - 20) // 3} for i in range(80)]
    store.upsert("dups", PointBatch(ids, v, payloads))
    store.finalize("dups")
    plain = similar_to_vector(store, "dups", base[0], QueryOptions(k=8))
    assert len({h.payload["original"] for h in plain}) <= 3  # copies crowd the row
    deduped = similar_to_vector(store, "dups", base[0], QueryOptions(k=8, dedup=0.97))
    originals = [h.payload["original"] for h in deduped]
    assert len(deduped) == 8 and len(set(originals)) == 8  # one of each, still k hits
    assert deduped[0].id == plain[0].id  # the best hit of each group is the one kept
    paged = similar_to_vector(store, "dups", base[0], QueryOptions(k=4, offset=4, dedup=0.97))
    assert [h.id for h in paged] == [h.id for h in deduped[4:]]
    for bad in (0.0, 1.5):
        with pytest.raises(StoreError, match=r"dedup threshold .* \(0, 1\]"):
            QueryOptions(dedup=bad)


def test_mmr_trades_relevance_for_diversity(store: VectorStore, vectors: np.ndarray) -> None:
    q = vectors[0]
    plain = similar_to_vector(store, "items", q, QueryOptions(k=10))
    only_relevance = similar_to_vector(
        store, "items", q, QueryOptions(k=10, diversity="mmr", mmr_lambda=1.0)
    )
    assert _items(only_relevance) == _items(plain)
    diverse = similar_to_vector(
        store, "items", q, QueryOptions(k=10, diversity="mmr", mmr_lambda=0.2)
    )
    assert len(diverse) == 10 and _items(diverse) != _items(plain)
    assert _items(diverse)[0] == _items(plain)[0]  # the most relevant hit comes first anyway

    def spread(hits: list) -> float:
        got = np.stack([vectors[int(h.payload["item_id"].split("-")[1])] for h in hits])
        sims = got @ got.T
        return float(sims[np.triu_indices(len(got), 1)].mean())

    assert spread(diverse) < spread(plain)
    with pytest.raises(StoreError, match="lambda must be between 0 and 1"):
        QueryOptions(diversity="mmr", mmr_lambda=1.5)


@pytest.mark.parametrize(
    "backend", ["embedded", pytest.param("server", marks=pytest.mark.integration)]
)
def test_int8_quantization_keeps_recall(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """A quantized collection (int8, rescored) answers as the float one does."""
    from infra.store.base import IndexParams
    from tests.backends import open_store

    request.param = backend  # type: ignore[attr-defined]
    # A graph even over 600 points (as GRAPH_INDEX, but with the default, dense links).
    params = IndexParams(full_scan_threshold_kb=1, indexing_threshold_kb=1, quantization=True)
    store = next(open_store(request, tmp_path, params))
    rng = np.random.default_rng(9)
    v = l2_normalise(rng.standard_normal((600, 32)).astype(np.float32))
    store.ensure_collection(CollectionSpec("q8", 32))
    ids = [point_id("toy", "train", i) for i in range(600)]
    store.upsert("q8", PointBatch(ids, v, [{"item_id": f"train-{i}"} for i in range(600)]))
    store.finalize("q8")
    exact = brute_force_search(v)(v[:50], 10)
    hits = store.query("q8", v[:50], Search(10, hnsw_ef=64))
    found = [{int(h.payload["item_id"].split("-")[1]) for h in row} for row in hits]
    recall = np.mean([len(f & set(e)) / 10 for f, e in zip(found, exact, strict=True)])
    assert recall >= 0.95
    if backend == "embedded":
        config = (tmp_path / "qdrant" / "q8" / "shard" / "edge_config.json").read_text()
        assert "int8" in config.lower()
    store.close()
