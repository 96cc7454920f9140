"""Reading and checking catalogs: folders, manifests, typed attributes, every kind of bad file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from catalogs.files import (
    CatalogError,
    CatalogImages,
    check_items,
    enrich,
    fingerprint,
    label_names,
    read_catalog,
    typed,
)
from catalogs.sample import write_sample_catalog
from catalogs.seasons import parse_season, season_of
from model.data import Split
from model.images import ImageError, decode_rgb


def _png(
    path: Path, colour: tuple[int, int, int] = (200, 0, 0), size: tuple[int, int] = (20, 10)
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)
    return path


def _split(n: int = 40) -> Split:
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 28, 28), generator=g, dtype=torch.uint8)
    return Split("test", images, torch.arange(n) % 10)


def test_folder_tree_gives_ids_labels_and_skips_other_files(tmp_path: Path) -> None:
    _png(tmp_path / "shoes" / "a.png")
    _png(tmp_path / "shoes" / "deep" / "b.jpg")
    _png(tmp_path / "loose.webp")
    (tmp_path / "shoes" / "notes.txt").write_text("not an image")
    items, problems = read_catalog(tmp_path)
    assert problems == []
    assert [(i.item_id, i.label) for i in items] == [
        ("loose", None),
        ("shoes/a", "shoes"),
        ("shoes/deep/b", "shoes"),
    ]


def test_csv_manifest_types_attributes_and_derives_seasons(tmp_path: Path) -> None:
    _png(tmp_path / "img" / "1.png")
    _png(tmp_path / "img" / "2.png")
    (tmp_path / "manifest.csv").write_text(
        "path,item_id,label,price,stock,sale,colour,date,season\n"
        "img/1.png,sku-1,shirt,19.5,3,true,red,2026-07-02,\n"
        "img/2.png,,dress,5,0,false,blue,,Fall\n"
        ",sku-3,dress,1,1,true,red,,\n"
    )
    items, problems = read_catalog(tmp_path)
    assert [i.item_id for i in items] == ["sku-1", "img/2"]
    assert items[0].attrs == {
        "price": 19.5,
        "stock": 3,
        "sale": True,
        "colour": "red",
        "date": "2026-07-02",
        "season": "summer",
    }
    assert items[1].attrs["season"] == "autumn" and items[1].label == "dress"
    assert [(p.item_id, p.path, "no 'path'" in p.reason) for p in problems] == [
        ("sku-3", "manifest.csv:4", True)
    ]


def test_jsonl_manifest_reports_bad_lines(tmp_path: Path) -> None:
    _png(tmp_path / "a.png")
    manifest = tmp_path / "items.jsonl"
    lines = [
        json.dumps({"path": "a.png", "item_id": "a", "price": 3, "season": "winter"}),
        "{not json",
        json.dumps({"path": "a.png", "item_id": "b", "season": "monsoon"}),
    ]
    manifest.write_text("\n".join(lines) + "\n")
    items, problems = read_catalog(manifest)
    assert [(i.item_id, i.attrs) for i in items] == [("a", {"price": 3, "season": "winter"})]
    assert [p.path for p in problems] == ["items.jsonl:2", "items.jsonl:3"]
    assert "not JSON" in problems[0].reason and "unknown season" in problems[1].reason


def test_whole_catalog_errors_name_the_fix(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="no catalog at"):
        read_catalog(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CatalogError, match="no images found"):
        read_catalog(tmp_path / "empty")
    (tmp_path / "manifest.csv").write_text("path,split\na.png,train\n")
    with pytest.raises(CatalogError, match="'split' is reserved"):
        read_catalog(tmp_path)


def test_every_kind_of_bad_file_is_reported_and_the_rest_kept(tmp_path: Path) -> None:
    sample = write_sample_catalog(_split(), tmp_path, n=40, size=32)
    items, problems = read_catalog(tmp_path)
    good, bad = check_items(items)
    assert problems == []
    assert [i.item_id for i in good] == sample.good
    reported = {Path(p.path).name: p.reason for p in bad}
    assert set(reported) == set(sample.bad)
    for name, why in sample.bad.items():
        assert why in reported[name], (name, reported[name])


def test_check_cache_is_consulted_and_fingerprint_follows_content(tmp_path: Path) -> None:
    path = _png(tmp_path / "x" / "a.png")
    items, _ = read_catalog(tmp_path)
    cache: dict[str, object] = {}
    good, _ = check_items(items, cache)
    assert len(cache) == 1 and len(good) == 1
    before = fingerprint(good)
    key = next(iter(cache))
    cache[key] = ["0" * 40, "remembered verdict"]  # an unchanged file is not decoded again
    assert check_items(items, cache)[1][0].reason == "remembered verdict"
    _png(path, colour=(0, 0, 200))
    good2, _ = check_items(items, {})
    assert fingerprint(good2) != before


def test_seasons() -> None:
    assert season_of(1) == "winter" and season_of(7) == "summer"
    assert season_of(7, "south") == "winter" and season_of(10, "south") == "spring"
    assert parse_season(" Fall ") == "autumn"
    with pytest.raises(ValueError, match="known seasons"):
        parse_season("monsoon")
    assert enrich({"date": "2026-12-24T10:00:00", "colour": ""}) == {
        "date": "2026-12-24T10:00:00",
        "season": "winter",
    }
    assert typed(" 7 ") == 7 and typed("7.5") == 7.5 and typed("False") is False


def test_decode_rgb_letterboxes_on_white_and_composites_transparency(tmp_path: Path) -> None:
    wide = _png(tmp_path / "wide.png", colour=(0, 0, 0), size=(40, 20))
    x = decode_rgb(wide, 20)
    assert x.shape == (3, 20, 20) and x.dtype == torch.uint8
    assert int(x[:, 0, :].min()) == 255 and int(x[:, 10, :].max()) == 0  # white bars, black body
    rgba = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    path = tmp_path / "clear.png"
    rgba.save(path)
    assert int(decode_rgb(path, 8).min()) == 255
    assert decode_rgb(wide, 16, channels=1).shape == (1, 16, 16)
    Image.new("CMYK", (4, 4)).save(tmp_path / "c.jpg")
    with pytest.raises(ImageError, match="convert it to RGB"):
        decode_rgb(tmp_path / "c.jpg", 8)


def test_catalog_images_dataset(tmp_path: Path) -> None:
    write_sample_catalog(_split(12), tmp_path, n=12, size=16, broken=False)
    good, _ = check_items(read_catalog(tmp_path)[0])
    labels = label_names(good)
    data = CatalogImages(good, 24, 3, labels)
    image, label = data[3]
    assert len(data) == 12 and image.shape == (3, 24, 24)
    assert labels[label] == good[3].label
    assert np.unique([data[i][1] for i in range(12)]).size == len(labels)
