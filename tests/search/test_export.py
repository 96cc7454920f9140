"""The neighbour export, the same assertions on each backend: equal to brute force, equal to the
live queries with their options, and an incremental update equal to a full recompute."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from infra.store import PointBatch, StoreError, VectorStore, point_id
from infra.store.base import CollectionSpec, Condition
from model.metrics import l2_normalise
from search import export_delta
from search.export import ExportSpec
from search.export_file import file_metadata, points_path, reserve_path
from search.export_run import export_neighbours
from search.options import QueryOptions
from search.query import similar_to_items

N, DIM = 300, 16


def _points(n: int, seed: int) -> tuple[list[str], np.ndarray, list[dict[str, Any]]]:
    rng = np.random.default_rng(seed)
    v = l2_normalise(rng.standard_normal((n, DIM)).astype(np.float32))
    v[-10:] = l2_normalise(v[:10] + rng.normal(0, 0.002, (10, DIM)).astype(np.float32))
    ids = [point_id("toy", "catalog", i) for i in range(n)]
    payloads = [
        {"item_id": f"i{i}", "label": i % 4, "split": "train" if i % 3 else "test"}
        for i in range(n)
    ]
    return ids, v, payloads


FIELDS = {"item_id": "str", "label": "int", "split": "str"}


def _collection(
    store: VectorStore, name: str, seed: int = 1, named: bool = True
) -> tuple[list[str], np.ndarray]:
    """``named``: the metadata records that every payload has an item id, as the index flow's
    does, so the export's queries leave the hits' point ids out."""
    ids, v, payloads = _points(N, seed)
    store.ensure_collection(CollectionSpec(name, DIM, metadata={"fields": FIELDS} if named else {}))
    store.upsert(name, PointBatch(ids, v, payloads))
    store.finalize(name)
    return ids, v


def _rows(path: Path) -> list[tuple[str, int, str]]:
    t = pq.read_table(path)
    return sorted(
        zip(
            t["item_id"].to_pylist(),
            t["rank"].to_pylist(),
            t["neighbour_id"].to_pylist(),
            strict=True,
        )
    )


def _lists(path: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for item, _, other in _rows(path):
        out.setdefault(item, []).append(other)
    return out


@pytest.mark.parametrize("named", [True, False])
def test_the_export_equals_brute_force(store: VectorStore, tmp_path: Path, named: bool) -> None:
    _, v = _collection(store, "shop", named=named)
    out = tmp_path / "shop.parquet"
    done = export_neighbours(store, "shop", ExportSpec(QueryOptions(k=7)), out, ["csv", "jsonl"])
    sims = v @ v.T
    np.fill_diagonal(sims, -np.inf)
    top = np.argsort(-sims, axis=1)[:, :7]
    table = pq.read_table(out)
    got = _lists(out)
    assert done.items == N and done.rows == N * 7 == table.num_rows and done.computed == N
    assert got == {f"i{i}": [f"i{j}" for j in top[i]] for i in range(N)}
    first = table.filter(pc.equal(table["rank"], 1))
    scores = dict(zip(first["item_id"].to_pylist(), first["score"].to_pylist(), strict=True))
    assert scores["i5"] == pytest.approx(float(sims[5, top[5, 0]]), abs=1e-5)
    meta = file_metadata(out)
    assert meta["collection"] == store.resolve("shop") and meta["spec"]["k"] == 7
    assert [p.suffix for p in done.extra] == [".csv", ".jsonl"]
    assert len(done.extra[0].read_text().splitlines()) == N * 7 + 1  # and a header
    assert len(done.extra[1].read_text().splitlines()) == N * 7


def test_filters_same_dedup_and_the_cap_are_the_live_queries(
    store: VectorStore, tmp_path: Path
) -> None:
    _collection(store, "shop")
    opts = QueryOptions(
        k=5, where=(Condition("label", any_of=(0, 1, 2)),), max_per_label=2, dedup=0.99
    )
    spec = ExportSpec(opts, same=("split",))
    got = _lists(export_neighbours(store, "shop", spec, tmp_path / "e.parquet").path)
    payloads = {f"i{i}": p for i, p in enumerate(_points(N, 1)[2])}
    for item in ("i0", "i1", "i2", "i3", "i7"):
        live = similar_to_items(store, "shop", [item], spec.for_values((payloads[item]["split"],)))[
            0
        ]
        assert got[item] == [h.payload["item_id"] for h in live]
        labels = [payloads[o]["label"] for o in got[item]]
        assert set(labels) <= {0, 1, 2} and max(labels.count(x) for x in labels) <= 2
        assert {payloads[o]["split"] for o in got[item]} == {payloads[item]["split"]}
    # i0's copy (i290, cosine ~0.9999) is in its list once, never beside another copy
    assert not ({"i0", "i290"} <= set(got["i1"]))


def _change(store: VectorStore, name: str, how: str) -> None:
    ids, v, payloads = _points(N + 12, 1)
    if how == "grown":
        store.upsert(name, PointBatch(ids[N:], v[N:], payloads[N:]))
    elif how == "shrunk":
        store.delete(name, [ids[3], ids[40], ids[41], ids[150]])
    elif how == "hollowed":  # i0's five nearest removed: more than its list's reserve
        nearest = np.argsort(-(v[:N] @ v[0]))[1:6]
        store.delete(name, [ids[i] for i in nearest])
    else:  # two vectors moved, one item's label changed
        rng = np.random.default_rng(5)
        moved = l2_normalise(rng.standard_normal((2, DIM)).astype(np.float32))
        store.upsert(name, PointBatch([ids[7], ids[8]], moved, payloads[7:9]))
        store.upsert(name, PointBatch([ids[9]], v[9:10], [{**payloads[9], "label": 3}]))
    store.finalize(name)


@pytest.mark.parametrize("how", ["grown", "shrunk", "hollowed", "changed"])
@pytest.mark.parametrize("reverse_k", [export_delta.REVERSE_K, 2])
def test_an_incremental_export_equals_a_full_one(
    store: VectorStore, tmp_path: Path, how: str, reverse_k: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``reverse_k`` 2 cuts every new item's self-query short, so the lists it cannot see are
    found from the stored vectors instead."""
    monkeypatch.setattr(export_delta, "REVERSE_K", reverse_k)
    _collection(store, "old")
    for opts in (QueryOptions(k=6), QueryOptions(k=4, max_per_label=1, dedup=0.99)):
        spec = ExportSpec(opts)
        before = export_neighbours(store, "old", spec, tmp_path / f"old-{opts.k}.parquet")
        _collection(store, f"new-{opts.k}")  # the same points (a server copies nothing)
        _change(store, f"new-{opts.k}", how)
        full = export_neighbours(store, f"new-{opts.k}", spec, tmp_path / "full.parquet")
        update = export_neighbours(
            store, f"new-{opts.k}", spec, tmp_path / "update.parquet", previous=before.path
        )
        assert update.previous == store.resolve("old")
        assert _rows(update.path) == _rows(full.path)
        assert (update.items, update.rows) == (full.items, full.rows)
        if reverse_k > 2:  # the few lists a small change reaches, not all of them
            assert 0 < update.computed + update.repaired < N // 2
        # A plain top-k keeps a reserve: the lists an item left are repaired from it, not
        # asked again; dedup and the cap keep none.
        assert (update.repaired > 0) == (spec.reserve > 0)
        if how == "shrunk" and spec.reserve:
            assert update.computed == 0


