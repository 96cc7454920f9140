"""Products with several photos, on each backend: one hit per product (its best photo), the
asking product left out, a product id asking with all its photos; checked against numpy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from infra.store import NotFoundError, PointBatch, VectorStore, point_id
from infra.store.base import CollectionSpec
from model.metrics import l2_normalise
from search.duplicates import find_duplicates
from search.export import ExportSpec
from search.export_file import read_export
from search.export_run import export_neighbours
from search.options import QueryOptions
from search.query import recommend, similar_to_item, similar_to_items, similar_to_vector

PRODUCTS, DIM = 40, 8
PHOTOS = [1 + p % 4 for p in range(PRODUCTS)]  # 1 to 4 photos a product


@pytest.fixture
def photos(store: VectorStore) -> tuple[np.ndarray, list[str]]:
    return _shop(store, "shop")


def _shop(store: VectorStore, name: str) -> tuple[np.ndarray, list[str]]:
    """Each product's photos near one centre of its own, so they crowd one another's hits."""
    rng = np.random.default_rng(5)
    centres = rng.standard_normal((PRODUCTS, DIM))
    rows, products = [], []
    for p, n in enumerate(PHOTOS):
        for _ in range(n):
            rows.append(centres[p] + 0.15 * rng.standard_normal(DIM))
            products.append(f"p{p}")
    v = l2_normalise(np.asarray(rows, dtype=np.float32))
    meta = {"photos_per_product": max(PHOTOS), "dataset": "shop", "kind": "files"}
    spec = CollectionSpec(name, DIM, keyword_fields=("item_id", "product_id"), metadata=meta)
    store.ensure_collection(spec)
    ids = [point_id("shop", "catalog", f"photo-{i}") for i in range(len(v))]
    payloads = [
        {"item_id": f"photo-{i}", "product_id": products[i], "split": "catalog"}
        for i in range(len(v))
    ]
    store.upsert(name, PointBatch(ids, v, payloads))
    store.finalize(name)
    return v, products


def _by_product(scores: np.ndarray, products: list[str], leave_out: set[str]) -> list[str]:
    """Products by their best photo's score, best first: what grouping must answer."""
    best: dict[str, float] = {}
    for s, p in zip(scores, products, strict=True):
        if p not in leave_out:
            best[p] = max(best.get(p, -2.0), float(s))
    return sorted(best, key=lambda p: -best[p])


def _products(hits: list) -> list[str]:
    return [h.payload["product_id"] for h in hits]


def test_one_hit_per_product_its_best_photo(
    store: VectorStore, photos: tuple[np.ndarray, list[str]]
) -> None:
    v, products = photos
    query = v[5]
    hits = similar_to_vector(store, "shop", query, QueryOptions(k=10))
    assert _products(hits) == _by_product(v @ query, products, set())[:10]
    for h in hits:  # each hit is its product's best photo
        own = [i for i, p in enumerate(products) if p == h.payload["product_id"]]
        assert h.payload["item_id"] == f"photo-{max(own, key=lambda i: v[i] @ query)}"
    page = similar_to_vector(store, "shop", query, QueryOptions(k=5, offset=5))
    assert _products(page) == _products(hits)[5:]


def test_a_photo_asks_and_its_product_is_left_out(
    store: VectorStore, photos: tuple[np.ndarray, list[str]]
) -> None:
    v, products = photos
    asking = products.index("p3")  # p3 has 4 photos: its other three would come first
    hits = similar_to_item(store, "shop", f"photo-{asking}", QueryOptions(k=8))
    assert len(hits) == 8
    assert _products(hits) == _by_product(v @ v[asking], products, {"p3"})[:8]


