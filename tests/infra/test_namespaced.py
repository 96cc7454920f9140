"""The server case's namespace: a test on a shared Qdrant server neither sees nor removes what
others keep there (the ``store`` below stands in for such a server, holding someone's index)."""

from __future__ import annotations

import numpy as np
import pytest

from infra.store import PointBatch, StoreError, VectorStore, point_id
from infra.store.base import CollectionSpec
from tests.infra.namespaced import NamespacedStore, drop_namespace


def _fill(store: VectorStore, name: str, n: int, dim: int) -> None:
    store.ensure_collection(CollectionSpec(name, dim))
    vectors = np.eye(n, dim, dtype=np.float32) + 0.1
    ids = [point_id("toy", "train", i) for i in range(n)]
    store.upsert(name, PointBatch(ids, vectors, [{"item_id": f"train-{i}"} for i in range(n)]))
    store.finalize(name)


def test_a_namespace_sees_and_drops_only_what_it_made(store: VectorStore) -> None:
    _fill(store, "items", 3, 4)  # someone else's index and alias, there before the test
    store.set_alias("served", "items")

    mine = NamespacedStore(store, "t1-")
    assert mine.list_collections() == [] and mine.aliases() == {}
    assert not mine.has_collection("items") and not mine.has_collection("served")
    _fill(mine, "items", 2, 8)  # the same name, another dimension: no clash
    mine.set_alias("served", "items")
    assert mine.list_collections() == ["items"]
    assert mine.aliases() == {"served": "items"} and mine.resolve("served") == "items"
    assert mine.count("served") == 2 and mine.dimension("items") == 8
    assert store.count("served") == 3 and store.dimension("items") == 4
    with pytest.raises(StoreError, match="no collection or alias 'nope'"):
        mine.count("nope")  # messages name what the test asked for, without the prefix
    with pytest.raises(AttributeError, match="does not translate"):
        mine.client  # noqa: B018 - what the namespace cannot translate is refused, not bypassed

    assert sorted(drop_namespace(store, "t1-")) == ["t1-items", "t1-served"]
    assert store.list_collections() == ["items"]
    assert store.aliases() == {"served": "items"}
    assert store.count("served") == 3
