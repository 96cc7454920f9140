"""Which photos make one product: a folder per product, a manifest's ``product_id`` or a JSON
Lines row listing its photos; a catalog of one photo a product writes no product field."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from PIL import Image

from catalogs.files import check_items, read_catalog
from catalogs.products import PRODUCT, assign_products
from catalogs.sample import write_sample_catalog
from model.data import Split


def _png(path: Path, colour: tuple[int, int, int] = (200, 0, 0)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (12, 12), colour).save(path)


def _products(root: Path) -> dict[str, str | None]:
    good, _ = check_items(read_catalog(root)[0])
    return {i.item_id: i.attrs.get(PRODUCT) for i in assign_products(good)}  # type: ignore[misc]


def test_a_folder_per_product(tmp_path: Path) -> None:
    _png(tmp_path / "shoes" / "sku-1" / "front.png")
    _png(tmp_path / "shoes" / "sku-1" / "back.png")
    _png(tmp_path / "shoes" / "sku-2.png")
    assert _products(tmp_path) == {
        "shoes/sku-1/back": "shoes/sku-1",
        "shoes/sku-1/front": "shoes/sku-1",
        "shoes/sku-2": "shoes/sku-2",  # a lone photo is its own product
    }


def test_manifest_rows_and_lists_of_paths(tmp_path: Path) -> None:
    for name in ("a", "b", "c", "d"):
        _png(tmp_path / f"{name}.png")
    rows = [
        {"path": "a.png", "item_id": "a", "product_id": "coat"},
        {"path": "b.png", "item_id": "b", "product_id": "coat"},
        {"path": ["c.png", "d.png"], "item_id": "scarf", "colour": "red"},
    ]
    (tmp_path / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    good, _ = check_items(read_catalog(tmp_path)[0])
    photos = {i.item_id: i for i in assign_products(good)}
    assert {k: v.attrs[PRODUCT] for k, v in photos.items()} == {
        "a": "coat",
        "b": "coat",
        "scarf/1": "scarf",
        "scarf/2": "scarf",
    }
    assert photos["scarf/2"].attrs["colour"] == "red"  # the row's attributes go to each photo


def test_one_photo_a_product_writes_no_product_field(tmp_path: Path) -> None:
    _png(tmp_path / "a.png")
    _png(tmp_path / "b.png")
    rows = [{"path": "a.png", "product_id": "x"}, {"path": "b.png", "product_id": "y"}]
    (tmp_path / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert _products(tmp_path) == {"a": None, "b": None}


def test_the_sample_catalog_has_products_of_two_to_four_photos(tmp_path: Path) -> None:
    images = torch.randint(0, 256, (12, 28, 28), dtype=torch.uint8)
    sample = write_sample_catalog(
        Split("test", images, torch.arange(12) % 10), tmp_path, n=12, size=24, photos=4
    )
    sizes = {len(v) for v in sample.products.values()}
    assert sizes == {2, 3, 4}
    found = _products(tmp_path)
    assert set(sample.good) <= set(found)
    assert all(found[photo] == sku for sku, ps in sample.products.items() for photo in ps)
    views = {photo.split("/")[1] for ps in sample.products.values() for photo in ps}
    assert views == {"front", "mirrored", "closer", "light", "beside"}
