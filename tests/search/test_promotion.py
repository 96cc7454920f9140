"""Aliases, the quality gate, promotion and pruning, the same assertions on each backend (the
``store`` fixture of conftest: embedded, ``:memory:`` and a real server when one is there)."""

from __future__ import annotations

import numpy as np
import pytest

from infra.store import PointBatch, StoreError, VectorStore, point_id
from infra.store.base import CollectionSpec
from search.indexing import finalize
from search.promotion import Decision, carry_out, find_version, gate, judge, list_indexes, prune


def promote_if_better(
    store: VectorStore, alias: str, name: str, floor: float, drop: float
) -> Decision:
    """The run's two steps: judge, then carry the decision out."""
    return carry_out(store, alias, name, judge(store, alias, name, floor, drop))


ALIAS = "lookalike-toy"


def _index(store: VectorStore, version: str, p1: float | None, n: int = 5) -> str:
    name = f"toy-{version}"
    meta = {"model_version": version, "created_at": f"2026-01-0{len(store.list_collections())}"}
    store.ensure_collection(CollectionSpec(name, 4, metadata=meta))
    vectors = np.eye(n, 4, dtype=np.float32) + 0.1
    ids = [point_id("toy", "train", i) for i in range(n)]
    store.upsert(name, PointBatch(ids, vectors, [{"item_id": f"train-{i}"} for i in range(n)]))
    finalize(store, name, n, 0.0)
    if p1 is not None:
        store.set_metadata(name, {"metrics": {"precision_at_1": p1}})
    return name


def test_gate_rules() -> None:
    assert gate(0.91, None, 0.85, 0.01)[0]
    assert not gate(0.80, None, 0.85, 0.01)[0]
    assert gate(0.905, 0.91, 0.85, 0.01)[0]
    ok, reason = gate(0.89, 0.91, 0.85, 0.01)
    assert not ok and "below the served" in reason


def test_promotion_switches_the_alias_and_a_refusal_keeps_it(store: VectorStore) -> None:
    first = _index(store, "aaa111", 0.90)
    assert promote_if_better(store, ALIAS, first, 0.85, 0.01).promoted
    assert store.resolve(ALIAS) == first
    assert store.count(ALIAS) == 5

    worse = _index(store, "bbb222", 0.80)
    decision = promote_if_better(store, ALIAS, worse, 0.85, 0.01)
    assert not decision.promoted and "floor" in decision.reason
    assert store.resolve(ALIAS) == first  # consumers stay on the old index
    assert store.has_collection(worse)  # the refused one is kept for inspection

    better = _index(store, "ccc333", 0.92)
    assert promote_if_better(store, ALIAS, better, 0.85, 0.01).promoted
    assert store.resolve(ALIAS) == better


def test_unevaluated_index_is_never_promoted(store: VectorStore) -> None:
    name = _index(store, "ddd444", None)
    assert not promote_if_better(store, ALIAS, name, 0.0, 1.0).promoted
    with pytest.raises(StoreError, match="no collection or alias"):
        store.resolve(ALIAS)


def test_list_find_and_prune(store: VectorStore) -> None:
    names = [_index(store, v, 0.9) for v in ("v1aaaa", "v2bbbb", "v3cccc")]
    store.set_alias(ALIAS, names[0])
    infos = list_indexes(store, ALIAS, "toy")
    assert [i.collection for i in infos] == names
    assert [i.served for i in infos] == [True, False, False]
    assert infos[0].points == 5 and infos[0].meta.model_version == "v1aaaa"
    assert find_version(store, "toy", "v2") == names[1]
    with pytest.raises(StoreError, match="no index matches"):
        find_version(store, "toy", "zzz")
    assert prune(store, ALIAS, "toy", keep=1) == [names[1]]  # the served one survives
    assert store.list_collections() == [names[0], names[2]]
    with pytest.raises(StoreError, match="served by an alias"):
        store.delete_collection(names[0])
