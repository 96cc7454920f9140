"""A run's writer holds one embedded store open; afterwards the collection is free again."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from infra.settings import Settings
from infra.store import PointBatch, held_store, open_store, point_id
from infra.store.base import CollectionSpec


def test_held_store_is_shared_inside_and_released_after(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    with held_store(settings.store):
        first = open_store(settings.store)
        first.ensure_collection(CollectionSpec("items", 4))
        first.upsert(
            "items",
            PointBatch(
                ids=[point_id("toy", "train", 0)],
                vectors=np.ones((1, 4), dtype=np.float32) / 2,
                payloads=[{"label": 1}],
            ),
        )
        first.close()  # only flushes while held
        second = open_store(settings.store)
        assert second is first
        assert second.count("items") == 1
    # Released: a new store (another process, in production) can open the collection.
    after = open_store(settings.store)
    try:
        assert after is not first and after.count("items") == 1
    finally:
        after.close()
