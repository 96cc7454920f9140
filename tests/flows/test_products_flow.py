"""A catalog of products with several photos, indexed end to end (ResNet-18 at random init,
32 px) and re-indexed as a product loses a photo and another gains one."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalogs.sample import product_shot, write_sample_catalog
from flows.pipeline import pipeline
from infra.settings import Settings
from infra.store import open_store
from model.data import load_split, resolve_root
from search.metadata import read_meta
from search.options import QueryOptions
from search.query import similar_to_item
from tests.manifests import manifest_rows, rewrite_manifest

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_api")]


def test_products_lose_and_gain_photos_on_reindex(
    data_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    home = tmp_path_factory.mktemp("home")
    test = load_split(resolve_root(data_root, home / "data"), "test")
    sample = write_sample_catalog(
        test, tmp_path_factory.mktemp("shop"), n=30, size=32, broken=False, photos=4
    )
    settings = Settings(
        home=home, catalog=sample.root, weights="none", image_size=32, progress=False
    )
    first = pipeline(settings)
    photos = sum(map(len, sample.products.values()))
    assert first.points == photos and first.decision.promoted
    with open_store(settings.store, read_only=True) as store:
        assert read_meta(store, first.collection).photos_per_product == 4
        hits = similar_to_item(store, first.collection, "sku-00002", QueryOptions(k=10))
        found = [h.payload["product_id"] for h in hits]
        assert len(found) == 10 == len(set(found)) and "sku-00002" not in found
    # sku-00002 (4 photos) loses two; sku-00000 (2 photos) gains one.
    lost = sample.products["sku-00002"][2:]
    rows = manifest_rows(sample.root)
    gained = dict(next(r for r in rows if r["item_id"] == "sku-00000/front"))
    path = Path(gained["path"]).with_name("extra.png")
    product_shot(test.images[0].numpy(), (250, 120, 0), 32).save(sample.root / path)
    gained |= {"item_id": "sku-00000/extra", "path": path.as_posix()}
    rewrite_manifest(sample.root, set(lost), [gained])
    second = pipeline(settings)
    assert second.points == photos - 1 and second.embedded == 1
    with open_store(settings.store, read_only=True) as store:
        name = settings.served_alias
        assert store.resolve(name) == second.collection
        ids = store.find_ids(name, [], limit=1000)
        by_product: dict[str, set[str]] = {}
        for p in store.payloads(name, ids).values():
            by_product.setdefault(p["product_id"], set()).add(p["item_id"])
        assert by_product["sku-00002"] == set(sample.products["sku-00002"][:2])
        assert "sku-00000/extra" in by_product["sku-00000"] and len(by_product["sku-00000"]) == 3
        # The product's new photo asks for others, never for its own product.
        hits = similar_to_item(store, name, "sku-00000/extra", QueryOptions(k=5))
        assert "sku-00000" not in [h.payload["product_id"] for h in hits]
