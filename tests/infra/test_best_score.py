"""Best-score recommendation asks the store for what a plain query asks: vectors and payloads when
the search wants them, the per-request beam, exact scans and the quantized rescoring."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from infra.store import PointBatch, Search, VectorStore, point_id
from infra.store.base import CollectionSpec, IndexParams
from model.metrics import l2_normalise
from search.options import QueryOptions
from search.query import recommend
from tests.backends import wait_for_graph


def _load(store: VectorStore, name: str, n: int, dim: int, seed: int) -> tuple[np.ndarray, list]:
    rng = np.random.default_rng(seed)
    v = l2_normalise(rng.standard_normal((n, dim)).astype(np.float32))
    ids = [point_id("toy", "train", i) for i in range(n)]
    store.ensure_collection(CollectionSpec(name, dim))
    store.upsert(name, PointBatch(ids, v, [{"item_id": f"train-{i}"} for i in range(n)]))
    store.finalize(name)
    return v, ids


def _scaled_fast_sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (x / (1 + np.abs(x)) + 1)


def _best_score(v: np.ndarray, pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """Qdrant's best-score objective, by brute force: a candidate closer to its best positive than
    to its best negative scores ``sigmoid(best positive)``, else ``-sigmoid(best negative)``
    (``lib/segment/src/vector_storage/query/reco_query.rs``)."""
    best_pos = (v @ pos.T).max(axis=1)
    best_neg = (v @ neg.T).max(axis=1) if len(neg) else np.full(len(v), -np.inf)
    return np.where(
        best_pos > best_neg, _scaled_fast_sigmoid(best_pos), -_scaled_fast_sigmoid(best_neg)
    )


def test_best_score_returns_the_vectors_and_payloads_asked_for(store: VectorStore) -> None:
    v, ids = _load(store, "items", 60, 8, seed=0)
    pos, neg = v[[1, 2]], v[[3]]
    examples = [ids[1], ids[2], ids[3]]
    full = store.recommend_best_score(
        "items", pos, neg, Search(5, exclude_ids=examples, with_vectors=True)
    )
    assert len(full) == 5
    assert all(h.vector is not None for h in full), "best_score returned no vectors"
    by_id = dict(zip(ids, v, strict=True))
    for h in full:
        assert h.vector is not None and np.allclose(h.vector, by_id[h.id], atol=1e-6)
        assert h.payload["item_id"] == f"train-{ids.index(h.id)}"
    bare = store.recommend_best_score(
        "items", pos, neg, Search(5, exclude_ids=examples, with_payload=False)
    )
    assert [h.id for h in bare] == [h.id for h in full]
    assert all(h.payload == {} and h.vector is None for h in bare)

    # Through the product: dedup needs the hits' vectors (random points: nothing collapses).
    liked, disliked = ["train-1", "train-2"], ["train-3"]
    plain = recommend(store, "items", liked, disliked, "best_score", QueryOptions(k=5))
    deduped = recommend(
        store, "items", liked, disliked, "best_score", QueryOptions(k=5, dedup=0.97)
    )
    assert len(plain) == 5
    assert [h.id for h in deduped] == [h.id for h in plain] == [h.id for h in full]


def test_best_score_follows_the_beam_and_exact(graph_store: VectorStore) -> None:
    n, dim = 1000, 16
    v, ids = _load(graph_store, "graph", n, dim, seed=5)
    wait_for_graph(graph_store, "graph")
    rng = np.random.default_rng(6)
    queries = [
        (
            l2_normalise(rng.standard_normal((2, dim)).astype(np.float32)),
            l2_normalise(rng.standard_normal((1, dim)).astype(np.float32)),
        )
        for _ in range(60)
    ]
    truth = [ids[int(np.argmax(_best_score(v, pos, neg)))] for pos, neg in queries]

    def top1(search: Search) -> list[str | None]:
        out = []
        for pos, neg in queries:
            hits = graph_store.recommend_best_score("graph", pos, neg, search)
            out.append(hits[0].id if hits else None)
        return out

    def recall(search: Search) -> float:
        return float(np.mean([a == b for a, b in zip(top1(search), truth, strict=True)]))

    # Top-1 only, as in test_per_query_beam: just the segment holding the best item returns it.
    assert top1(Search(1, exact=True)) == truth
    narrow, wide = recall(Search(1, hnsw_ef=1)), recall(Search(1, hnsw_ef=1000))
    assert narrow < 0.8 < 0.95 < wide, (narrow, wide)


@pytest.mark.parametrize(
    "backend", ["embedded", pytest.param("server", marks=pytest.mark.integration)]
)
def test_quantized_best_score_is_rescored(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """On an int8 collection the candidates are rescored with the float vectors, as a plain query
    is: the scores are the exact objective's, not the int8 approximation's (errors ~2e-3)."""
    from tests.backends import open_store

    request.param = backend  # type: ignore[attr-defined]
    params = IndexParams(full_scan_threshold_kb=1, indexing_threshold_kb=1, quantization=True)
    opened = open_store(request, tmp_path, params)
    store = next(opened)
    try:
        v, ids = _load(store, "q8", 600, 32, seed=9)
        wait_for_graph(store, "q8")
        rng = np.random.default_rng(10)
        for _ in range(10):
            pos = l2_normalise(rng.standard_normal((2, 32)).astype(np.float32))
            neg = l2_normalise(rng.standard_normal((1, 32)).astype(np.float32))
            hits = store.recommend_best_score("q8", pos, neg, Search(10, with_payload=False))
            assert len(hits) == 10
            rows = [ids.index(h.id) for h in hits]
            exact = _best_score(v[rows], pos, neg)
            assert [h.score for h in hits] == pytest.approx(exact.tolist(), abs=1e-5)
    finally:
        next(opened, None)  # the rest of open_store: closes the store
