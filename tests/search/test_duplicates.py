"""The near-duplicate finder, the same assertions on each backend."""

from __future__ import annotations

import numpy as np
import pytest

from infra.store import PointBatch, VectorStore, point_id
from infra.store.base import CollectionSpec
from model.metrics import l2_normalise
from search import duplicates
from search.duplicates import TooManyPairsError, find_duplicates


def test_the_finder_agrees_across_backends_and_refuses_look_alikes(
    store: VectorStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(11)
    base = l2_normalise(rng.standard_normal((30, 8)).astype(np.float32))
    v = np.concatenate([base, base[:4] + rng.normal(0, 0.003, (4, 8))]).astype(np.float32)
    store.ensure_collection(CollectionSpec("dups", 8))
    ids = [point_id("toy", "train", i) for i in range(len(v))]
    store.upsert("dups", PointBatch(ids, v, [{"item_id": f"i{i}"} for i in range(len(v))]))
    store.finalize("dups")
    found = find_duplicates(store, "dups", 0.99)
    assert sorted(sorted(g.item_ids) for g in found.groups) == [
        sorted([f"i{i}", f"i{30 + i}"]) for i in range(4)
    ]
    monkeypatch.setattr(duplicates, "PAIRS_PER_POINT", 2)
    with pytest.raises(TooManyPairsError, match="Raise --threshold"):
        find_duplicates(store, "dups", 0.01)  # everything is a "duplicate" of everything


def test_a_group_larger_than_one_request_is_found_whole(store: VectorStore) -> None:
    """30 copies of one item: each has more near neighbours than a first request asks for, so
    the finder must ask again; every one of the 435 pairs is found."""
    rng = np.random.default_rng(12)
    base = l2_normalise(rng.standard_normal((31, 8)).astype(np.float32))
    copies = l2_normalise(base[:1] + rng.normal(0, 0.001, (30, 8))).astype(np.float32)
    v = np.concatenate([base[1:], copies]).astype(np.float32)
    store.ensure_collection(CollectionSpec("crowd", 8))
    ids = [point_id("toy", "train", i) for i in range(len(v))]
    store.upsert("crowd", PointBatch(ids, v, [{"item_id": f"i{i}"} for i in range(len(v))]))
    store.finalize("crowd")
    found = find_duplicates(store, "crowd", 0.995)
    assert duplicates.NEIGHBOURS < 29
    assert len(found.groups) == 1 and len(found.groups[0].ids) == 30
    assert len(found.pairs) == 30 * 29 // 2