def test_an_update_takes_only_its_own_exports_reserve(store: VectorStore, tmp_path: Path) -> None:
    _collection(store, "old")
    spec = ExportSpec(QueryOptions(k=6))
    first = export_neighbours(store, "old", spec, tmp_path / "a.parquet")
    other = export_neighbours(store, "old", spec, tmp_path / "b.parquet")
    assert reserve_path(first.path).is_file() and first.rows == 6 * N
    os.replace(reserve_path(other.path), reserve_path(first.path))  # another export's reserve
    _collection(store, "new")
    _change(store, "new", "shrunk")
    full = export_neighbours(store, "new", spec, tmp_path / "full.parquet")
    update = export_neighbours(store, "new", spec, tmp_path / "u.parquet", previous=first.path)
    assert update.repaired == 0 and update.computed > 0
    assert _rows(update.path) == _rows(full.path)


def test_a_collection_written_in_place_is_compared_with_what_its_export_saw(
    store: VectorStore, tmp_path: Path
) -> None:
    """A server re-indexes a served collection in place: the update compares it with the
    points its earlier export recorded; an export that recorded none is not updated."""
    _collection(store, "shop")
    spec = ExportSpec(QueryOptions(k=6))
    first = export_neighbours(store, "shop", spec, tmp_path / "a.parquet")
    _change(store, "shop", "changed")
    full = export_neighbours(store, "shop", spec, tmp_path / "full.parquet")
    update = export_neighbours(store, "shop", spec, tmp_path / "u.parquet", previous=first.path)
    assert update.previous == store.resolve("shop") and 0 < update.computed < N // 2
    assert _rows(update.path) == _rows(full.path)
    points_path(first.path).unlink()
    again = export_neighbours(store, "shop", spec, tmp_path / "v.parquet", previous=first.path)
    assert again.previous is None and _rows(again.path) == _rows(full.path)


def test_an_export_of_another_spec_is_not_reused(store: VectorStore, tmp_path: Path) -> None:
    _collection(store, "shop")
    first = export_neighbours(store, "shop", ExportSpec(QueryOptions(k=3)), tmp_path / "a.parquet")
    again = export_neighbours(
        store, "shop", ExportSpec(QueryOptions(k=4)), tmp_path / "b.parquet", previous=first.path
    )
    assert again.previous is None and again.computed == N and again.rows == 4 * N
    same = export_neighbours(
        store, "shop", ExportSpec(QueryOptions(k=3)), tmp_path / "c.parquet", previous=first.path
    )
    assert same.computed == 0 and _rows(same.path) == _rows(first.path)


def test_an_interrupted_export_leaves_the_file_it_replaces(
    store: VectorStore, tmp_path: Path
) -> None:
    _collection(store, "shop")
    out = tmp_path / "shop.parquet"
    spec = ExportSpec(QueryOptions(k=3))
    export_neighbours(store, "shop", spec, out)
    before = out.read_bytes()

    def interrupt(done: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        export_neighbours(
            store, "shop", dataclasses.replace(spec, same=("split",)), out, progress=interrupt
        )
    assert out.read_bytes() == before
    assert not list(tmp_path.glob("*partial*"))  # nor half of the new one


def test_bad_export_requests_are_named(store: VectorStore, tmp_path: Path) -> None:
    _collection(store, "shop")
    with pytest.raises(StoreError, match="no payload field 'colour' to match on"):
        export_neighbours(
            store, "shop", ExportSpec(QueryOptions(), same=("colour",)), tmp_path / "a.parquet"
        )
    with pytest.raises(StoreError, match=r"not 'a\.txt'"):
        export_neighbours(store, "shop", ExportSpec(QueryOptions()), tmp_path / "a.txt")
    with pytest.raises(StoreError, match="k, a filter, dedup and the per-label cap only"):
        ExportSpec(QueryOptions(offset=3))
