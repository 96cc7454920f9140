"""The promotion task's body (``task.fn``, no Prefect run): through the gate, or served at once
when a catalog has no labels to measure; the alias moves only when it should."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from infra.settings import Settings
from infra.store import PointBatch, open_store, point_id
from infra.store.base import CollectionSpec
from search.metadata import write_meta
from search.promotion import Decision
from tasks.serving import judge_index, promote_index


def _collection(settings: Settings, name: str, precision_at_1: float | None) -> None:
    with open_store(settings.store) as store:
        store.ensure_collection(CollectionSpec(name, 4))
        ids = [point_id("toy", "train", i) for i in range(3)]
        store.upsert(name, PointBatch(ids, np.eye(3, 4, dtype=np.float32), [{}] * 3))
        store.finalize(name)
        if precision_at_1 is not None:
            write_meta(store, name, metrics={"precision_at_1": precision_at_1}, complete=True)


def _served(settings: Settings) -> str | None:
    with open_store(settings.store) as store:
        return store.aliases().get(settings.served_alias)


def _promote(settings: Settings, name: str, gated: bool = True) -> Decision:
    return promote_index.fn(settings, name, judge_index.fn(settings, name, gated))


def test_the_gate_decides_and_the_alias_follows(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    _collection(settings, "toy-a", 0.90)
    first = _promote(settings, "toy-a")
    assert first.promoted and first.previous is None and _served(settings) == "toy-a"

    _collection(settings, "toy-b", 0.50)  # far below the served one and the floor
    worse = _promote(settings, "toy-b")
    assert not worse.promoted and "below" in worse.reason and _served(settings) == "toy-a"

    _collection(settings, "toy-c", 0.91)
    judged = judge_index.fn(settings, "toy-c")  # judging alone moves nothing
    assert judged.promoted and _served(settings) == "toy-a"
    better = _promote(settings, "toy-c")
    assert better.promoted and better.previous == "toy-a" and _served(settings) == "toy-c"


def test_a_catalog_without_labels_is_served_once_complete(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    _collection(settings, "shop-a", None)
    decision = _promote(settings, "shop-a", gated=False)
    assert decision.promoted and "no labels" in decision.reason and _served(settings) == "shop-a"
