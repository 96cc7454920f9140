"""How a query filtered by a value the graph answers badly is served: with the beam the
collection's check found for it, or by a scan; other queries as they were asked. The check itself
runs on a real collection in tests/infra/test_filtered_recall.py."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np

from infra.store.base import (
    CollectionSpec,
    Condition,
    Hit,
    IndexParams,
    PointBatch,
    Search,
    point_id,
)
from infra.store.edge import EdgeStore
from infra.store.protocol import VectorStore
from model.metrics import l2_normalise
from search.export import ExportSpec
from search.export_run import export_neighbours
from search.filter_check import matches, served_right
from search.metadata import CollectionMeta, WeakFilter, write_meta
from search.options import QueryOptions
from search.query import ByItem, ByVector, ask

META = CollectionMeta(
    weak_filters={
        "label": {
            "3": WeakFilter(recall=0.66, hnsw_ef=1024),
            "4": WeakFilter(recall=0.6, hnsw_ef=2048),
        },
        "colour": {"red": WeakFilter(recall=0.5, hnsw_ef=None)},
    }
)


def _served(*where: Condition, hnsw_ef: int | None = None) -> QueryOptions:
    return served_right(QueryOptions(where=where, hnsw_ef=hnsw_ef), META)


def test_a_weak_value_walks_with_its_beam_the_widest_of_several() -> None:
    assert _served(Condition.equals("label", 3)).hnsw_ef == 1024
    assert _served(Condition("label", any_of=(1, 3, 4))).hnsw_ef == 2048
    assert not _served(Condition.equals("label", 3)).scan


def test_a_query_asking_its_own_beam_gets_it() -> None:
    for beam in (64, 4096):
        served = _served(
            Condition.equals("label", 3), Condition.equals("colour", "red"), hnsw_ef=beam
        )
        assert served.hnsw_ef == beam and not served.scan


def test_a_value_no_beam_served_is_scanned() -> None:
    served = _served(Condition.equals("label", 3), Condition.equals("colour", "red"))
    assert served.scan and served.search().scan


def test_other_filters_and_collections_without_weak_values_are_left_alone() -> None:
    for where in [(), (Condition.equals("label", 5),), (Condition("label", none_of=(3,)),)]:
        opts = QueryOptions(where=where)
        assert served_right(opts, META) is opts
    opts = QueryOptions(where=(Condition.equals("label", 3),))
    assert served_right(opts, CollectionMeta()) is opts


def test_a_query_among_the_values_own_points_keeps_the_stores_beam() -> None:
    label_3 = QueryOptions(where=(Condition.equals("label", 3),))
    assert served_right(label_3, META, lambda: {"label": 3}) is label_3
    assert served_right(label_3, META, lambda: {"label": 5}).hnsw_ef == 1024
    assert served_right(label_3, META, lambda: None).hnsw_ef == 1024  # nothing near: walk wide
    both = QueryOptions(where=(Condition.equals("label", 3), Condition.equals("colour", "red")))
    assert served_right(both, META, lambda: {"label": 3}).scan  # not among red points


def test_a_weak_value_narrowed_under_the_collections_line_is_left_to_the_planner() -> None:
    def never() -> int:
        raise AssertionError("counted")

    meta = META.model_copy(update={"filter_line": 500})
    label_3 = QueryOptions(where=(Condition.equals("label", 3),))
    assert served_right(label_3, meta, None, never).hnsw_ef == 1024  # the value alone: no count
    both = QueryOptions(where=(Condition.equals("label", 3), Condition.equals("season", 2)))
    assert served_right(both, meta, None, lambda: 200) is both
    assert served_right(both, meta, None, lambda: 501).hnsw_ef == 1024
    assert served_right(both, META, None, lambda: 200).hnsw_ef == 1024  # no line recorded


def test_a_filters_count_is_asked_once_while_the_collections_content_is_the_same(
    tmp_path: Path,
) -> None:
    store = _toy(tmp_path)
    counted: list[tuple[Condition, ...]] = []

    def count(name: str, where: Sequence[Condition] = ()) -> int:
        counted.append(tuple(where))
        return store.count(name, where)

    spy = _Spy(store)
    spy.count = count  # type: ignore[method-assign]
    where = (Condition.equals("label", 1), Condition.equals("size", 0))
    made = CollectionMeta(complete=True, items_digest="a")
    changed = CollectionMeta(complete=True, items_digest="b")
    being_written = CollectionMeta(complete=False, items_digest="a")
    for meta in (made, made, changed, being_written, being_written):
        assert matches(cast(VectorStore, spy), "c", meta, where) == 4
    assert len(counted) == 4  # the second ask of the made collection was remembered
    store.close()


def test_where_nothing_is_weak_the_query_is_not_probed() -> None:
    def never() -> None:
        raise AssertionError("probed")

    opts = QueryOptions(where=(Condition.equals("label", 5),))
    assert served_right(opts, META, never) is opts


class _Spy:
    """A real store that remembers the searches asked of it by point."""

    def __init__(self, inner: VectorStore) -> None:
        self.inner = inner
        self.asked: list[Search] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def query_points(
        self, name: str, ids: Sequence[str], search: Search, vectors: np.ndarray | None = None
    ) -> list[list[Hit]]:
        self.asked.append(search)
        return self.inner.query_points(name, ids, search, vectors)

    def query(self, name: str, vectors: np.ndarray, search: Search) -> list[list[Hit]]:
        self.asked.append(search)
        return self.inner.query(name, vectors, search)


def _toy(root: Path) -> EdgeStore:
    """40 points, label 1 on the odd ones, recorded weak with a beam of 512; a line of 10."""
    store = EdgeStore(root, IndexParams())
    vectors = l2_normalise(np.random.default_rng(0).standard_normal((40, 8)).astype(np.float32))
    store.ensure_collection(CollectionSpec("c", 8, (), ("label", "size")))
    ids = [point_id("toy", "train", i) for i in range(40)]
    payloads = [{"item_id": f"i{i}", "label": i % 2, "size": i % 5} for i in range(40)]
    store.upsert("c", PointBatch(ids, vectors, payloads))
    store.finalize("c")
    weak = {"label": {"1": WeakFilter(recall=0.5, hnsw_ef=512)}}
    write_meta(store, "c", weak_filters=weak, filter_line=10)
    return store


def test_an_item_among_the_values_points_keeps_the_stores_beam(tmp_path: Path) -> None:
    store = _toy(tmp_path)
    spy = _Spy(store)
    opts = QueryOptions(k=5, where=(Condition.equals("label", 1),))
    for item, beam in (("i1", None), ("i2", 512)):  # i1 has label 1, i2 label 0
        hits = ask(cast(VectorStore, spy), "c", ByItem(item), opts)
        assert spy.asked[-1].hnsw_ef == beam and {h.payload["label"] for h in hits} == {1}
    # A photo: its nearest item has label 1, or not (one unfiltered search tells).
    for item, beam in ((1, None), (2, 512)):
        vector = store.vectors("c", [point_id("toy", "train", item)])
        hits = ask(cast(VectorStore, spy), "c", ByVector(next(iter(vector.values()))), opts)
        assert spy.asked[-1].hnsw_ef == beam and {h.payload["label"] for h in hits} == {1}
    # Label 1 of size 0 is four points, under the line: the planner scans them.
    narrow = QueryOptions(k=3, where=(Condition.equals("label", 1), Condition.equals("size", 0)))
    hits = ask(cast(VectorStore, spy), "c", ByItem("i2"), narrow)
    assert spy.asked[-1].hnsw_ef is None and {h.payload["size"] for h in hits} == {0}
    store.close()


def test_the_export_serves_a_weak_value_as_the_live_queries_do(tmp_path: Path) -> None:
    store = _toy(tmp_path / "store")
    spy = _Spy(store)
    spec = ExportSpec(QueryOptions(k=5, where=(Condition.equals("label", 1),), hnsw_ef=64))
    done = export_neighbours(cast(VectorStore, spy), "c", spec, tmp_path / "out.parquet")
    assert done.items == 40
    # Items of label 1 keep the export's own beam; the others walk at the recorded one.
    assert sorted(s.hnsw_ef or 0 for s in spy.asked) == [64, 512]
    store.close()