def test_a_product_asks_with_all_its_photos(
    store: VectorStore, photos: tuple[np.ndarray, list[str]]
) -> None:
    v, products = photos
    own = [i for i, p in enumerate(products) if p == "p7"]
    query = l2_normalise(v[own].mean(0, keepdims=True))[0]
    hits = similar_to_item(store, "shop", "p7", QueryOptions(k=6))
    assert _products(hits) == _by_product(v @ query, products, {"p7"})[:6]
    # In a batch too, and a photo id beside it.
    both = similar_to_items(store, "shop", ["p7", f"photo-{own[0]}"], QueryOptions(k=6))
    assert _products(both[0]) == _products(hits)
    assert "p7" not in _products(both[1])
    with pytest.raises(NotFoundError, match="unknown item id 'p999'"):
        similar_to_item(store, "shop", "p999")


def test_recommending_leaves_the_liked_and_disliked_products_out(
    store: VectorStore, photos: tuple[np.ndarray, list[str]]
) -> None:
    _, products = photos
    liked, disliked = ["p3", f"photo-{products.index('p9')}"], ["p11"]
    hits = recommend(store, "shop", liked, disliked, opts=QueryOptions(k=10))
    assert len(hits) == 10
    assert not {"p3", "p9", "p11"} & set(_products(hits))
    assert len(set(_products(hits))) == 10


def test_a_products_own_photos_are_not_its_duplicates(store: VectorStore) -> None:
    rng = np.random.default_rng(9)
    base = l2_normalise(rng.standard_normal((3, DIM)).astype(np.float32))
    # a: two identical photos; b's one photo is a's copy; c stands apart.
    v = np.stack([base[0], base[0], base[0], base[2]])
    meta = {"photos_per_product": 2, "dataset": "shop", "kind": "files"}
    spec = CollectionSpec("dups", DIM, keyword_fields=("item_id", "product_id"), metadata=meta)
    store.ensure_collection(spec)
    named = [("a/1", "a"), ("a/2", "a"), ("b/1", "b"), ("c/1", "c")]
    ids = [point_id("shop", "catalog", i) for i, _ in named]
    payloads = [{"item_id": i, "product_id": p, "split": "catalog"} for i, p in named]
    store.upsert("dups", PointBatch(ids, v, payloads))
    store.finalize("dups")
    found = find_duplicates(store, "dups", 0.99, hnsw_ef=None)
    assert [sorted(g.item_ids) for g in found.groups] == [["a/1", "a/2", "b/1"]]
    assert len(found.pairs) == 2  # a/1-b/1 and a/2-b/1, never a/1-a/2


def test_the_export_lists_other_products_and_updates_as_photos_come_and_go(
    store: VectorStore, tmp_path: Path
) -> None:
    v, products = _shop(store, "before")
    product = {f"photo-{i}": p for i, p in enumerate(products)} | {"photo-new": "p5"}
    spec = ExportSpec(QueryOptions(k=5))
    before = export_neighbours(store, "before", spec, tmp_path / "before.parquet")
    lists = _lists(before.path)
    for photo in ("photo-0", "photo-7"):
        expected = [h.payload["item_id"] for h in similar_to_item(store, "before", photo)][:5]
        assert lists[photo] == expected
    _shop(store, "after")
    gone = point_id("shop", "catalog", "photo-7")  # p3 loses a photo, p5 gains one
    store.delete("after", [gone])
    new = point_id("shop", "catalog", "photo-new")
    payload = {"item_id": "photo-new", "product_id": "p5", "split": "catalog"}
    store.upsert("after", PointBatch([new], v[[3]], [payload]))
    store.finalize("after")
    full = export_neighbours(store, "after", spec, tmp_path / "full.parquet")
    update = export_neighbours(
        store, "after", spec, tmp_path / "update.parquet", previous=before.path
    )
    assert update.previous == store.resolve("before")
    assert _lists(update.path) == _lists(full.path)
    for item, listed in _lists(full.path).items():  # each product once, never the item's own
        shown = [product[i] for i in listed]
        assert len(set(shown)) == len(shown) == 5 and product[item] not in shown


def _lists(path: Path) -> dict[str, list[str]]:
    table = read_export(path).to_pylist()
    out: dict[str, list[str]] = {}
    for row in sorted(table, key=lambda r: (r["item_id"], r["rank"])):
        out.setdefault(row["item_id"], []).append(row["neighbour_id"])
    return out
